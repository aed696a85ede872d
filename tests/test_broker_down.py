"""With Celery's broker (Redis) unreachable, the admin pages that send tasks say so: no 500, and
nothing is left half-started (a real Redis URL on a port where nothing listens)."""

import socket

import pytest
from django.urls import reverse

from exports.models import ExportRun, ExportState
from safesora.celery import app
from tests.celery_worker import _forget_connections
from tests.factories import make_user

# Real commits, as in a request: the task is sent when the run is created, not at the end of a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dead_broker():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = f"redis://127.0.0.1:{port}/0", False
    _forget_connections()
    yield
    _forget_connections()
    app.conf.broker_url, app.conf.task_always_eager = saved


def test_new_export_with_the_broker_down_fails_the_run_with_a_clear_reason(client, dead_broker, settings, tmp_path):
    settings.EXPORTS_ROOT = tmp_path / "exports"
    client.force_login(make_user("staff", role=None, staff=True))
    data = {"name": "while-down", "seed": 0, "test_fraction": 0.1, "min_agreement": 0, "license": "cc-by-4.0"}
    response = client.post(reverse("admin:exports_exportrun_add"), data, follow=True)
    assert response.status_code == 200
    run = ExportRun.objects.get(name="while-down")
    assert run.state == ExportState.FAILED and "task queue is unreachable" in run.error
    assert "task queue is unreachable" in response.content.decode()
    assert not (tmp_path / "exports").exists()
    # The name is free for a new try once the queue is back.
    from exports import runs

    assert runs.name_in_use("while-down") is None


def test_generate_with_the_broker_down_keeps_the_jobs_queued_and_says_how_to_send_them(client, dead_broker):
    from generation.models import GenerationJob
    from tests.factories import make_generator, make_prompt

    client.force_login(make_user("staff2", role=None, staff=True))
    generator = make_generator("tiny-down")
    prompts = [make_prompt(), make_prompt()]
    response = client.post(reverse("admin:generation_prompt_changelist"), {
        "action": "generate_videos", "_selected_action": [p.id for p in prompts], "generate": "1",
        "generators": [generator.id], "seeds": 1}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "task queue is unreachable" in page and "generate --queued" in page
    assert list(GenerationJob.objects.filter(generator=generator).values_list("state", flat=True)) == ["queued"] * 2
