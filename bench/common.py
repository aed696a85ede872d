"""Shared helpers for benchmarks: a throwaway database, peak memory, a JSON result file."""

import contextlib
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safesora.settings")


def setup_django() -> None:
    import django

    django.setup()


@contextlib.contextmanager
def scratch_database():
    """Create test_<NAME> (migrated), yield, drop it: benchmarks never touch real data."""
    from django.test.utils import setup_databases, teardown_databases

    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(old, verbosity=0)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def write_result(name: str, figures: dict) -> Path:
    """Print the figures and write them to bench/results/<name>.json with the machine they ran on."""
    from django.conf import settings

    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "figures": figures,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2))
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    print(f"written to {path.relative_to(ROOT)}")
    return path
