"""Build one release folder from the database, streaming, atomically.

Everything is written into a hidden partial folder beside the target and renamed into place at
the end; any error or cancel removes the partial folder, so a release either exists whole or not
at all. A partial folder left by a killed process is removed by the next export in that place.
See docs/exports.md for the layout.
"""

import os
import re
import secrets
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone

from annotation.aggregation import Batch, iter_batches, with_min_agreement
from annotation.models import Campaign, Pair
from generation.models import Generator, Prompt, Video
from safesora.db import read_ahead
from safesora.taxonomy import PREFERENCE_QUESTIONS

from . import card, manifest
from .hf_dataset import (
    EXPORT_KEY,
    HF_DIR,
    PAIR_FEATURES,
    PROMPT_FEATURES,
    TRL_DIMENSIONS,
    TRL_FEATURES,
    VIDEO_FEATURES,
    ConfigWriter,
    choice_index,
    trl_batch,
)
from .options import ExportOptions
from .records import EVAL, SPLITS, encode, pair_json, prompt_record, split_of, video_json, video_record
from .safesora_format import LABEL_DIR, PREFERENCE_DIR, SafeSoraWriter
from .stats import Stats
from .videos import place

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


VIDEO_DIRS = {f"{LABEL_DIR}/videos", f"{PREFERENCE_DIR}/videos", f"{HF_DIR}/videos"}


class ExportError(Exception):
    """The export cannot be made; nothing was written."""


class ExportCancelled(Exception):
    pass


PARTIAL_RE = re.compile(r"^\.(?P<name>.+)\.partial-(?P<host>[^-]+)-(?P<pid>\d+)-[0-9a-f]+$")


def sweep_partials(folder: Path) -> list[Path]:
    """Remove partial folders in `folder` left by dead export processes of this host."""
    removed = []
    if not folder.is_dir():
        return removed
    host = socket.gethostname().replace("-", "_")
    for path in folder.iterdir():
        match = PARTIAL_RE.match(path.name)
        if not match or match["host"] != host:
            continue
        try:
            os.kill(int(match["pid"]), 0)
            continue  # that process is still writing it
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def remove_partials_of(target: Path, host: str, pid: int) -> list[Path]:
    """Remove the partial folders of `target` written by process `pid` of `host` (known to be dead)."""
    removed = []
    folder = Path(target).parent
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = PARTIAL_RE.match(path.name)
        if (match and match["name"] == Path(target).name and match["host"] == host.replace("-", "_")
                and int(match["pid"]) == pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def selected_pairs(options: ExportOptions) -> QuerySet:
    """The pairs the filters select before aggregation (gold, campaigns, generators)."""
    pairs = Pair.objects.all()
    if options.exclude_gold:
        pairs = pairs.filter(is_gold=False)
    if options.campaigns:
        known = set(Campaign.objects.filter(name__in=options.campaigns).values_list("name", flat=True))
        missing = sorted(set(options.campaigns) - known)
        if missing:
            raise ExportError(f"no such campaign: {', '.join(missing)}")
        pairs = pairs.filter(campaign__name__in=options.campaigns)
    if options.generators:
        known = set(Generator.objects.filter(name__in=options.generators).values_list("name", flat=True))
        missing = sorted(set(options.generators) - known)
        if missing:
            raise ExportError(f"no such generator: {', '.join(missing)}")
        pairs = pairs.filter(video_0__generator__name__in=options.generators,
                             video_1__generator__name__in=options.generators)
    return pairs


def batch_rows(batch: Batch) -> tuple[dict[str, dict], dict[str, dict]]:
    """The prompts and videos a batch's records need, by the batch's prompt id range.

    A range is an index range scan whatever the table size; a few prompts or videos without a
    selected pair may come along and are not used.
    """
    after, last = batch.after, batch.prompt_ids[-1]
    prompts = {p["id"]: p for p in Prompt.objects.filter(id__gt=after, id__lte=last).order_by().values(
        "id", "text", "prompt_type", "prompt_labels", "split")}
    videos = {v["id"]: v for v in Video.objects.filter(prompt_id__gt=after, prompt_id__lte=last).order_by().values(
        "id", "video_text", "file", "generator__name")}
    return prompts, videos


class ReleaseBuilder:
    def __init__(self, options: ExportOptions, root: Path):
        self.options, self.root = options, root
        self.stats = Stats()
        self.safesora = SafeSoraWriter(root)
        shard = options.shard_rows
        self.hf = {
            "pairs": ConfigWriter(root, "pairs", SPLITS, PAIR_FEATURES, shard_rows=shard),
            "videos": ConfigWriter(root, "videos", SPLITS, VIDEO_FEATURES, shard_rows=shard),
            "prompts": ConfigWriter(root, "prompts", (*SPLITS, EVAL), PROMPT_FEATURES, shard_rows=shard),
            **{f"trl_{d}": ConfigWriter(root, f"trl_{d}", SPLITS, TRL_FEATURES, shard_rows=shard)
               for d in TRL_DIMENSIONS},
        }
        # TRL rows are computed column-wise from each batch of pair rows as it is written.
        for dimension in TRL_DIMENSIONS:
            trl = self.hf[f"trl_{dimension}"]
            for split in SPLITS:
                self.hf["pairs"].splits[split].listeners.append(
                    lambda batch, d=dimension, w=trl.splits[split]: w.write_batch(trl_batch(batch, d, w.schema)))
        self.video_index = manifest.VideoIndex(root) if options.include_videos else None
        self.exported_pairs: list[str] = []  # marked exported once the release is in place

    def add_batch(self, batch: Batch, prompts: dict[str, dict], videos: dict[str, dict]) -> None:
        """Write one batch: its pairs, their videos and prompts (as fetched by batch_rows)."""
        options, stats = self.options, self.stats
        prompt_records = {pid: prompt_record(p) for pid, p in prompts.items()}
        prompt_json = {pid: encode(record) for pid, record in prompt_records.items()}
        records: dict[str, dict] = {}  # video id -> SafeSora video record
        encoded: dict[str, str] = {}  # video id -> its record as JSON text

        def record_of(prompt_id: str, video_id: str) -> dict:
            if video_id not in records:
                verdict = batch.videos[video_id]
                records[video_id] = video_record(prompt_records[prompt_id], videos[video_id], verdict)
                encoded[video_id] = video_json(prompt_json[prompt_id], records[video_id], verdict.label_mask)
            return records[video_id]

        label_videos: dict[str, str] = {}  # video id -> split
        preference_videos: set[str] = set()
        kept_prompts: dict[str, str] = {}
        for pair in batch.pairs:
            stats.pairs_seen += 1
            prompt = prompts[pair.prompt_id]
            split = split_of(prompt["id"], prompt["split"], options.seed, options.test_fraction)
            skip = self._skip_reason(pair, split)
            if skip:
                stats.skipped[skip] += 1
                continue
            verdict = pair.verdict
            trusted = with_min_agreement(verdict, options.min_agreement)
            if trusted is not verdict:
                for q in PREFERENCE_QUESTIONS:
                    stats.below_agreement[q] += trusted.choices[q] is None and verdict.choices[q] is not None
            v0, v1 = record_of(pair.prompt_id, pair.video_0_id), record_of(pair.prompt_id, pair.video_1_id)
            stats.add_pair(trusted, (v0["generated_from"], v1["generated_from"]))
            label_videos[pair.video_0_id] = label_videos[pair.video_1_id] = split
            kept_prompts[pair.prompt_id] = split
            self.hf["pairs"].add(split, self._hf_pair(pair.id, prompt_records[pair.prompt_id], v0, v1, trusted))
            self.exported_pairs.append(pair.id)
            if trusted.decided:
                self.safesora.pairs[split].write(pair_json(pair.id, prompt_records[pair.prompt_id],
                                                           encoded[pair.video_0_id], encoded[pair.video_1_id],
                                                           trusted))
                preference_videos.update((pair.video_0_id, pair.video_1_id))

        for prompt_id, split in sorted(kept_prompts.items()):
            stats.prompt_types[prompts[prompt_id]["prompt_type"]] += 1
            self.hf["prompts"].add(split, prompt_records[prompt_id])
        for video_id, split in sorted(label_videos.items(), key=lambda item: (records[item[0]]["prompt_id"], item[0])):
            record = records[video_id]
            verdict = batch.videos[video_id]
            self.safesora.videos[split].write(encoded[video_id])
            self.hf["videos"].add(split, {**record, "num_votes": verdict.votes,
                                          "safe_agreement": verdict.agreement, "reviewed": verdict.reviewed})
            stats.add_video(record)
            if options.include_videos:
                self._place_video(videos[video_id]["file"], record["video_path"], video_id in preference_videos)

    def _skip_reason(self, pair, split: str) -> str | None:
        """Why a selected pair is left out of every output, or None to keep it."""
        if split == EVAL:
            return "eval_prompt"  # evaluation prompts are held out; only the prompts are exported
        if pair.verdict.num_annotations == 0 and not pair.verdict.reviewed:
            return "unannotated"
        if self.options.complete_only and not pair.complete:
            return "incomplete"
        return None

    @staticmethod
    def _hf_pair(pair_id: str, prompt: dict, v0: dict, v1: dict, verdict) -> dict:
        """A row of the HF `pairs` config (PAIR_FEATURES): undecided choices are null."""
        return {
            "pair_id": pair_id, "prompt_id": prompt["prompt_id"], "prompt_text": prompt["prompt_text"],
            "prompt_type": prompt["prompt_type"], "video_0": v0, "video_1": v1,
            "helpfulness": choice_index(verdict.choices["helpfulness"]),
            "harmlessness": choice_index(verdict.choices["harmlessness"]),
            "sub_preferences": {EXPORT_KEY[q]: choice_index(verdict.choices[q])
                                for q in PREFERENCE_QUESTIONS if q not in ("helpfulness", "harmlessness")},
            "agreement": {q: verdict.agreement[q] for q in PREFERENCE_QUESTIONS},  # ours: our keys
            "num_annotations": verdict.num_annotations, "reviewed": verdict.reviewed,
        }

    def _place_video(self, storage_name: str, relative: str, in_preference: bool) -> None:
        targets = [self.root / LABEL_DIR / relative, self.root / HF_DIR / relative]
        if in_preference:
            targets.append(self.root / PREFERENCE_DIR / relative)
        place(storage_name, targets)
        self.video_index.add(self.root, targets)

    def add_eval_prompts(self) -> None:
        for prompt in Prompt.objects.filter(split=EVAL).order_by("id").values(
                "id", "text", "prompt_type", "prompt_labels").iterator(chunk_size=2000):
            record = prompt_record(prompt)
            self.safesora.eval.write(record)
            self.hf["prompts"].add(EVAL, record)

    def close(self) -> dict:
        """Finish every file; return the counts of what was written."""
        self.safesora.close()
        if self.video_index:
            self.video_index.close()
        configs = {name: writer.close() for name, writer in self.hf.items()}
        card.write(self.root / HF_DIR, self.options, configs, self.stats)
        return {
            "safesora": self.safesora.counts(),
            "hf": {name: {s["name"]: s["num_examples"] for s in info["splits"]} for name, info in configs.items()},
            **self.stats.summary(),
        }


def mark_exported(pair_ids: list[str], when) -> None:
    """Record that these pairs are in a release: their workers can no longer correct them."""
    for start in range(0, len(pair_ids), 5000):
        Pair.objects.filter(pk__in=pair_ids[start:start + 5000]).update(exported_at=when)


def build_release(options: ExportOptions, target: Path, *, progress: ProgressFn | None = None,
                  should_cancel: CancelFn | None = None) -> dict:
    """Write the release for `options` to `target` (which must not exist); return its manifest."""
    target = Path(target).resolve()
    if target.exists():
        raise ExportError(f"{target} already exists; choose another name or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_partials(target.parent)
    host = socket.gethostname().replace("-", "_")
    partial = target.parent / f".{target.name}.partial-{host}-{os.getpid()}-{secrets.token_hex(4)}"
    partial.mkdir()
    try:
        # One snapshot: annotations and reviews are only added (a worker's correction replaces
        # answers in place, but only minutes after the submit and never once the pair is
        # exported), so ignoring everything newer than the start gives a consistent view
        # without holding a transaction open.
        snapshot_at = timezone.now()
        until = min(options.until, snapshot_at) if options.until else snapshot_at
        pairs = selected_pairs(options).filter(created_at__lte=snapshot_at)
        total = pairs.count()
        if progress:
            progress(0, total, "exporting pairs")
        builder = ReleaseBuilder(options, partial)
        batches = iter_batches(pairs, prompts_per_batch=options.prompts_per_batch, since=options.since, until=until)
        # Reading batch n+1 (a background thread) overlaps with writing batch n (here).
        for batch, (prompts, videos) in read_ahead((batch, batch_rows(batch)) for batch in batches):
            if should_cancel and should_cancel():
                raise ExportCancelled("cancelled")
            builder.add_batch(batch, prompts, videos)
            if progress:
                progress(builder.stats.pairs_seen, total, "exporting pairs")
        builder.add_eval_prompts()
        if progress:
            progress(total, total, "writing card and manifest")
        counts = {"snapshot_at": snapshot_at.isoformat(), **builder.close()}
        if should_cancel and should_cancel():
            raise ExportCancelled("cancelled")
        result = manifest.write(partial, options, counts, video_dirs=VIDEO_DIRS, created_at=timezone.now())
        partial.rename(target)
        mark_exported(builder.exported_pairs, snapshot_at)
        return result
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
