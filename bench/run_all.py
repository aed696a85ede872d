"""Run every CPU benchmark in turn, each in its own process; figures land in bench/results/.

    make bench            # or: DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/run_all.py [names...]

The GPU scripts (gpu_wan_full.py, moderation_speed.py --device cuda) are run by hand on a GPU box.
Benchmarks compete for the CPU: run them on an otherwise idle machine.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {  # name: extra arguments
    "import_prompts": [],
    "pairing": [],
    "encode_speed": [],
    "generation_overhead": [],
    "annotation_throughput": [],
    "faults": [],
    "cache_client": [],
    "assignment_query_plans": [],
    "quality_at_scale": [],
    "export_scale": [],
    "moderation_speed": [],
    "crowd_gate": [],
    "preference_speed": [],
    "uncertain_pairing": [],
}


def main() -> int:
    names = sys.argv[1:] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = {**os.environ, "REDIS_URL": redis_url, "TEST_REDIS_URL": os.environ.get("TEST_REDIS_URL", redis_url)}
    failed = []
    for name in names:
        print(f"\n=== {name}", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *BENCHMARKS[name]], env=env)
        print(f"=== {name}: exit {result.returncode} after {time.perf_counter() - start:.0f} s", flush=True)
        if result.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
