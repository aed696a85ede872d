import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from generation.models import Prompt
from safesora.roles import is_crowdworker

pytestmark = pytest.mark.django_db


def test_demo_setup_is_idempotent_and_logs_users_in(capsys):
    call_command("demo")
    call_command("demo")
    assert "log in as worker" in capsys.readouterr().out
    assert Prompt.objects.filter(source="demo").count() == 12
    assert Prompt.objects.filter(prompt_type="safety_critical").exists()
    admin = authenticate(username="admin", password="admin-demo-pass")
    worker = authenticate(username="worker", password="worker-demo-pass")
    assert admin.is_staff and not worker.is_staff
    assert is_crowdworker(worker)
