"""The admin shows job progress per generator and state, and retries, cancels and launches jobs."""

import pytest
from django.urls import reverse

from generation import jobs
from generation.models import GenerationJob, JobState
from tests.factories import make_generator, make_prompt

pytestmark = pytest.mark.django_db


@pytest.fixture
def job_set():
    wan, cog = make_generator("wan-big"), make_generator("cog-big", family="cogvideox",
                                                          pipeline_class="CogVideoXPipeline")
    created = jobs.create_jobs([make_prompt() for _ in range(3)], [wan, cog], [0])
    by_generator = {g: list(created.filter(generator__name=g).order_by("id")) for g in ("wan-big", "cog-big")}
    GenerationJob.objects.filter(id=by_generator["wan-big"][0].id).update(
        state=JobState.FAILED, error="CUDA out of memory on H100", pipeline_seconds=88.5, total_seconds=95.25)
    GenerationJob.objects.filter(id=by_generator["wan-big"][1].id).update(state=JobState.SUCCEEDED,
                                                                           pipeline_seconds=91.0)
    return by_generator


def test_job_list_shows_counts_per_generator_and_state_and_timings(client, staff_user, job_set):
    client.force_login(staff_user)
    page = client.get(reverse("admin:generation_generationjob_changelist")).content.decode()
    assert 'id="job-states"' in page
    start = page.index('id="job-states"')
    table = page[start:page.index("</table>", start)]
    # generator | queued running succeeded failed cancelled | total
    assert "<tr><td>cog-big</td><td>3</td><td>0</td><td>0</td><td>0</td><td>0</td><td>3</td></tr>" in table
    assert "<tr><td>wan-big</td><td>1</td><td>0</td><td>1</td><td>1</td><td>0</td><td>3</td></tr>" in table
    assert "88.5" in page and "95.25" in page and "CUDA out of memory on H100" in page


def test_cancel_and_retry_actions(client, staff_user, job_set):
    client.force_login(staff_user)
    url = reverse("admin:generation_generationjob_changelist")
    queued = job_set["cog-big"]
    response = client.post(url, {"action": "cancel_jobs", "_selected_action": [j.id for j in queued]}, follow=True)
    assert "3 jobs cancelled." in response.content.decode()
    assert set(GenerationJob.objects.filter(generator__name="cog-big").values_list("state", flat=True)) == {
        "cancelled"}
    failed, succeeded = job_set["wan-big"][0], job_set["wan-big"][1]
    ids = [failed.id, succeeded.id, *(j.id for j in queued)]
    response = client.post(url, {"action": "retry_jobs", "_selected_action": ids}, follow=True)
    # No broker in the test settings: the jobs wait, queued, for `generate --queued`.
    assert "4 jobs are queued" in response.content.decode() and "generate --queued" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.state, failed.error) == ("queued", "")
    assert GenerationJob.objects.get(id=succeeded.id).state == "succeeded"  # never re-run


def test_generate_action_on_prompts_creates_jobs(client, staff_user):
    client.force_login(staff_user)
    generator = make_generator("tiny-one")
    prompts = [make_prompt(), make_prompt()]
    url = reverse("admin:generation_prompt_changelist")
    form = client.post(url, {"action": "generate_videos", "_selected_action": [p.id for p in prompts]})
    assert form.status_code == 200 and 'id="generate-form"' in form.content.decode()
    response = client.post(url, {"action": "generate_videos", "_selected_action": [p.id for p in prompts],
                                 "generate": "1", "generators": [generator.id], "seeds": 2}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:generation_generationjob_changelist")
    assert GenerationJob.objects.filter(generator=generator, state="queued").count() == 4


def test_job_actions_are_for_staff_only(client, crowdworker, job_set):
    client.force_login(crowdworker)
    url = reverse("admin:generation_generationjob_changelist")
    ids = [j.id for j in job_set["cog-big"]]
    response = client.post(url, {"action": "cancel_jobs", "_selected_action": ids})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not GenerationJob.objects.filter(state="cancelled").exists()
