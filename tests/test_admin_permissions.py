"""Every admin action and custom admin URL against three permission sets: view-only staff, staff with
view and change permissions, superuser. Actions and URLs are read from the registered ModelAdmins,
so a new one is covered without editing this file."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse

from annotation.models import Assignment
from exports.models import ExportRun, ExportState
from generation.models import GenerationJob, JobState
from moderation.models import ModerationModel
from preference.models import PreferenceModel
from safesora.models import ApiToken
from tests.factories import make_annotation, make_pair, make_review, make_user

pytestmark = pytest.mark.django_db

ROLES = ["view_only", "view_and_change", "superuser"]


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # users are not the subject


def base_actions(model_admin) -> list[tuple]:
    return [(name, func) for func, name, _ in model_admin._get_base_actions()]


def custom_urls(model_admin) -> list[URLPattern]:
    """URLs a ModelAdmin adds to Django's (list, add, change, delete, history)."""
    default = {p.name for p in admin.ModelAdmin.get_urls(model_admin)}
    return [p for p in model_admin.get_urls() if isinstance(p, URLPattern) and p.name not in default]


REGISTRY = list(admin.site._registry.items())
ACTIONS = [(model, name) for model, model_admin in REGISTRY for name, _ in base_actions(model_admin)]
URLS = [(model, p.name) for model, model_admin in REGISTRY for p in custom_urls(model_admin)]


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


@pytest.fixture
def world():
    """At least one object of every model that has an action or a custom URL, in a state each can change."""
    pair = make_pair()
    make_annotation(pair)
    make_review(pair)
    prompt, generator = pair.prompt, pair.video_0.generator
    GenerationJob.objects.create(prompt=prompt, generator=generator, seed=1, state=JobState.QUEUED)
    GenerationJob.objects.create(prompt=prompt, generator=generator, seed=2, state=JobState.FAILED)
    ExportRun.objects.create(name="running", state=ExportState.RUNNING)
    ModerationModel.objects.create(version=1, state="ready", is_active=True)
    ModerationModel.objects.create(version=2, state="ready")
    PreferenceModel.objects.create(dimension="helpfulness", version=1, kind="reward", state="ready", is_active=True)
    PreferenceModel.objects.create(dimension="helpfulness", version=2, kind="reward", state="ready")
    ApiToken.issue(make_user("token-holder"))
    return {"generator": generator}


def staff(role: str):
    if role == "superuser":
        return make_user(role, role=None, staff=True)
    user = make_user(role, role=None)
    user.is_staff = True
    user.save()
    wanted = ["view"] if role == "view_only" else ["view", "change"]
    user.user_permissions.set(Permission.objects.filter(codename__regex=rf"^({'|'.join(wanted)})_"))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


def snapshot() -> dict:
    """Every row of every model the admin shows (axes' login records excepted: logins write them)."""
    return {label(model): list(model._default_manager.order_by("pk").values())
            for model, _ in REGISTRY if model._meta.app_label != "axes"}


def request_for(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def post_data(model, name, world) -> dict:
    """An action POST with every confirmation its intermediate pages ask for."""
    ids = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]
    return {"action": name, "_selected_action": ids, "post": "yes", "generate": "1",
            "generators": [world["generator"].pk], "seeds": "1"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("model", "name"), ACTIONS, ids=[f"{label(m)}:{n}" for m, n in ACTIONS])
def test_each_action_needs_more_than_view_permission(world, role, model, name):
    model_admin = admin.site._registry[model]
    func = dict(base_actions(model_admin))[name]
    required = set(getattr(func, "allowed_permissions", ()))
    assert required - {"view"}, f"{name} must require a permission beyond view"
    user = staff(role)
    offered = name in model_admin.get_actions(request_for(user))
    # Some admins refuse a permission to everyone (e.g. deleting annotations): then nobody gets the action.
    for_superuser = name in model_admin.get_actions(request_for(staff("superuser") if role != "superuser" else user))
    expected = {"view_only": False, "view_and_change": for_superuser and not required & {"add", "delete"},
                "superuser": for_superuser}[role]
    assert offered == expected

    if role == "view_only":  # posting it anyway changes nothing
        client = Client()
        client.force_login(user)
        before = snapshot()
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.post(url, post_data(model, name, world))
        assert response.status_code in (200, 302, 403)
        assert snapshot() == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("model", "name"), URLS, ids=[f"{label(m)}:{n}" for m, n in URLS])
def test_custom_urls_change_nothing_without_change_permission(world, role, model, name):
    model_admin = admin.site._registry[model]
    pattern = next(p for p in custom_urls(model_admin) if p.name == name)
    kwargs = {key: (model._default_manager.values_list("pk", flat=True).first() if key in ("pk", "object_id", "id")
                    else "x") for key in pattern.pattern.converters}
    url = reverse(f"admin:{name}", kwargs=kwargs)
    client = Client()
    client.force_login(staff(role))
    before = snapshot()
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code < 500
    if role == "view_only":
        assert snapshot() == before


def test_view_only_staff_cannot_cancel_an_export_or_switch_off_screening(world):
    client = Client()
    client.force_login(staff("view_only"))
    run = ExportRun.objects.get()
    assert client.post(reverse("admin:exports_exportrun_cancel", args=[run.pk])).status_code == 403
    page = client.get(reverse("admin:exports_exportrun_change", args=[run.pk]))
    assert page.status_code == 200 and b"Cancel this export" not in page.content
    client.post(reverse("admin:moderation_moderationmodel_changelist"),
                {"action": "deactivate_models", "_selected_action": [m.pk for m in ModerationModel.objects.all()]})
    run.refresh_from_db()
    assert run.state == ExportState.RUNNING and ModerationModel.objects.filter(is_active=True).count() == 1


def test_change_permission_cancels_exports_and_switches_models(world):
    client = Client()
    client.force_login(staff("view_and_change"))
    run = ExportRun.objects.get()
    page = client.get(reverse("admin:exports_exportrun_change", args=[run.pk]))
    assert b"Cancel this export" in page.content
    assert client.post(reverse("admin:exports_exportrun_cancel", args=[run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.state == ExportState.CANCELLED
    changelist = reverse("admin:moderation_moderationmodel_changelist")
    second = ModerationModel.objects.get(version=2)
    client.post(changelist, {"action": "activate_model", "_selected_action": [second.pk]})
    assert ModerationModel.objects.get(is_active=True).version == 2
    client.post(changelist, {"action": "deactivate_models",
                             "_selected_action": [m.pk for m in ModerationModel.objects.all()]})
    assert not ModerationModel.objects.filter(is_active=True).exists()
    assert Assignment.objects.exists()  # the world was built
