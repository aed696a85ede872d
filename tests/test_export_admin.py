"""The exports admin: staff list, start, cancel and download exports; nobody else sees any of it."""

import io
import re
import tarfile

import av
import pytest
from django.core.management import call_command
from django.urls import reverse

from exports.models import ExportRun, ExportState
from tests.export_project import build_project
from tests.factories import make_user


@pytest.fixture
def exports_root(settings, tmp_path):
    settings.EXPORTS_ROOT = tmp_path / "exports"
    return settings.EXPORTS_ROOT


def start_export(client, django_capture_on_commit_callbacks, name="release-1", **fields):
    data = {"name": name, "seed": 3, "test_fraction": 0.5, "min_agreement": 0, "include_videos": "on",
            "license": "cc-by-4.0", **fields}
    # No broker in tests: the task runs in-process when the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("admin:exports_exportrun_add"), data)


@pytest.mark.django_db
def test_staff_start_an_export_follow_it_and_download_a_streamed_tarball(client, staff_user, exports_root,
                                                                          django_capture_on_commit_callbacks):
    project = build_project()
    client.force_login(staff_user)
    form = client.get(reverse("admin:exports_exportrun_add"))
    assert form.status_code == 200 and b"Minimum agreement" in form.content

    response = start_export(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    run = ExportRun.objects.get()
    assert run.state == ExportState.SUCCEEDED, run.error
    assert run.created_by == staff_user and run.progress_done == run.progress_total == 6
    assert run.options["license"] == "cc-by-4.0" and run.manifest["counts"]["pairs_undecided"] == 1

    listing = client.get(reverse("admin:exports_exportrun_changelist"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "release-1.tar.gz" in text and "Succeeded" in text and "New export" in text
    detail = client.get(reverse("admin:exports_exportrun_change", args=[run.pk]))
    assert detail.status_code == 200 and "Download .tar.gz" in detail.content.decode()

    download = client.get(reverse("admin:exports_exportrun_download", args=[run.pk]))
    assert download.status_code == 200 and download.streaming
    assert download["Content-Disposition"] == 'attachment; filename="release-1.tar.gz"'
    chunks = list(download.streaming_content)
    assert len(chunks) > 1  # sent piece by piece, not as one archive built in memory
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        names = tar.getnames()
        assert "release-1/manifest.json" in names
        assert "release-1/safesora/preference/config-train.json.gz" in names
        video = project.videos["critical1"]
        member = f"release-1/safesora/label/videos/{video.prompt_id}/{video.id}.mp4"
        linked = f"release-1/hf/videos/{video.prompt_id}/{video.id}.mp4"
        assert tar.getmember(linked).isfile()  # first occurrence holds the bytes
        assert tar.getmember(member).islnk() and tar.getmember(member).linkname == linked
        data = tar.extractfile(linked).read()
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 16


@pytest.mark.django_db
def test_the_form_refuses_a_name_in_use_and_bad_values(client, staff_user, exports_root,
                                                       django_capture_on_commit_callbacks):
    client.force_login(staff_user)
    (exports_root / "taken").mkdir(parents=True)
    response = start_export(client, django_capture_on_commit_callbacks, name="taken")
    assert response.status_code == 200 and "already exists" in response.content.decode()
    response = start_export(client, django_capture_on_commit_callbacks, name="bad name/..")
    assert response.status_code == 200 and "letters, digits" in response.content.decode()
    response = start_export(client, django_capture_on_commit_callbacks, name="ok", since="2025-02-01 00:00",
                            until="2025-01-01 00:00")
    assert response.status_code == 200 and "date range is empty" in response.content.decode()
    assert not ExportRun.objects.exists()


@pytest.mark.django_db
def test_staff_cancel_a_queued_export(client, staff_user, exports_root):
    run = ExportRun.objects.create(name="waiting", options={"name": "waiting"},
                                   output_path=str(exports_root / "waiting"))
    client.force_login(staff_user)
    assert client.get(reverse("admin:exports_exportrun_cancel", args=[run.pk])).status_code == 405
    response = client.post(reverse("admin:exports_exportrun_cancel", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == ExportState.CANCELLED and "cancelled by staff" in run.error
    # A cancelled run has nothing to download.
    assert client.get(reverse("admin:exports_exportrun_download", args=[run.pk])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["crowdworker", "anonymous"])
def test_crowdworkers_and_anonymous_get_nothing(client, who, exports_root, tmp_path):
    folder = exports_root / "secret"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    run = ExportRun.objects.create(name="secret", state=ExportState.SUCCEEDED, output_path=str(folder))
    if who == "crowdworker":
        client.force_login(make_user("worker"))
    urls = [reverse("admin:exports_exportrun_changelist"), reverse("admin:exports_exportrun_add"),
            reverse("admin:exports_exportrun_change", args=[run.pk]),
            reverse("admin:exports_exportrun_download", args=[run.pk])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post(reverse("admin:exports_exportrun_cancel", args=[run.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    run.refresh_from_db()
    assert run.state == ExportState.SUCCEEDED


# Without a broker (the embedded demo) the task runs inside the request, outside any test
# transaction here (transaction=True), as it does under runserver.
@pytest.mark.django_db(transaction=True)
def test_in_process_an_export_started_in_the_admin_reports_what_it_holds(client, exports_root):
    build_project()
    client.force_login(make_user("boss", role=None, staff=True))
    response = client.post(reverse("admin:exports_exportrun_add"), {
        "name": "now", "seed": 3, "test_fraction": 0.5, "min_agreement": 0, "license": "cc-by-4.0"}, follow=True)
    run = ExportRun.objects.get()
    assert run.state == ExportState.SUCCEEDED
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and shown[0].startswith("Export now finished: ") and "queued" not in shown[0]
    assert re.search(r"finished: [1-9]\d* pairs", shown[0])

    detail = client.get(reverse("admin:exports_exportrun_change", args=[run.pk])).content.decode()
    # The manifest and options as tables and charts, not JSON; one progress row.
    assert 'id="safesora-counts"' in detail and 'id="hf-counts"' in detail and 'id="export-options"' in detail
    assert detail.count("<svg") >= 3
    assert '"format_version"' not in detail and "{&quot;" not in detail
    assert detail.count("field-progress") == 1 and "field-progress_message" not in detail
    assert "This export holds 0 pairs" not in detail


@pytest.mark.django_db(transaction=True)
def test_an_export_with_no_pairs_says_so_in_the_admin_and_in_the_command(client, exports_root):
    build_project()
    client.force_login(make_user("boss", role=None, staff=True))
    # Answers from a day long before any: the export succeeds and holds nothing.
    response = client.post(reverse("admin:exports_exportrun_add"), {
        "name": "empty", "seed": 0, "test_fraction": 0.1, "min_agreement": 0, "license": "cc-by-4.0",
        "since": "2001-01-01 00:00", "until": "2001-01-02 00:00"}, follow=True)
    run = ExportRun.objects.get()
    assert run.state == ExportState.SUCCEEDED
    [message] = response.context["messages"]
    assert message.level_tag == "warning" and "This export holds 0 pairs" in str(message)
    listing = response.content.decode()
    assert "⚠ 0 pairs" in listing
    detail = client.get(reverse("admin:exports_exportrun_change", args=[run.pk]))
    assert [m.level_tag for m in detail.context["messages"]] == ["warning"]
    assert "This export holds 0 pairs" in detail.content.decode()

    out = io.StringIO()
    call_command("export", "--name", "empty-too", "--no-progress", "--until", "2001-01-02", stdout=out)
    assert re.search(r"WARNING: This export holds 0 pairs: of the \d+ pairs it looked at, .*\d+ without annotations",
                     out.getvalue()), out.getvalue()
