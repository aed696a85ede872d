"""Every admin page loads for staff and is refused to everyone else."""

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"generation", "annotation", "exports", "moderation", "crowd"}
MODELS = [m for m in admin.site._registry if m._meta.app_label in PROJECT_APPS]


def urls_for(model):
    opts = model._meta
    yield reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    yield reverse(f"admin:{opts.app_label}_{opts.model_name}_add")


def test_every_project_model_has_an_admin():
    names = {m._meta.label for m in MODELS}
    assert {"generation.Prompt", "generation.Generator", "generation.GenerationJob", "generation.Video",
            "annotation.Campaign", "annotation.Pair", "annotation.Assignment", "annotation.Annotation",
            "annotation.Review", "exports.ExportRun", "moderation.ModerationModel",
            "moderation.Prediction", "crowd.CrowdSettings", "crowd.Invite", "crowd.QualificationItem"} <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_admin_pages_load_for_staff(client, staff_user, model):
    client.force_login(staff_user)
    for url in urls_for(model):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_admin_pages_refused_to_crowdworkers_and_anonymous(client, crowdworker, model):
    for url in urls_for(model):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.force_login(crowdworker)
    for url in urls_for(model):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


@pytest.mark.parametrize("label, source", [("annotation.Annotation", "/annotate/"), ("annotation.Review", "/review/"),
                                           ("moderation.Prediction", "moderate VIDEO_ID")])
def test_records_with_one_writer_are_not_added_in_the_admin(client, staff_user, label, source):
    """Annotations, reviews and predictions come from their own flows, which check what a form would not."""
    model = next(m for m in MODELS if m._meta.label == label)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    client.force_login(staff_user)
    page = client.get(url)
    assert page.status_code == 200 and source in page.content.decode()
    assert client.post(url, {}).status_code == 200 and not model.objects.exists()


@pytest.mark.parametrize("label", ["annotation.Annotation", "annotation.Review"])
def test_annotations_and_reviews_cannot_be_deleted_in_the_admin(rf, staff_user, label):
    """Counters and agreement count annotations; reviews are the history of who changed what."""
    model = next(m for m in MODELS if m._meta.label == label)
    request = rf.get("/admin/")
    request.user = staff_user
    assert not admin.site._registry[model].has_delete_permission(request)
