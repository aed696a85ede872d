"""Full export at SafeSora scale (and multiples): wall time and peak memory of the export process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora .venv/bin/python bench/export_scale.py [--scale 10]

Builds a synthetic, fully annotated project in a throwaway database (14,711 prompts, 57,333
videos, 51,691 pairs, 3 annotations each, times --scale; videos are rows without bytes),
vacuums it (as autovacuum would have), then runs `manage.py export --no-videos` in a separate
process, so the peak RSS measured is the export's alone, not the data generation's. Also runs
a process that only loads what an export loads (Django, the export modules, pyarrow,
matplotlib), to report the growth over that baseline.
Targets (scale 1): under 20 s, peak RSS under 300 MB; 10x data at most 11x time, flat memory.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, Timer, scratch_database, setup_django, write_result

# What every export process loads before touching data: Django, the export modules, pyarrow's
# first table (which maps its libraries and imports pandas) and matplotlib.
BASELINE = ("import django, io, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'safesora.settings'); "
            "django.setup(); import exports.release, exports.runs, exports.card, matplotlib.figure; "
            "import pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'a': [1]}), io.BytesIO())")


def child_rss_mb(command: list[str], env: dict) -> tuple[float, float, float, str]:
    """Run a child process to the end; return (wall seconds, its peak RSS in MB, its CPU seconds, its stdout)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{out.stdout}\n{out.stderr}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if usage.ru_maxrss <= before:
        print("note: this child's peak did not exceed an earlier child's; the figure is an upper bound")
    return wall, max(usage.ru_maxrss, before) / 1024, usage.ru_utime + usage.ru_stime - cpu_before, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Multiple of SafeSora's size (default 1).")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from exports.models import ExportRun
    from tests.synthetic import build_synthetic_project

    with scratch_database():
        with Timer() as build:
            sizes = build_synthetic_project(args.scale)
        with connection.cursor() as cur:  # settle the bulk load, as autovacuum would have
            cur.execute("VACUUM ANALYZE")
        db = connection.settings_dict
        env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
        if db.get("PASSWORD"):
            env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{db['PASSWORD']}@", 1)
        with tempfile.TemporaryDirectory(dir=ROOT / "data") as tmp:
            # The baseline child first: RUSAGE_CHILDREN keeps the largest child peak seen so far.
            _, baseline_mb, _, _ = child_rss_mb([sys.executable, "-c", BASELINE], env)
            target = Path(tmp) / "release"
            wall, peak_mb, cpu, stdout = child_rss_mb(
                [sys.executable, "manage.py", "export", "--name", "bench", "--output", str(target), "--no-videos",
                 "--no-progress"], env)
            run = ExportRun.objects.get(name="bench")
            export_seconds = (run.finished_at - run.started_at).total_seconds()
            counts = json.loads((target / "manifest.json").read_text())["counts"]
            size_mb = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 1e6
    figures = {
        "scale": args.scale,
        "prompts": sizes["prompts"],
        "videos": sizes["videos"],
        "pairs": sizes["pairs"],
        "annotations": sizes["annotations"],
        "data_generation_s": round(build.seconds, 1),
        "export_s (run started -> finished)": round(export_seconds, 2),
        "export_command_wall_s (incl. startup)": round(wall, 2),
        "export_process_cpu_s (user+sys, excl. PostgreSQL)": round(cpu, 2),
        "export_peak_rss_mb": round(peak_mb, 1),
        "baseline_rss_mb (django + export modules)": round(baseline_mb, 1),
        "rss_growth_mb": round(peak_mb - baseline_mb, 1),
        "pairs_per_s": round(sizes["pairs"] / export_seconds),
        "preference_pairs_train+test": counts["safesora"]["preference"]["train"]
        + counts["safesora"]["preference"]["test"],
        "label_videos_train+test": counts["safesora"]["label"]["train"] + counts["safesora"]["label"]["test"],
        "pairs_undecided": counts["pairs_undecided"],
        "release_mb": round(size_mb, 1),
        "target (scale 1)": "under 20 s, peak RSS under 300 MB",
    }
    print(stdout.strip())
    write_result(f"export_scale_x{args.scale:g}", figures)


if __name__ == "__main__":
    main()
