"""Pairing at SafeSora's size: 14,711 prompts, about 57k videos from 4 generators, into about 51k pairs
(at most 4 per prompt), then the same again (nothing new to add).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora python bench/pairing.py
"""

import argparse
import random

from common import Timer, peak_rss_mb, scratch_database, setup_django, write_result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=14_711)
    parser.add_argument("--max-per-prompt", type=int, default=4)
    args = parser.parse_args()
    setup_django()
    from annotation.models import Campaign, Pair
    from annotation.pairing import build_pairs
    from generation.models import Generator, Prompt, Video, stable_id, text_hash
    from safesora.db import bulk_insert

    rng = random.Random(0)
    with scratch_database():
        generators = [Generator.objects.create(name=f"gen-{i}", family="wan", pipeline_class="WanPipeline")
                      for i in range(4)]
        prompts = []
        for i in range(args.prompts):
            text = f"benchmark prompt {i}"
            prompts.append(Prompt(id=text_hash(text), text=text, text_hash=text_hash(text),
                                  prompt_type="safety_neutral"))
        bulk_insert(Prompt, prompts)
        videos = []
        for prompt in prompts:  # most prompts have all 4 generators' videos, some only 3 (57k videos in all)
            for generator in rng.sample(generators, 4 if rng.random() < 0.9 else 3):
                vid = stable_id("video", prompt.id, generator.name, 0)
                videos.append(Video(id=vid, prompt_id=prompt.id, generator=generator, video_text=prompt.text,
                                    file=f"videos/{prompt.id}/{vid}.mp4", fps=16, num_frames=81, width=832,
                                    height=480, duration=5.06, sha256="0" * 64))
        bulk_insert(Video, videos)
        campaign = Campaign.objects.create(name="bench", overlap=3)
        with Timer() as first:
            report = build_pairs(campaign, max_per_prompt=args.max_per_prompt, seed=0)
        with Timer() as again:
            report_again = build_pairs(campaign, max_per_prompt=args.max_per_prompt, seed=0)
        assert report_again.created == 0 and Pair.objects.count() == report.created
        write_result("pairing", {
            "prompts": args.prompts,
            "videos": len(videos),
            "pairs_created": report.created,
            "build_pairs_seconds": round(first.seconds, 2),
            "pairs_per_second": round(report.created / first.seconds),
            "rerun_nothing_new_seconds": round(again.seconds, 2),
            "peak_rss_mb": round(peak_rss_mb()),
        })


if __name__ == "__main__":
    main()
