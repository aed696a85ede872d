"""The next-pair engine: leases (Assignments) of pairs to crowdworkers. Every state change of
leases and annotations goes through the functions here; views, the API and commands call them.

Rules (docs/assignment.md has the reasoning and the query plans):

- A worker may work on a campaign when the account is active, has the crowdworker role (or is
  staff), is on the campaign's `workers` list, and the campaign is active. Refusals (raised as
  AssignmentRefused with a sentence for the worker and the admin) are: none of that, the
  campaign's daily cap reached, or gold accuracy below `gold_min_accuracy` once
  `gold_min_answers` gold pairs were answered.
- `next_assignments` returns the worker's unexpired active leases first (oldest first), then
  claims new ones up to `count`. A claim takes pairs that still need annotations and that this
  worker never had (any state: a skipped or expired pair never comes back), closest to
  completion first (fewest open slots, then id). `Pair.claimed_count` counts live leases plus
  annotations; the claim raises it with one conditional UPDATE, and the database's check
  constraint makes more than `required_annotations` impossible.
- Gold pairs (`is_gold`) are served to every worker once, at `campaign.gold_rate` of the claims.
  They are outside the overlap limit: their `claimed_count` and `annotation_count` stay 0, the
  (pair, user) unique constraint alone keeps them to once per worker, and their annotations are
  graded (`Annotation.gold_correct`). A worker is never told which pairs are gold.
- `submit_annotation` is idempotent: submitting a lease twice returns the first annotation.
  A lease past its expiry that was not yet swept still holds its slot and is accepted. A swept
  (expired) lease is accepted if the pair still has room, the slot being claimed again;
  otherwise LeaseExpired says the pair went to someone else and nothing is saved.
- Expired leases are released by `release_expired_leases` (Celery beat runs it every minute,
  and the claim path runs it too, at most every SWEEP_INTERVAL and whenever a claim comes up
  short, so nothing depends on beat).
- The daily cap counts annotations submitted since local midnight (settings.TIME_ZONE), in all
  campaigns, plus live leases: a worker never holds more than the cap allows.

On PostgreSQL a claim and a submit are one SQL statement each (data-modifying CTEs; FOR UPDATE
SKIP LOCKED so concurrent workers do not queue on the same rows). Elsewhere (the SQLite demo,
where writers are serialized anyway) plain ORM statements in one transaction do the same.
"""

import functools
import json
import random
import re
from collections import Counter
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from generation.models import Prompt, Video
from safesora.db import fetch_prepared
from safesora.roles import CROWDWORKER
from safesora.taxonomy import PREFERENCE_QUESTIONS, VIDEO_CHOICES

from .answers import AnswerError, clean_answers, grade_gold
from .models import COMMENT_MAX_LENGTH, Annotation, Assignment, AssignmentState, Campaign, Pair, Review

SWEEP_INTERVAL = timedelta(seconds=15)
CLAIM_RETRIES = 3
ACTIVE, SUBMITTED, SKIPPED, EXPIRED = (AssignmentState.ACTIVE, AssignmentState.SUBMITTED,
                                       AssignmentState.SKIPPED, AssignmentState.EXPIRED)


class AssignmentError(Exception):
    """A request the engine cannot honour; `reason` is a sentence for the person."""

    status = 409

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AssignmentRefused(AssignmentError):
    """This person may not work (on this campaign) now."""

    status = 403


class AssignmentNotFound(AssignmentError):
    """No such lease for this person (someone else's leases look the same: not found)."""

    status = 404


class LeaseExpired(AssignmentError):
    """The lease expired and its pair was given to someone else; the answers were not saved."""

    status = 409


# --- the names the engine's SQL uses, from model metadata --------------------------------------
# A renamed table, column, state or user model fails here, at import, not at the first claim.

def _through(model: type, field: str) -> tuple[type, str, str]:
    """A many-to-many field's join model and its two columns (this side's, the other side's)."""
    m2m = model._meta.get_field(field)
    through = m2m.remote_field.through
    return (through, through._meta.get_field(m2m.m2m_field_name()).column,
            through._meta.get_field(m2m.m2m_reverse_field_name()).column)


_User = get_user_model()
_Workers, _workers_campaign, _workers_user = _through(Campaign, "workers")
_UserGroups, _user_groups_user, _user_groups_group = _through(_User, "groups")
_Group = _User._meta.get_field("groups").related_model
_NAMES = {
    "campaign": Campaign._meta.db_table, "pair": Pair._meta.db_table, "assignment": Assignment._meta.db_table,
    "annotation": Annotation._meta.db_table, "prompt": Prompt._meta.db_table, "video": Video._meta.db_table,
    "workers": _Workers._meta.db_table, "workers_campaign": _workers_campaign, "workers_user": _workers_user,
    "user_groups": _UserGroups._meta.db_table, "user_groups_user": _user_groups_user,
    "user_groups_group": _user_groups_group, "group": _Group._meta.db_table,
    "active": f"'{AssignmentState.ACTIVE.value}'", "submitted": f"'{AssignmentState.SUBMITTED.value}'",
}
# The aliases the statements give each table, for the column check below.
_ALIASES = {"c": Campaign, "p": Pair, "a": Assignment, "an": Annotation, "pr": Prompt, "v0": Video, "v1": Video,
            "w": _Workers, "ug": _UserGroups, "g": _Group}
_TABLES = {m._meta.db_table: m for m in set(_ALIASES.values())}


def _columns_of(model: type) -> set[str]:
    return {f.column for f in model._meta.concrete_fields}


def _sql(template: str, **extra: str) -> str:
    """A statement with its table names and state literals filled in; every `alias.column` and
    INSERT column list is checked against the models (ImproperlyConfigured if one is unknown)."""
    sql = template.format(**_NAMES, **extra)
    used = [(_ALIASES[alias], column) for alias, column in re.findall(r"\b([a-z][a-z0-9]?)\.([a-z_][a-z0-9_]*)", sql)
            if alias in _ALIASES]
    for table, columns in re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", sql):
        used += [(_TABLES[table], c.strip()) for c in columns.split(",")]
    unknown = sorted({f"{m._meta.db_table}.{c}" for m, c in used if c not in _columns_of(m)})
    if unknown:
        raise ImproperlyConfigured(f"the engine's SQL names columns the models do not have: {', '.join(unknown)}")
    return sql


# --- standing: may this person work on this campaign? ---------------------------------------

@dataclass
class Standing:
    """Where a worker stands on one campaign: what the engine checks before a claim."""

    campaign: Campaign
    today_count: int | None  # submitted since local midnight; counted only under a daily cap
    gold_answered: int
    gold_correct: int
    reason: str | None  # why the worker is refused, or None

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answered if self.gold_answered else None

    @property
    def cap_left(self) -> int | None:
        """Pairs the worker may still do today (leases held included); None without a cap."""
        cap = self.campaign.daily_cap
        return None if cap is None else max(cap - self.today_count, 0)


def start_of_today(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


# One query for everything a claim needs to know about the worker, per campaign. Its cost must
# not grow with the worker's history: today's count is taken only under a daily cap (so it
# counts at most the cap's worth of rows), the gold counts one row per gold pair answered.
_CAMPAIGN_FIELDS = tuple(f.attname for f in Campaign._meta.concrete_fields)  # from_db's order
_STANDING_SQL = """
SELECT {columns},
    EXISTS (SELECT 1 FROM {workers} w
            WHERE w.{workers_campaign} = c.id AND w.{workers_user} = %(user)s) AS is_listed,
    EXISTS (SELECT 1 FROM {user_groups} ug JOIN {group} g ON g.id = ug.{user_groups_group}
            WHERE ug.{user_groups_user} = %(user)s AND g.name = %(role)s) AS has_role,
    CASE WHEN c.daily_cap IS NOT NULL THEN
        (SELECT count(*) FROM {annotation} an
         WHERE an.user_id = %(user)s AND an.submitted_at >= %(day)s) END AS today_count,
    coalesce(gold.answered, 0), coalesce(gold.correct, 0)
FROM {campaign} c
LEFT JOIN (
    SELECT p.campaign_id, count(*) AS answered, sum(CASE WHEN an.gold_correct THEN 1 ELSE 0 END) AS correct
    FROM {annotation} an JOIN {pair} p ON p.id = an.pair_id
    WHERE an.user_id = %(user)s AND an.gold_correct IS NOT NULL
    GROUP BY p.campaign_id) AS gold ON gold.campaign_id = c.id
WHERE {where}
ORDER BY c.created_at, c.id
"""
_CAMPAIGN_COLUMNS = ", ".join(f"c.{f.column}" for f in Campaign._meta.concrete_fields)


@functools.cache
def standing_sql(where: str) -> str:
    """The standing statement for the campaigns `where` selects (alias c)."""
    return _sql(_STANDING_SQL, columns=_CAMPAIGN_COLUMNS, where=_sql(where))


def standings(user: AbstractBaseUser, campaign: Campaign | int | None = None,
              now: datetime | None = None) -> list[Standing]:
    """The worker's standing on one campaign, or on every active campaign they are listed on."""
    now = now or timezone.now()
    params = {"user": user.pk, "role": CROWDWORKER, "day": start_of_today(now), "true": True}
    if campaign is None:
        where = ("c.is_active = %(true)s AND EXISTS (SELECT 1 FROM {workers} w "
                 "WHERE w.{workers_campaign} = c.id AND w.{workers_user} = %(user)s)")
    else:
        where, params["campaign"] = "c.id = %(campaign)s", getattr(campaign, "pk", campaign)
    found = []
    for row in fetch_prepared(standing_sql(where), params):
        campaign = Campaign.from_db(connection.alias, _CAMPAIGN_FIELDS, row[:len(_CAMPAIGN_FIELDS)])
        is_listed, has_role, today_count, gold_answered, gold_correct = row[len(_CAMPAIGN_FIELDS):]
        standing = Standing(campaign=campaign, today_count=today_count, gold_answered=gold_answered,
                            gold_correct=gold_correct, reason=None)
        standing.reason = _refusal(user, standing, is_listed, has_role)
        found.append(standing)
    return found


def _refusal(user: AbstractBaseUser, standing: Standing, is_listed: bool, has_role: bool) -> str | None:
    campaign = standing.campaign
    if not user.is_active:
        return _("This account is disabled.")
    if not (has_role or user.is_staff):
        return _("This account does not have the crowdworker role.")
    if not is_listed:  # checked first, and without the name: it is none of this worker's business
        return _("This campaign is not yours: you are not on its list of crowdworkers.")
    if not campaign.is_active:
        return _("The campaign “%(name)s” is closed.") % {"name": campaign.name}
    if standing.cap_left == 0:
        return _("You reached today's limit of %(cap)d pairs. Thank you, and see you tomorrow.") % {
            "cap": campaign.daily_cap}
    answered, correct = standing.gold_answered, standing.gold_correct
    if answered >= max(campaign.gold_min_answers, 1) and correct / answered < campaign.gold_min_accuracy:
        return _("Your accuracy on check pairs is %(got).0f%% (%(correct)d of %(answered)d), below the "
                 "%(need).0f%% this campaign requires. An admin will review your work.") % {
            "got": 100 * correct / answered, "correct": correct, "answered": answered,
            "need": 100 * campaign.gold_min_accuracy}
    return None


def refusal_reason(user: AbstractBaseUser, campaign: Campaign | int) -> str | None:
    """Why this worker may not work on this campaign now (for them and for the admin), or None."""
    found = standings(user, campaign)
    return found[0].reason if found else _("No such campaign.")


def todays_count(user: AbstractBaseUser, now: datetime | None = None) -> int:
    """Annotations the worker submitted since local midnight, in all campaigns: what the daily cap counts."""
    return todays_counts([user.pk], now).get(user.pk, 0)


def todays_counts(user_ids: "Iterable[int] | models.QuerySet", now: datetime | None = None) -> dict[int, int]:
    """todays_count for many workers at once (the dashboard), in one query; absent means 0."""
    return dict(Annotation.objects.filter(user_id__in=user_ids, submitted_at__gte=start_of_today(now))
                .order_by().values("user_id").annotate(n=Count("id")).values_list("user_id", "n"))


# --- next pairs ----------------------------------------------------------------------------------

_last_sweep_at: datetime | None = None


def next_assignments(user: AbstractBaseUser, campaign: Campaign | int | None = None, count: int = 1,
                     now: datetime | None = None) -> list[Assignment]:
    """The worker's live leases (oldest first), then newly claimed pairs, `count` in all.

    Returns [] when nothing is left; raises AssignmentRefused when the worker may not work.
    The leases come with pair, prompt, both videos and campaign loaded.
    """
    now = now or timezone.now()
    count = max(int(count), 1)
    if _last_sweep_at is None or abs(now - _last_sweep_at) >= SWEEP_INTERVAL:
        release_expired_leases(now)
    found = standings(user, campaign, now)
    allowed = [s for s in found if s.reason is None]
    if not allowed:
        if not found and campaign is not None:
            raise AssignmentRefused(_("No such campaign."))
        if not found:
            raise AssignmentRefused(_("You are not on any active campaign. An admin has to add you to one."))
        raise AssignmentRefused(found[0].reason)
    campaign_ids = [s.campaign.pk for s in allowed]
    campaigns = {s.campaign.pk: s.campaign for s in allowed}
    leases: list[Assignment] = []
    for attempt in range(2):
        for standing in allowed:
            leases = _claim(user, standing, campaign_ids, count, now)
            if len(leases) >= count:
                break
        if len(leases) >= count or attempt or not release_expired_leases(now):
            break  # else expired slots came back: try once more
    for lease in leases:
        lease.pair.campaign = campaigns[lease.pair.campaign_id]
    return leases


def _claim(user: AbstractBaseUser, standing: Standing, campaign_ids: list[int], count: int,
           now: datetime) -> list[Assignment]:
    """The worker's live leases in `campaign_ids` plus new ones from this campaign, `count` in all."""
    campaign = standing.campaign
    # How many leases the worker may hold after this call: `count`, or fewer under a daily cap.
    cap = count if standing.cap_left is None else min(count, standing.cap_left)
    gold = 1 if campaign.gold_rate > 0 and random.random() < campaign.gold_rate else 0
    expires = now + timedelta(seconds=campaign.lease_seconds)
    claim = _claim_postgresql if one_statement_sql() else _claim_orm
    for attempt in range(CLAIM_RETRIES):
        try:
            # A savepoint only inside an outer transaction: in autocommit one statement is atomic.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                return claim(user.pk, campaign.pk, campaign_ids, count, cap, gold, now, expires)
        except IntegrityError:
            # Two claims by the same worker raced for one pair (unique (pair, user)), or a
            # counter hit the check constraint: the statement rolled back whole; try again.
            if attempt == CLAIM_RETRIES - 1:
                raise
    return []


def one_statement_sql() -> bool:
    """Whether claims and submits use the single-statement PostgreSQL SQL (else the ORM path)."""
    return connection.vendor == "postgresql"


# The claim, in one statement. `mine`: the worker's live leases. `gold`: at most one gold pair
# this worker never had, in an order of its own per worker. `picked`: open regular pairs this
# worker never had, closest to completion first, rows other claims hold skipped. The NOT EXISTS
# has OFFSET 0 so it stays a per-candidate probe of the (pair, user) unique index instead of an
# anti-join over the whole assignment table (docs/assignment.md). `claimed` re-checks capacity
# on the locked row: the snapshot that chose the candidates predates the lock.
_CLAIM_SQL = """
WITH mine AS (
    SELECT a.id, a.pair_id, a.created_at, a.expires_at FROM {assignment} a
    JOIN {pair} p ON p.id = a.pair_id
    WHERE a.user_id = %(user)s AND a.state = {active} AND a.expires_at > %(now)s
      AND p.campaign_id = ANY(%(campaigns)s)
), room AS (
    SELECT GREATEST(%(cap)s - (SELECT count(*) FROM mine), 0) AS n
), gold AS (
    SELECT p.id FROM {pair} p
    WHERE p.campaign_id = %(campaign)s AND p.is_gold
      AND NOT EXISTS (SELECT 1 FROM {assignment} a
                      WHERE a.pair_id = p.id AND a.user_id = %(user)s OFFSET 0)
    ORDER BY md5(p.id || %(salt)s)
    LIMIT LEAST(%(gold)s, (SELECT n FROM room))
), picked AS (
    SELECT p.id FROM {pair} p
    WHERE p.campaign_id = %(campaign)s AND NOT p.is_gold AND p.claimed_count < p.required_annotations
      AND NOT EXISTS (SELECT 1 FROM {assignment} a
                      WHERE a.pair_id = p.id AND a.user_id = %(user)s OFFSET 0)
    ORDER BY p.required_annotations - p.claimed_count, p.serve_priority DESC, p.id
    LIMIT (SELECT n FROM room) - (SELECT count(*) FROM gold)
    FOR UPDATE SKIP LOCKED
), claimed AS (
    -- = ANY(ARRAY(...)): primary-key lookups; a join to the CTE, whose size the planner cannot
    -- know, was planned as a hash join over every open pair (a sequential scan per claim).
    UPDATE {pair} p SET claimed_count = p.claimed_count + 1
    WHERE p.id = ANY(ARRAY(SELECT id FROM picked)) AND p.claimed_count < p.required_annotations
    RETURNING p.id
), inserted AS (
    INSERT INTO {assignment} (pair_id, user_id, state, created_at, expires_at, skip_reason)
    SELECT id, %(user)s, {active}, %(now)s, %(expires)s, '' FROM (
        SELECT id FROM gold UNION ALL SELECT id FROM claimed) AS new
    RETURNING id, pair_id, created_at, expires_at
), chosen AS (
    (SELECT * FROM mine ORDER BY created_at, id LIMIT %(count)s)
    UNION ALL
    SELECT * FROM inserted
)
SELECT {columns}
FROM chosen
JOIN {pair} p ON p.id = chosen.pair_id
JOIN {prompt} pr ON pr.id = p.prompt_id
JOIN {video} v0 ON v0.id = p.video_0_id
JOIN {video} v1 ON v1.id = p.video_1_id
ORDER BY chosen.created_at, chosen.id
"""

# What a page needs of a lease, loaded by the claim statement itself (inserted rows are not
# visible to a join in the same statement, so the lease columns come from `chosen`).
def _in_field_order(model, wanted: set[str]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in wanted)  # from_db's order


_LEASE_COLUMNS = {
    Assignment: ("chosen", _in_field_order(Assignment, {"id", "pair_id", "created_at", "expires_at"})),
    Pair: ("p", _in_field_order(Pair, {"id", "campaign_id", "prompt_id", "video_0_id", "video_1_id",
                                       "required_annotations", "is_gold"})),
    Prompt: ("pr", _in_field_order(Prompt, {"id", "text", "prompt_type"})),
    Video: ("v0", _in_field_order(Video, {"id", "prompt_id", "generator_id", "file", "poster", "flagged"})),
}
_CLAIM_SQL = _sql(_CLAIM_SQL, columns=", ".join(
    [f"{alias}.{c}" for alias, cols in _LEASE_COLUMNS.values() for c in cols]
    + [f"v1.{c}" for c in _LEASE_COLUMNS[Video][1]]))


def _claim_postgresql(user_id: int, campaign_id: int, campaign_ids: list[int], count: int, cap: int,
                      gold: int, now: datetime, expires: datetime) -> list[Assignment]:
    rows = fetch_prepared(_CLAIM_SQL, {"user": user_id, "campaign": campaign_id, "campaigns": campaign_ids,
                                       "count": count, "cap": cap, "gold": gold, "salt": str(user_id),
                                       "now": now, "expires": expires})
    return [_lease_from_row(row, user_id) for row in rows]


def _lease_from_row(row: tuple, user_id: int) -> Assignment:
    """Model instances from one row of the claim statement; fields not selected load on access."""
    values = iter(row)
    built = {}
    for model, (_alias, fields) in _LEASE_COLUMNS.items():
        built[model] = model.from_db(connection.alias, fields, [next(values) for _field in fields])
    video_1 = Video.from_db(connection.alias, _LEASE_COLUMNS[Video][1], list(values))
    lease, pair, prompt, video_0 = built[Assignment], built[Pair], built[Prompt], built[Video]
    lease.user_id, lease.state, lease.finished_at, lease.skip_reason = user_id, ACTIVE, None, ""
    pair.prompt, pair.video_0, pair.video_1, lease.pair = prompt, video_0, video_1, pair
    return lease


def _claim_orm(user_id: int, campaign_id: int, campaign_ids: list[int], count: int, cap: int,
               gold: int, now: datetime, expires: datetime) -> list[Assignment]:
    """The same claim in plain ORM statements, for databases without the PostgreSQL features.

    Correct wherever it runs: each slot is taken by a conditional UPDATE whose row count says
    whether this call won it; SQLite also serializes the whole transaction.
    """
    with transaction.atomic():
        mine = list(Assignment.objects.filter(user_id=user_id, state=ACTIVE, expires_at__gt=now,
                                              pair__campaign_id__in=campaign_ids)
                    .order_by("created_at", "id").values_list("id", flat=True))
        room = max(cap - len(mine), 0)
        had = Assignment.objects.filter(user_id=user_id).values("pair_id")
        new: list[str] = []
        if gold and room:
            new += list(Pair.objects.filter(campaign_id=campaign_id, is_gold=True).exclude(id__in=had)
                        .order_by("?").values_list("id", flat=True)[:1])
        candidates = (Pair.objects.filter(campaign_id=campaign_id, is_gold=False,
                                          claimed_count__lt=F("required_annotations"))
                      .exclude(id__in=had)
                      .order_by(F("required_annotations") - F("claimed_count"), "-serve_priority", "id")
                      .values_list("id", flat=True))
        for pair_id in candidates[: 4 * room]:
            if len(new) >= room:
                break
            if Pair.objects.filter(id=pair_id, claimed_count__lt=F("required_annotations")).update(
                    claimed_count=F("claimed_count") + 1):
                new.append(pair_id)
        created = [Assignment.objects.create(pair_id=p, user_id=user_id, state=ACTIVE, expires_at=expires)
                   for p in new[:room]]
        Assignment.objects.filter(id__in=[a.id for a in created]).update(created_at=now)
    ids = mine[:count] + [a.id for a in created]
    return list(Assignment.objects.filter(id__in=ids).select_related("pair__prompt", "pair__video_0", "pair__video_1")
                .order_by("created_at", "id"))


# --- submit ---------------------------------------------------------------------------------------

# The questions (safesora.taxonomy) and the per-video safety answers; the labels are JSON, bound apart.
_JUDGEMENT_COLUMNS = (*PREFERENCE_QUESTIONS, *(f"{v}_is_safe" for v in VIDEO_CHOICES))

# The submit, in one statement: the lease turns submitted only if it is still active and its
# worker still on the (active) campaign; a second submit finds it submitted and changes nothing.
# Gold pairs are graded here too: the gold answers (a subset of the Judgement fields) must be
# contained in the submitted ones, the same rule as answers.grade_gold.
_SUBMIT_SQL = """
WITH lease AS (
    UPDATE {assignment} a SET state = {submitted}, finished_at = %(now)s
    FROM {pair} p JOIN {campaign} c ON c.id = p.campaign_id
    WHERE a.id = %(assignment)s AND a.user_id = %(user)s AND a.state = {active}
      AND p.id = a.pair_id AND c.is_active
      AND EXISTS (SELECT 1 FROM {workers} w WHERE w.{workers_campaign} = c.id AND w.{workers_user} = %(user)s)
    RETURNING a.id, a.pair_id, p.is_gold, p.gold_answers
), counted AS (
    UPDATE {pair} p SET annotation_count = p.annotation_count + 1
    WHERE p.id = ANY(ARRAY(SELECT pair_id FROM lease WHERE NOT is_gold))
    RETURNING p.id
)
INSERT INTO {annotation} (assignment_id, pair_id, user_id, time_spent_ms, submitted_at, gold_correct, comment,
    {columns}, video_0_labels, video_1_labels)
SELECT lease.id, lease.pair_id, %(user)s, %(time_spent_ms)s, %(now)s,
    CASE WHEN lease.is_gold THEN lease.gold_answers <@ %(answers)s::jsonb END, %(comment)s,
    {values}, %(video_0_labels)s::jsonb, %(video_1_labels)s::jsonb
FROM lease
RETURNING id, pair_id, gold_correct
"""
_SUBMIT_SQL = _sql(_SUBMIT_SQL, columns=", ".join(Annotation._meta.get_field(c).column for c in _JUDGEMENT_COLUMNS),
                   values=", ".join(f"%({c})s" for c in _JUDGEMENT_COLUMNS))


def submit_annotation(user: AbstractBaseUser, assignment_id: int, answers: dict[str, Any],
                      time_spent_ms: int, now: datetime | None = None, comment: str = "") -> Annotation:
    """Record the worker's answers for their lease; the same lease twice gives the first annotation.

    Raises AnswerError (bad answers, nothing saved), AssignmentNotFound (not this worker's
    lease), AssignmentRefused (no longer allowed on the campaign), AssignmentError (the lease
    was skipped) or LeaseExpired (expired and given to someone else).
    """
    now = now or timezone.now()
    values = clean_answers(answers)
    comment = clean_comment(comment)
    time_spent_ms = min(max(int(time_spent_ms or 0), 0), 2**31 - 1)
    try:
        assignment_id = int(assignment_id)
    except (TypeError, ValueError):
        raise AssignmentNotFound(_("No such pair in your work.")) from None
    # The usual case, an active lease of an allowed worker, is one statement.
    annotation = _submit_active(user, assignment_id, values, time_spent_ms, now, comment) if user.is_active else None
    for _attempt in range(3):  # otherwise find out why; a concurrent submit, skip or sweep may have won
        if annotation is not None:
            return annotation
        lease = _lease_for(user, assignment_id)
        if lease.state == SUBMITTED:
            return lease.annotation
        if lease.state == SKIPPED:
            raise AssignmentError(_("You skipped this pair; it cannot be submitted."))
        campaign = lease.pair.campaign
        if not (user.is_active and campaign.is_active and lease.is_listed):
            raise AssignmentRefused(_("You are no longer on the campaign “%(name)s”.") % {"name": campaign.name})
        try:
            with transaction.atomic():
                if lease.state == EXPIRED:
                    _reclaim_expired(lease)
                annotation = _submit_active(user, assignment_id, values, time_spent_ms, now, comment)
        except _NoRoom:
            raise LeaseExpired(_("This pair's time ran out and it was given to someone else; "
                                 "your answers were not saved.")) from None
        except IntegrityError:
            annotation = None  # a concurrent submit of the same lease won; look again
    if annotation is not None:
        return annotation
    raise AssignmentError(_("This pair changed while you submitted it; please try again."))


def _lease_for(user: AbstractBaseUser, assignment_id: int) -> Assignment:
    """The worker's lease with its pair, campaign, annotation, and whether they are still listed."""
    listed = Campaign.workers.through.objects.filter(campaign_id=OuterRef("pair__campaign_id"), user_id=user.pk)
    try:
        return (Assignment.objects.select_related("pair__campaign", "annotation")
                .annotate(is_listed=Exists(listed)).get(pk=int(assignment_id), user_id=user.pk))
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise AssignmentNotFound(_("No such pair in your work.")) from None


class _NoRoom(Exception):
    """Rolls back a late submit whose pair has no slot left."""


def _reclaim_expired(lease: Assignment) -> None:
    """A late submit on a swept lease: take the slot back if the pair still has room."""
    if not Assignment.objects.filter(pk=lease.pk, state=EXPIRED).update(state=ACTIVE):
        return  # it changed under us; the insert finds out what it is now
    if not lease.pair.is_gold and not Pair.objects.filter(
            pk=lease.pair_id, claimed_count__lt=F("required_annotations")).update(
            claimed_count=F("claimed_count") + 1):
        raise _NoRoom


def _submit_active(user: AbstractBaseUser, assignment_id: int, values: dict[str, Any], time_spent_ms: int,
                   now: datetime, comment: str = "") -> Annotation | None:
    """Turn an active lease of an allowed worker into an annotation; None if it is not one."""
    fields = {"assignment_id": assignment_id, "user_id": user.pk, "submitted_at": now,
              "time_spent_ms": time_spent_ms, "comment": comment, **values}
    if one_statement_sql():
        params = {c: values[c] for c in _JUDGEMENT_COLUMNS}
        params.update(assignment=assignment_id, user=user.pk, now=now, time_spent_ms=time_spent_ms, comment=comment,
                      answers=json.dumps(values), video_0_labels=json.dumps(values["video_0_labels"]),
                      video_1_labels=json.dumps(values["video_1_labels"]))
        rows = fetch_prepared(_SUBMIT_SQL, params)
        if not rows:
            return None
        row = rows[0]
        annotation = Annotation(id=row[0], pair_id=row[1], gold_correct=row[2], **fields)
        annotation._state.adding, annotation._state.db = False, connection.alias
        return annotation
    with transaction.atomic():
        lease = _lease_for(user, assignment_id)
        campaign = lease.pair.campaign
        if lease.state != ACTIVE or not (campaign.is_active and lease.is_listed):
            return None
        if not Assignment.objects.filter(pk=lease.pk, state=ACTIVE).update(state=SUBMITTED, finished_at=now):
            return None
        pair = lease.pair
        Pair.objects.filter(pk=pair.pk, is_gold=False).update(annotation_count=F("annotation_count") + 1)
        gold_correct = grade_gold(values, pair.gold_answers or {}) if pair.is_gold else None
        annotation = Annotation.objects.create(pair_id=pair.pk, gold_correct=gold_correct, **fields)
        Annotation.objects.filter(pk=annotation.pk).update(submitted_at=now)  # auto_now_add ignores ours
    return annotation


def clean_comment(comment: Any) -> str:
    """The optional comment on an annotation: text, at most COMMENT_MAX_LENGTH characters."""
    comment = "" if comment is None else comment
    if not isinstance(comment, str):
        raise AnswerError({"comment": _("The comment must be text.")})
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise AnswerError({"comment": _("The comment is too long (%(n)d characters; at most %(max)d).") % {
            "n": len(comment), "max": COMMENT_MAX_LENGTH}})
    return comment


# --- corrections: a worker reopens their own recent answers ----------------------------------

def edit_refusal(annotation: Annotation, now: datetime | None = None, *, reviewed: bool | None = None) -> str | None:
    """Why this annotation can no longer be corrected by its worker, or None.

    Allowed within the campaign's edit window after the submit, and only while the pair is
    neither reviewed (a reviewer read the answers) nor exported (a release holds them).
    """
    now = now or timezone.now()
    pair, campaign = annotation.pair, annotation.pair.campaign
    if campaign.edit_window_minutes <= 0 or now - annotation.submitted_at > timedelta(
            minutes=campaign.edit_window_minutes):
        return _("The time to correct this pair is over.")
    if pair.exported_at is not None:
        return _("This pair was exported; its answers are final.")
    if reviewed if reviewed is not None else Review.objects.filter(pair_id=pair.pk).exists():
        return _("This pair was reviewed; its answers are final.")
    return None


def editable_annotations(user: AbstractBaseUser, now: datetime | None = None) -> list[Annotation]:
    """The worker's annotations they may still correct, newest first (one query: the candidates
    are the few submitted within the longest window; each campaign's own window is applied here)."""
    now = now or timezone.now()
    longest = Campaign.objects.aggregate(m=models.Max("edit_window_minutes"))["m"] or 0
    if longest <= 0:
        return []
    candidates = (Annotation.objects.filter(user=user, submitted_at__gte=now - timedelta(minutes=longest),
                                            pair__exported_at__isnull=True)
                  .exclude(Exists(Review.objects.filter(pair_id=OuterRef("pair_id"))))
                  .select_related("pair__campaign", "pair__prompt").order_by("-submitted_at", "-id"))
    return [a for a in candidates if edit_refusal(a, now, reviewed=False) is None]


def edit_annotation(user: AbstractBaseUser, annotation_id: int, answers: dict[str, Any], comment: str | None = None,
                    now: datetime | None = None) -> Annotation:
    """Replace the answers (and the comment, when given) of the worker's own recent annotation.

    The annotation stays one annotation: counters, the daily count and the lease do not change;
    a gold pair is graded again. Raises AnswerError (bad answers, nothing saved),
    AssignmentNotFound (not this worker's), AssignmentError (the window is over, or the pair was
    reviewed or exported).
    """
    now = now or timezone.now()
    values = clean_answers(answers)
    try:
        annotation_id = int(annotation_id)
    except (TypeError, ValueError):
        raise AssignmentNotFound(_("No such pair in your work.")) from None
    with transaction.atomic():
        try:
            annotation = (Annotation.objects.select_for_update(of=("self",)).select_related("pair__campaign")
                          .get(pk=annotation_id, user_id=user.pk))
        except Annotation.DoesNotExist:
            raise AssignmentNotFound(_("No such pair in your work.")) from None
        reason = edit_refusal(annotation, now)
        if reason:
            raise AssignmentError(reason)
        pair = annotation.pair
        changes = {**values, "edited_at": now,
                   "gold_correct": grade_gold(values, pair.gold_answers or {}) if pair.is_gold else None}
        if comment is not None:
            changes["comment"] = clean_comment(comment)
        Annotation.objects.filter(pk=annotation.pk).update(**changes)
        for name, value in changes.items():
            setattr(annotation, name, value)
    return annotation


# --- skip and expiry -------------------------------------------------------------------------

def skip_assignment(user: AbstractBaseUser, assignment_id: int, reason: str, now: datetime | None = None) -> None:
    """Give the lease back with a reason; the slot returns to the pool and the worker never gets the pair again."""
    now = now or timezone.now()
    reason = (reason or "").strip()[:500]
    with transaction.atomic():
        try:
            lease = (Assignment.objects.select_for_update().select_related("pair")
                     .get(pk=assignment_id, user_id=user.pk))
        except (Assignment.DoesNotExist, ValueError, TypeError):
            raise AssignmentNotFound(_("No such pair in your work.")) from None
        if lease.state == SUBMITTED:
            raise AssignmentError(_("This pair is already submitted; it cannot be skipped."))
        if lease.state == SKIPPED:
            return
        if lease.state == ACTIVE and not lease.pair.is_gold:
            Pair.objects.filter(pk=lease.pair_id, claimed_count__gt=0).update(claimed_count=F("claimed_count") - 1)
        Assignment.objects.filter(pk=lease.pk).update(state=SKIPPED, skip_reason=reason, finished_at=now)


def release_expired_leases(now: datetime | None = None) -> int:
    """Mark active leases past their expiry as expired and give their slots back. Returns how many."""
    global _last_sweep_at
    now = now or timezone.now()
    _last_sweep_at = now
    return _expire(Assignment.objects.filter(state=ACTIVE, expires_at__lte=now), now)


def release_leases(assignment_ids: list[int], now: datetime | None = None) -> int:
    """Expire these leases now, wherever they stand in their time (the admin's action): their
    slots go back to the pool and their workers never get the pair again, as with any expiry.
    Leases that are not active are left as they are. Returns how many were released."""
    return _expire(Assignment.objects.filter(state=ACTIVE, id__in=list(assignment_ids)), now or timezone.now())


def _expire(active: "models.QuerySet[Assignment]", now: datetime) -> int:
    with transaction.atomic():
        # Rows a submit or skip holds right now are left to it (SKIP LOCKED); the next sweep sees
        # them if they are still active. Pairs are updated in id order so sweeps cannot deadlock.
        expired = list(active.select_for_update(skip_locked=True, of=("self",))
                       .values_list("id", "pair_id", "pair__is_gold"))
        if not expired:
            return 0
        Assignment.objects.filter(id__in=[e[0] for e in expired]).update(state=EXPIRED, finished_at=now)
        per_pair = Counter(pair_id for _, pair_id, is_gold in expired if not is_gold)
        for pair_id in sorted(per_pair):
            Pair.objects.filter(pk=pair_id).update(claimed_count=F("claimed_count") - per_pair[pair_id])
    return len(expired)


# --- campaign settings that pairs carry ---------------------------------------------------

@dataclass
class OverlapChange:
    overlap: int
    pairs: int  # the campaign's pairs, all now asking for `overlap` unless held higher
    held_above: int  # pairs already leased or annotated more than `overlap` times: lowered to that count


def set_campaign_overlap(campaign: Campaign, overlap: int) -> OverlapChange:
    """Give the campaign's pairs the overlap (annotations per pair) the campaign now asks for.

    Pairs copy the overlap when they are built; a change applies to every pair in one statement,
    never below what a pair already holds (live leases plus annotations): those stay at that
    count, and the result says how many. Raising it reopens complete pairs to new workers.
    """
    overlap = int(overlap)
    if overlap < 1:
        raise ValueError("overlap must be at least 1")
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(overlap=overlap)
        campaign.overlap = overlap
        pairs = Pair.objects.filter(campaign=campaign)
        held_above = pairs.filter(claimed_count__gt=overlap).count()
        changed = pairs.update(required_annotations=Greatest(Value(overlap), F("claimed_count")))
    return OverlapChange(overlap=overlap, pairs=changed, held_above=held_above)


@dataclass
class Progress:
    """"N of M" for the labelling page: the worker's pairs in the campaign, and today's."""

    campaign_done: int  # the worker's annotations in this campaign
    campaign_total: int  # the campaign's pairs: each can be the worker's once
    today: int  # what the daily cap counts (every campaign)
    daily_cap: int | None


def campaign_progress(user: AbstractBaseUser, campaign: Campaign, now: datetime | None = None) -> Progress:
    return Progress(campaign_done=Annotation.objects.filter(user=user, pair__campaign=campaign).count(),
                    campaign_total=Pair.objects.filter(campaign=campaign).count(),
                    today=todays_count(user, now), daily_cap=campaign.daily_cap)


# --- history ---------------------------------------------------------------------------------

@dataclass
class HistoryPage:
    items: list[Assignment]  # newest first, each with pair, prompt and (if submitted) annotation
    total: int
    limit: int
    offset: int


def user_history(user: AbstractBaseUser, limit: int = 50, offset: int = 0) -> HistoryPage:
    """The worker's own leases, newest first, with their own answers where submitted."""
    limit, offset = min(max(int(limit), 1), 500), max(int(offset), 0)
    leases = Assignment.objects.filter(user=user)
    items = list(leases.select_related("pair__prompt", "annotation").order_by("-created_at", "-id")
                 [offset:offset + limit])
    return HistoryPage(items=items, total=leases.count(), limit=limit, offset=offset)


__all__ = ["AssignmentError", "AssignmentNotFound", "AssignmentRefused", "HistoryPage", "LeaseExpired", "OverlapChange",
           "Standing", "next_assignments", "refusal_reason", "release_expired_leases", "release_leases",
           "set_campaign_overlap", "skip_assignment", "standings", "todays_counts", "edit_annotation",
           "edit_refusal", "editable_annotations", "campaign_progress", "Progress",
           "submit_annotation", "todays_count", "user_history"]
