"""Query plans of the next-pair engine at scale: 100k pairs, 150k+ past assignments.

Prints EXPLAIN (ANALYZE, BUFFERS) of the claim, of the same claim with a plain NOT EXISTS (the
anti-join trap described in docs/assignment.md), of the standing query and of the submit, each run in a
transaction that is rolled back; then times real claims and submits through the engine.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora python bench/assignment_query_plans.py \
        [--pairs 100000] [--done 50000] [--annotators 40]
"""

import argparse
import json
import time

from common import Timer, scratch_database, setup_django, write_result


def seed_history(campaign, users, done: int) -> int:
    """The first `done` pairs fully annotated (overlap annotators each): assignments + annotations."""
    from django.db import connection
    from django.utils import timezone

    from annotation.models import Annotation, Assignment, Pair
    from safesora.db import bulk_insert
    from safesora.taxonomy import empty_labels

    pair_ids = list(Pair.objects.filter(campaign=campaign, is_gold=False).order_by("id")
                    .values_list("id", flat=True)[:done])
    now = timezone.now()
    leases, k = [], 0
    for pair_id in pair_ids:
        for _ in range(campaign.overlap):
            leases.append(Assignment(pair_id=pair_id, user=users[k % len(users)], state="submitted",
                                     created_at=now, expires_at=now, finished_at=now))
            k += 1
    bulk_insert(Assignment, leases)
    ids = dict(((a, u), i) for i, a, u in Assignment.objects.values_list("id", "pair_id", "user_id"))
    labels = empty_labels()
    answers = [Annotation(assignment_id=ids[(a.pair_id, a.user.pk)], pair_id=a.pair_id, user=a.user,
                          instruction_following="video_0", correctness="video_0", informativeness="video_1",
                          aesthetics="video_0", helpfulness="video_1", harmlessness="video_0",
                          video_0_is_safe=True, video_1_is_safe=True, video_0_labels=labels, video_1_labels=labels,
                          time_spent_ms=10_000) for a in leases]
    bulk_insert(Annotation, answers)
    with connection.cursor() as cursor:  # spread the history over the past 30 days, as real work is
        cursor.execute("UPDATE annotation_annotation "
                       "SET submitted_at = submitted_at - (mod(id, 30) + 1) * interval '1 day'")
    Pair.objects.filter(id__in=pair_ids).update(claimed_count=campaign.overlap, annotation_count=campaign.overlap)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return len(leases)


def explain(sql: str, params: dict) -> tuple[str, float]:
    """The plan with real timings (second run, warm cache); the statement's changes are rolled back."""
    from django.db import connection, transaction

    for _run in range(2):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
                lines = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)
    total = next(float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time"))
    return "\n".join(lines), total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--done", type=int, default=50_000, help="pairs already fully annotated")
    parser.add_argument("--annotators", type=int, default=40)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=300)
    args = parser.parse_args()
    setup_django()
    import annotation_throughput as throughput
    from django.utils import timezone

    from annotation import assignment as engine
    from annotation.models import Assignment

    with scratch_database():
        campaigns, users, _ = throughput.seed(args.pairs, [args.overlap], args.annotators, 100)
        campaign = campaigns[args.overlap]
        campaign.workers.add(*users)
        with Timer() as seeding:
            past = seed_history(campaign, users, args.done)
        print(f"{args.pairs} pairs, {past} past assignments and annotations ({seeding.seconds:.0f}s)\n", flush=True)

        user = users[0]
        now = timezone.now()
        (standing,) = engine.standings(user, campaign)
        params = {"user": user.pk, "campaign": campaign.pk, "campaigns": [campaign.pk], "count": 2, "cap": 2,
                  "gold": 0, "salt": str(user.pk), "now": now, "expires": now + timezone.timedelta(minutes=15)}
        claim_plan, claim_ms = explain(engine._CLAIM_SQL, params)
        trap_sql = engine._CLAIM_SQL.replace("a.user_id = %(user)s OFFSET 0)", "a.user_id = %(user)s)")
        assert trap_sql != engine._CLAIM_SQL
        trap_plan, trap_ms = explain(trap_sql, params)
        gold_plan, gold_ms = explain(engine._CLAIM_SQL, {**params, "gold": 1})
        standing_sql = engine.standing_sql("c.id = %(campaign)s")
        standing_plan, standing_ms = explain(standing_sql, {"user": user.pk, "role": "crowdworker", "true": True,
                                                            "day": engine.start_of_today(now),
                                                            "campaign": campaign.pk})
        lease = engine.next_assignments(user, campaign=campaign)[0]
        values = engine.clean_answers(throughput.ANSWERS)
        submit_params = {c: values[c] for c in engine._JUDGEMENT_COLUMNS}
        submit_params.update(assignment=lease.pk, user=user.pk, now=now, time_spent_ms=1000,
                             answers=json.dumps(values), video_0_labels=json.dumps(values["video_0_labels"]),
                             video_1_labels=json.dumps(values["video_1_labels"]))
        submit_plan, submit_ms = explain(engine._SUBMIT_SQL, submit_params)
        for title, plan in (("claim (the engine's)", claim_plan), ("claim with a plain NOT EXISTS", trap_plan),
                            ("claim with a gold pick", gold_plan), ("standing", standing_plan),
                            ("submit", submit_plan)):
            print(f"--- {title}\n{plan}\n", flush=True)

        # Real cycles through the engine, one worker after another (no HTTP, no concurrency).
        claim_times, submit_times = [], []
        for i in range(args.cycles):
            worker = users[i % len(users)]
            start = time.perf_counter()
            leases = engine.next_assignments(worker, campaign=campaign, count=1)
            middle = time.perf_counter()
            engine.submit_annotation(worker, leases[0].pk, throughput.ANSWERS, 1000)
            claim_times.append((middle - start) * 1000)
            submit_times.append((time.perf_counter() - middle) * 1000)
        write_result("assignment_query_plans", {
            "pairs": args.pairs,
            "past_assignments": past,
            "assignments_now": Assignment.objects.count(),
            "claim_execution_ms": claim_ms,
            "claim_with_plain_not_exists_execution_ms": trap_ms,
            "claim_with_gold_execution_ms": gold_ms,
            "standing_execution_ms": standing_ms,
            "submit_execution_ms": submit_ms,
            "engine_next_p50_ms": throughput.percentile(claim_times, 0.5),
            "engine_submit_p50_ms": throughput.percentile(submit_times, 0.5),
            "engine_next_p99_ms": throughput.percentile(claim_times, 0.99),
            "engine_submit_p99_ms": throughput.percentile(submit_times, 0.99),
            "gold_answered_by_user0": standing.gold_answered,
        })


if __name__ == "__main__":
    main()
