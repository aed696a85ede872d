"""The cost of the crowd gate (crowd.gate.stop_for) that the labelling page and the API run before
the next-pair engine: for a worker the crowd app never enrolled (one indexed query), and for a
Prolific worker with a quota (the enrolment, the count of their annotations in the campaign, and
"is any pair left for them"). Reported: p50 and p99 of one call, over a campaign of --pairs pairs
with --done annotations by each worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora python bench/crowd_gate.py [--pairs 50000] [--done 200]
"""

import argparse
import statistics
import time

from common import scratch_database, setup_django, write_result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--done", type=int, default=200)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    setup_django()
    with scratch_database():
        from django.db import connection

        from annotation.models import Campaign
        from crowd.gate import stop_for
        from crowd.marketplace import Entry, do_enter
        from crowd.models import CrowdSettings
        from tests.factories import make_annotation, make_campaign, make_pairs, make_user

        campaign = make_campaign("bench", overlap=3, gold_rate=0)
        pairs = make_pairs(campaign, args.pairs)
        crowd = CrowdSettings.objects.create(campaign=campaign, marketplace="prolific", completion_code="X",
                                             quota=args.done + 1000)
        regular = make_user("regular")
        campaign.workers.add(regular)
        worker = do_enter(crowd, Entry("prolific", "PID1", "S1", "SESS1")).user
        for pair in pairs[:args.done]:
            make_annotation(pair, regular)
            make_annotation(pair, worker)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        figures = {"pairs": args.pairs, "annotations_per_worker": args.done, "calls": args.calls}
        # A baseline on the same machine and connection: the cheapest ORM query there is.
        probes = (("baseline_orm_exists", lambda: Campaign.objects.filter(pk=campaign.pk).exists()),
                  ("not_enrolled", lambda: stop_for(regular, campaign)),
                  ("prolific_with_quota", lambda: stop_for(worker, campaign)))
        assert stop_for(regular, campaign) is None and stop_for(worker, campaign) is None
        for name, call in probes:
            for _ in range(20):
                call()  # warm up: connection, prepared statements
            times = []
            for _ in range(args.calls):
                start = time.perf_counter()
                call()
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            figures[f"{name}_p50_ms"] = round(statistics.median(times), 3)
            figures[f"{name}_p99_ms"] = round(times[int(0.99 * (len(times) - 1))], 3)
        write_result("crowd_gate", figures)


if __name__ == "__main__":
    main()
