"""API tokens: issued by a command (shown once, stored hashed), replaced, revoked."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from safesora.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def issue(*args) -> str:
    out = io.StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def status_with(key: str) -> int:
    return Client().get("/api/annotation/history", HTTP_AUTHORIZATION=f"Bearer {key}").status_code


def test_issue_replace_and_revoke(crowdworker):
    key = issue("alice")
    token = ApiToken.objects.get(user=crowdworker)
    assert token.key_hash == hash_token(key) and key not in token.key_hash  # only the hash is kept
    assert status_with(key) == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    newer = issue("alice")
    assert newer != key and status_with(key) == 401 and status_with(newer) == 200
    issue("alice", "--revoke")
    assert status_with(newer) == 401 and not ApiToken.objects.exists()


def test_unknown_user_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no user named"):
        issue("nobody")


def test_tokens_are_listed_in_the_admin_for_staff(crowdworker, staff_user):
    issue("alice")
    client = Client()
    client.force_login(staff_user)
    page = client.get("/admin/safesora/apitoken/")
    assert page.status_code == 200 and b"alice" in page.content
