"""What routing the engine's prepared statements through Django's cursor wrapper costs.

safesora.db.fetch_prepared runs the claim, submit and standing statements on a psycopg cursor
wrapped by the connection (so execute_wrapper, CaptureQueriesContext and APM hooks see them).
This times, in one process and interleaved round by round, the same prepared statement on a
bare psycopg cursor (fetch_prepared as it was) and through fetch_prepared, as client CPU
per call (time.process_time: the wrapper's cost is client-side; the round trip is the same).
The throughput benchmark's cycle (next + submit, 3 engine statements) costs the server about
9 ms of CPU: the difference here, times 3, against that is the share the wrapper adds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora python bench/prepared_statement_wrapping.py [--calls 5000]
"""

import argparse
import statistics
import time

import psycopg
from common import setup_django, write_result

SQL = "SELECT %(a)s::int + 1, %(b)s::text"


def bare(connection, params):
    """fetch_prepared as it was: a bare psycopg cursor, invisible to Django's instrumentation."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(SQL, params, prepare=True)
        return cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from safesora.db import fetch_prepared

    connection.ensure_connection()
    params = {"a": 1, "b": "x"}
    runs = {"bare_psycopg": lambda: bare(connection, params), "fetch_prepared": lambda: fetch_prepared(SQL, params)}
    per_call: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # prepared on the server before timing
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.process_time()
            for _ in range(args.calls):
                run()
            per_call[name].append((time.process_time() - start) / args.calls * 1e6)
    bare_us, wrapped_us = (statistics.median(per_call[n]) for n in runs)
    write_result("prepared_statement_wrapping", {
        "calls_per_round": args.calls, "rounds": args.rounds,
        "bare_psycopg_client_cpu_us_per_call": round(bare_us, 1),
        "fetch_prepared_client_cpu_us_per_call": round(wrapped_us, 1),
        "wrapper_cost_us_per_call": round(wrapped_us - bare_us, 1),
        "wrapper_cost_per_cycle_share_of_9ms": round(3 * (wrapped_us - bare_us) / 9000, 4),
    })


if __name__ == "__main__":
    main()
