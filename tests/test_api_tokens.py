"""API tokens: issued by a command (shown once, stored hashed), replaced, revoked."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from safesora.models import ApiToken, hash_token
from tests.factories import make_campaign, make_generator, make_pair, make_prompt, make_video

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


# Lifetime, revocation on password change and deactivation, media fetched with the token.

def test_tokens_do_not_expire_by_default(crowdworker):
    key = issue("alice")
    ApiToken.objects.update(created_at=timezone.now() - timedelta(days=3650))
    assert status_with(key) == 200


def test_a_token_expires_after_the_configured_lifetime(crowdworker, settings):
    settings.API_TOKEN_LIFETIME_DAYS = 30
    key = issue("alice")
    ApiToken.objects.update(created_at=timezone.now() - timedelta(days=29, hours=23))
    assert status_with(key) == 200
    ApiToken.objects.update(created_at=timezone.now() - timedelta(days=30, seconds=1))
    assert status_with(key) == 401
    assert status_with(issue("alice")) == 200  # a new one runs from its own issue time


def test_a_password_change_ends_the_token(crowdworker):
    key = issue("alice")
    crowdworker.set_password("a-new-password-1")
    crowdworker.save()
    assert status_with(key) == 401 and not ApiToken.objects.exists()


def test_a_password_changed_in_the_admin_ends_the_token(crowdworker, staff_user):
    key = issue("alice")
    admin = Client()
    admin.force_login(staff_user)
    response = admin.post(f"/admin/auth/user/{crowdworker.pk}/password/",
                          {"password1": "another-pass-93", "password2": "another-pass-93"})
    assert response.status_code == 302
    assert status_with(key) == 401


def test_deactivating_the_account_in_the_admin_revokes_the_token(crowdworker, staff_user):
    key = issue("alice")
    admin = Client()
    admin.force_login(staff_user)
    page = admin.get(f"/admin/auth/user/{crowdworker.pk}/change/")
    form = {name: value for name, value in page.context["adminform"].form.initial.items()
            if value is not None and not isinstance(value, list | tuple)}
    form.update({"username": "alice", "is_active": "", "groups": [g.pk for g in crowdworker.groups.all()],
                 "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    form.pop("password", None)
    assert admin.post(f"/admin/auth/user/{crowdworker.pk}/change/", form).status_code == 302
    crowdworker.refresh_from_db()
    assert not crowdworker.is_active and not ApiToken.objects.exists()
    crowdworker.is_active = True
    crowdworker.save()
    assert status_with(key) == 401  # reactivation does not bring the old token back


def test_a_deactivated_users_token_is_refused_and_deleted(crowdworker):
    key = issue("alice")
    crowdworker.is_active = False
    crowdworker.save()
    assert status_with(key) == 401 and not ApiToken.objects.exists()


def test_media_urls_from_the_api_open_with_the_same_token(crowdworker, other_crowdworker):
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(crowdworker, other_crowdworker)
    prompt = make_prompt()
    make_pair(campaign, prompt=prompt, video_0=make_video(prompt, make_generator(), real=True, seed=1),
              video_1=make_video(prompt, make_generator(), real=True, seed=2))
    key = issue("alice")
    token_client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    lease = token_client.post("/api/annotation/next", {"count": 1}, content_type="application/json").json()
    video = lease["assignments"][0]["video_0"]
    response = token_client.get(video["url"], HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206 and b"ftyp" in b"".join(response.streaming_content)
    assert token_client.get(video["poster_url"]).status_code == 200
    # Without the token, with another worker's token or a wrong one: refused.
    assert Client().get(video["url"]).status_code == 403
    other = issue("bob")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {other}").get(video["url"]).status_code == 403
    assert Client(HTTP_AUTHORIZATION="Bearer ssk_wrong").get(video["url"]).status_code == 403
