"""Prompt import speed: 100k prompts (JSONL) into an empty database, then the same file again (all duplicates).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora python bench/import_prompts.py [--count 100000]
"""

import argparse
import json
import random
import tempfile
from pathlib import Path

from common import Timer, peak_rss_mb, scratch_database, setup_django, write_result

WORDS = ("a red fox cat dog child crowd city street river forest night storm dancer robot car train "
         "runs jumps flies walks burns melts glows sings fights sleeps slowly quickly under over near "
         "bright dark tiny huge ancient modern neon golden").split()


def write_prompts(path: Path, count: int) -> None:
    rng = random.Random(7)
    with path.open("w") as fh:
        for i in range(count):
            text = " ".join(rng.choice(WORDS) for _ in range(12)) + f" #{i}"
            critical = rng.random() < 0.5
            labels = rng.sample(["violence", "crime", "hate", "porn"], k=rng.randint(1, 2)) if critical else []
            fh.write(json.dumps({"prompt_text": text,
                                 "prompt_type": "safety_critical" if critical else "safety_neutral",
                                 "prompt_labels": labels}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    setup_django()
    from generation.models import Prompt
    from generation.prompt_import import import_prompts

    with tempfile.TemporaryDirectory() as tmp, scratch_database():
        path = Path(tmp) / "prompts.jsonl"
        write_prompts(path, args.count)
        with Timer() as first:
            report = import_prompts(path)
        assert report.created == args.count == Prompt.objects.count()
        with Timer() as again:
            report_again = import_prompts(path)
        assert report_again.created == 0 and len(report_again.duplicates) == args.count
        write_result("import_prompts", {
            "prompts": args.count,
            "import_seconds": round(first.seconds, 2),
            "prompts_per_second": round(args.count / first.seconds),
            "reimport_all_duplicates_seconds": round(again.seconds, 2),
            "peak_rss_mb": round(peak_rss_mb()),
        })


if __name__ == "__main__":
    main()
