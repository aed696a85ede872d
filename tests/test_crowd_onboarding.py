"""Bulk onboarding from a CSV (all-or-nothing, line-numbered errors, one-time set-password links)
and campaign invites (expiry, maximum uses, sign-up straight into the campaign)."""

import base64
import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.utils import timezone

from annotation.models import Campaign
from crowd.models import CrowdSettings, Enrolment, EnrolmentState, Invite
from crowd.onboarding import InviteError, OnboardingError, do_use_invite, parse_people
from safesora.roles import is_crowdworker, is_reviewer
from tests.factories import make_campaign, make_user

pytestmark = pytest.mark.django_db
User = get_user_model()


def _file(text: str | bytes, name="people.csv"):
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, content_type="text/csv")


def post_csv(client, text):
    return client.post("/crowd/onboard/", {"people": _file(text)})


def links_from(response) -> dict[str, str]:
    """username -> set-password link, read from the downloadable CSV on the page."""
    html = response.content.decode()
    data = re.search(r'href="data:text/csv;base64,([^"]+)"', html).group(1)
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(data).decode())))
    return {r["username"]: r["set_password_link"] for r in rows}


def test_staff_upload_creates_accounts_roles_and_enrolments_with_one_time_links(client, staff_user):
    main = make_campaign("Main run")
    pilot = make_campaign("Pilot", is_active=True)
    CrowdSettings.objects.create(campaign=pilot, qualification_required=True)
    client.force_login(staff_user)
    response = post_csv(client, "username,email,role,campaigns\n"
                                "ana,ana@example.org,crowdworker,Main run\n"
                                ",ben@example.org,,main run; Pilot\n"
                                "carla,,reviewer,\n")
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response["Cache-Control"] == "no-store"
    links = links_from(response)
    assert set(links) == {"ana", "ben@example.org", "carla"}
    ana, ben, carla = (User.objects.get(username=u) for u in ("ana", "ben@example.org", "carla"))
    assert not ana.has_usable_password()
    assert is_crowdworker(ana) and is_crowdworker(ben) and is_reviewer(carla) and not is_crowdworker(carla)
    assert list(main.workers.all().order_by("username")) == [ana, ben]
    # The pilot needs its qualification first: enrolled, not yet on the workers list.
    assert not pilot.workers.filter(pk=ben.pk).exists()
    assert Enrolment.objects.get(user=ben, campaign=pilot).state == EnrolmentState.QUALIFYING
    for link in links.values():
        assert link.startswith("http://testserver/crowd/set-password/")
        assert link in response.content.decode()  # shown on the page too

    # The link works once: set the password, log in with it; the same link is dead afterwards.
    client.logout()
    path = links["ana"].removeprefix("http://testserver")
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "a long fresh pass 77",
                                                          "new_password2": "a long fresh pass 77"})
    assert done.status_code == 302
    assert client.login(request=HttpRequest(), username="ana", password="a long fresh pass 77")
    client.logout()
    again = client.get(path, follow=True)
    assert again.context["validlink"] is False
    assert "no longer works" in again.content.decode()


def test_a_bad_file_writes_nothing_and_lists_every_bad_line(client, staff_user):
    make_campaign("Main run")
    make_user("taken")
    client.force_login(staff_user)
    before = User.objects.count()
    response = post_csv(client, "username,email,role,campaigns\n"
                                "good,good@example.org,crowdworker,Main run\n"
                                "taken,,crowdworker,\n"
                                "bad name!,,crowdworker,\n"
                                ",not-an-email,crowdworker,\n"
                                "dora,,admin,\n"
                                "eve,,crowdworker,No such campaign\n"
                                "good,,crowdworker,\n"
                                "rev,,reviewer,Main run\n")
    assert response.status_code == 400
    errors = response.context["errors"]
    text = "\n".join(errors)
    assert "Nothing was created" in response.content.decode()
    for expected in ("line 4: username “bad name!”", "line 5: “not-an-email” is not an email",
                     "line 6: role “admin”", "line 7: no campaign named “No such campaign”",
                     "line 8: username “good” is already on line 2", "line 9: campaigns are for crowdworkers"):
        assert expected in text, text
    assert User.objects.count() == before
    # Only once the per-line checks pass are existing accounts reported (with their line).
    response = post_csv(client, "username,role\ngood,crowdworker\ntaken,crowdworker\n")
    assert response.status_code == 400
    assert response.context["errors"] == ["line 3: an account “taken” already exists."]
    assert User.objects.count() == before


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"name,role\nx,crowdworker\n", "the header must name"),
    (b"username\n\xff\xfe\n", "not UTF-8"),
    (b"username,role\nana,crowdworker,extra\n", "line 2: more fields than the header has"),
    (b"username,role\n\n", "lists nobody"),
])
def test_unreadable_files_are_refused_with_a_reason(data, message):
    with pytest.raises(OnboardingError) as refused:
        parse_people(data)
    assert message in " ".join(refused.value.errors)


def test_only_staff_may_onboard(client, crowdworker):
    assert client.get("/crowd/onboard/").status_code == 302  # to the login page
    client.force_login(crowdworker)
    assert client.get("/crowd/onboard/").status_code == 403
    assert post_csv(client, "username\nmallory\n").status_code == 403
    assert not User.objects.filter(username="mallory").exists()


# --- invites -------------------------------------------------------------------------------------


def make_invite(campaign=None, **fields) -> Invite:
    fields.setdefault("expires_at", timezone.now() + timedelta(days=1))
    return Invite.objects.create(campaign=campaign or make_campaign(), **fields)


def sign_up(client, code, username, password="a long fresh pass 77"):
    return client.post(f"/join/{code}/", {"username": username, "email": "", "password1": password,
                                          "password2": password})


def test_invite_signs_up_straight_into_the_campaign_and_logs_in(client):
    invite = make_invite(max_uses=5)
    page = client.get(f"/join/{invite.code}/")
    assert page.status_code == 200 and invite.campaign.name in page.content.decode()
    response = sign_up(client, invite.code, "newbie")
    assert response.status_code == 302
    assert response["Location"] == f"/annotate/?campaign={invite.campaign.pk}"
    user = User.objects.get(username="newbie")
    assert is_crowdworker(user) and invite.campaign.workers.filter(pk=user.pk).exists()
    assert client.get("/annotate/").wsgi_request.user == user
    invite.refresh_from_db()
    assert invite.uses == 1


def test_invite_to_a_qualifying_campaign_leads_to_the_qualification(client):
    campaign = make_campaign()
    CrowdSettings.objects.create(campaign=campaign, qualification_required=True)
    invite = make_invite(campaign)
    response = sign_up(client, invite.code, "newbie")
    assert response["Location"] == f"/crowd/qualify/{campaign.pk}/"
    assert not campaign.workers.exists()


def test_expired_used_up_withdrawn_and_unknown_invites_are_refused(client):
    expired = make_invite(expires_at=timezone.now() - timedelta(minutes=1))
    used_up = make_invite(max_uses=1)
    withdrawn = make_invite(is_active=False)
    assert sign_up(client, used_up.code, "first").status_code == 302
    client.logout()
    for invite, status, text in ((expired, 410, "expired"), (used_up, 410, "used its 1 times"),
                                 (withdrawn, 410, "withdrawn")):
        response = sign_up(client, invite.code, "latecomer")
        assert response.status_code == status and text in response.content.decode()
        assert client.get(f"/join/{invite.code}/").status_code == status
    assert client.get("/join/nope/").status_code == 404
    assert not User.objects.filter(username="latecomer").exists()


def test_invite_use_is_counted_in_the_database_so_the_maximum_holds(db):
    invite = make_invite(max_uses=1)
    stale = Invite.objects.get(pk=invite.pk)  # read before the other sign-up counted
    do_use_invite(invite, make_user())
    with pytest.raises(InviteError):
        do_use_invite(stale, make_user())
    invite.refresh_from_db()
    assert invite.uses == 1


def test_bad_sign_up_form_is_shown_again_and_writes_nothing(client):
    invite = make_invite()
    response = sign_up(client, invite.code, "x", password="123")
    assert response.status_code == 400
    assert not User.objects.filter(username="x").exists()
    invite.refresh_from_db()
    assert invite.uses == 0


def test_logged_in_worker_joins_with_one_click(client, crowdworker):
    invite = make_invite()
    client.force_login(crowdworker)
    assert "Join this campaign" in client.get(f"/join/{invite.code}/").content.decode()
    assert client.post(f"/join/{invite.code}/").status_code == 302
    assert invite.campaign.workers.filter(pk=crowdworker.pk).exists()


def test_invite_code_form_validates(client):
    invite = make_invite()
    assert client.get("/join/", {"code": invite.code})["Location"] == f"/join/{invite.code}/"
    assert client.get("/join/", {"code": "<script>"}).status_code == 400
    assert Campaign.objects.count() == 1


def test_staff_make_invites_and_marketplace_settings_in_the_admin(client, staff_user):
    campaign = make_campaign("Admin run")
    client.force_login(staff_user)
    response = client.post("/admin/crowd/invite/add/", {
        "campaign": campaign.pk, "code": "spring-2027", "expires_at_0": "2099-01-31", "expires_at_1": "12:00:00",
        "max_uses": 10, "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    invite = Invite.objects.get(code="spring-2027")
    assert invite.created_by == staff_user and invite.max_uses == 10
    assert "/join/spring-2027/" in client.get("/admin/crowd/invite/").content.decode()
    bad = client.post("/admin/crowd/invite/add/", {"campaign": campaign.pk, "code": "no spaces", "max_uses": 1,
                                                    "expires_at_0": "2099-01-31", "expires_at_1": "12:00:00"})
    assert bad.status_code == 200 and Invite.objects.count() == 1

    # A campaign open to a marketplace needs its completion code; then the entry URL is shown.
    fields = {"campaign": campaign.pk, "marketplace": "prolific", "entry_key": "k" * 20, "quota": 5,
              "pass_mark": 0.8, "max_tries": 2, "completion_code": ""}
    assert client.post("/admin/crowd/crowdsettings/add/", fields).status_code == 200
    assert not CrowdSettings.objects.exists()
    assert client.post("/admin/crowd/crowdsettings/add/", {**fields, "completion_code": "DONE1"}).status_code == 302
    listing = client.get("/admin/crowd/crowdsettings/").content.decode()
    assert f"/crowd/enter/{'k' * 20}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}" in listing
