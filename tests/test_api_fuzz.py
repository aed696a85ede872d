"""Schemathesis over /api/openapi.json, every operation, as a crowdworker, as staff and as nobody,
with schema-valid (positive) and schema-breaking (negative) inputs: no 5xx, and a refused
request (4xx) writes nothing. A client that sends what the schema describes gets its answers
accepted: positive submits to the worker's own leases all succeed.

Run time is bounded by EXAMPLES per operation, mode and user (see docs/configuration.md's note
on the fuzz suites); the requests go through the WSGI app in-process against the test database.
"""

import json
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from annotation.assignment import next_assignments
from annotation.models import Annotation, Assignment
from generation.models import Prompt, Video
from moderation.models import ModelState, ModerationModel
from moderation.predict import Moderator
from safesora.models import ApiToken
from safesora.wsgi import application
from tests.factories import make_campaign, make_pairs
from tests.moderation_helpers import tiny_artifact

pytestmark = pytest.mark.django_db

EXAMPLES = 25  # per operation, generation mode and user: 6 operations x 2 modes x 3 users x 25 = 900
FUZZ = hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                           suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """The WSGI app closes the connection after each request; in a test that would end the test's
    transaction (Django's own test client disconnects the same signal)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_in_test_transaction):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def world(crowdworker, staff_user):
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(crowdworker, staff_user)
    make_pairs(campaign, 80)
    artifact = tiny_artifact()
    ModerationModel.objects.create(version=1, state=ModelState.READY, artifact_path=str(artifact),
                                   thresholds=Moderator.load(artifact).thresholds).activate()
    return {"crowdworker": {"Authorization": f"Bearer {ApiToken.issue(crowdworker)}"},
            "staff": {"Authorization": f"Bearer {ApiToken.issue(staff_user)}"},
            "nobody": {}}


def snapshot() -> tuple:
    """What a refused request must leave as it was."""
    return (Annotation.objects.count(), Prompt.objects.count(), Video.objects.count(),
            sorted(Assignment.objects.values_list("id", "state", "skip_reason")))


def operations(schema) -> list:
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 6, [op.label for op in found]
    return found


def fuzz(strategy, label: str, ran: dict[str, int]) -> None:
    @FUZZ
    @given(case=strategy)
    def check(case):
        before = snapshot()
        response = case.call()
        assert response.status_code < 500, (label, case.as_curl_command(), response.text[:500])
        if response.status_code >= 400:
            assert snapshot() == before, (label, case.as_curl_command(), response.status_code)
            assert "detail" in json.loads(response.text or "{}") or response.status_code == 405, label
        ran[label] = ran.get(label, 0) + 1

    check()


@pytest.mark.slow
@pytest.mark.parametrize("who", ["crowdworker", "staff", "nobody"])
def test_no_server_error_and_no_write_on_refusal(api_schema, world, who):
    ran: dict[str, int] = {}
    for operation in operations(api_schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} {mode.value}"
            try:
                fuzz(operation.as_strategy(generation_mode=mode, headers=world[who]), label, ran)
            except Unsatisfiable:
                # An operation with no parameters and no body (GET /status) has nothing to break.
                assert mode == GenerationMode.NEGATIVE and not ran.get(label), label
                ran[label] = 0
    print(f"\nschemathesis as {who}: {sum(ran.values())} requests: {ran}")
    assert len(ran) == 2 * len(operations(api_schema))


@pytest.mark.slow
def test_schema_valid_answers_are_accepted(api_schema, world, crowdworker):
    """Issue: the published answer schema let through what the server refused. Every positive
    example of the submit operation, sent to a fresh lease of the worker's own, must succeed."""
    operation = api_schema["/api/annotation/assignments/{assignment_id}/submit"]["POST"]
    outcomes: list[int] = []

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=world["crowdworker"]))
    def check(case):
        lease = next_assignments(crowdworker, count=1)
        if not lease:
            return
        case.path_parameters = {"assignment_id": lease[0].pk}
        response = case.call()
        assert response.status_code == 200, (case.body, response.text)
        outcomes.append(response.status_code)

    check()
    print(f"\nschema-valid submits: {len(outcomes)} sent, {outcomes.count(200)} accepted")
    assert outcomes.count(200) >= 1
    assert Annotation.objects.filter(user=crowdworker).count() == len(outcomes)
