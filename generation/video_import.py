"""Import videos made elsewhere (API-only generators, an existing SafeSora release) with their prompt
and generator.

A manifest is JSONL, a JSON list or CSV, one record per video:
    file (or path, video_path)    the video file, relative to the manifest's folder
    prompt_id or prompt_text      an existing prompt, or the text of one (created when new; then
                                  prompt_type, or --default-type, is needed; prompt_labels optional)
    generator (or generated_from) the name of a registered generator
    video_id, video_text, seed    optional
A SafeSora release folder (config-*.json.gz with video or pair records, video_path relative to the
folder) is read as it is.

Each record stands alone: a missing, corrupt or non-video file (generation.encoding.check_video_file:
real video containers only, within VIDEO_MAX_BYTES / VIDEO_MAX_SIDE / VIDEO_MAX_SECONDS), a path
outside the manifest's folder (or VIDEO_IMPORT_ROOT), an unknown generator or prompt is refused
with a message naming the record, and writes nothing; the other records are imported. Files that are not
already browser-ready H.264/yuv420p mp4 are re-encoded. Re-running skips videos that exist.
"""

import csv
import gzip
import json
import re
import shutil
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
from django.conf import settings
from django.db import IntegrityError, transaction

from safesora.inputs import MAX_BIGINT

from .encoding import NotAVideo, browser_ready, check_video_file, file_sha256, poster_from_file, probe, transcode_mp4
from .models import Generator, Origin, Prompt, Video, stable_id, text_hash
from .prompt_import import PromptImportError, parse_record
from .runner import set_info
from .storage import scratch_dir, store_bytes, store_file

FILE_KEYS = ("file", "path", "video_path")
GENERATOR_KEYS = ("generator", "generated_from")
VIDEO_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Refused(Exception):
    """One record that cannot be imported; the message says why."""


@dataclass
class VideoImportReport:
    records: int = 0
    imported: int = 0
    reencoded: int = 0
    existing: int = 0
    prompts_created: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (where, why)

    def summary(self) -> str:
        return (f"{self.records} records: {self.imported} videos imported ({self.reencoded} re-encoded), "
                f"{self.existing} already there, {len(self.refused)} refused, "
                f"{self.prompts_created} prompts created")


def read_manifest(manifest: Path) -> tuple[Path, list[tuple[str, dict]]]:
    """(base folder for file paths, [(where, record)]). Raises Refused when the manifest is unreadable."""
    manifest = Path(manifest)
    if manifest.is_dir():
        return manifest, list(_release_records(manifest))
    if not manifest.exists():
        raise Refused(f"{manifest}: no such file or folder")
    suffix = manifest.suffix.lower()
    try:
        with manifest.open(encoding="utf-8-sig") as fh:
            if suffix == ".csv":
                records = [(f"line {reader.line_num}", row) for reader in [csv.DictReader(fh)] for row in reader]
            elif suffix == ".json":
                data = json.load(fh)
                if not isinstance(data, list):
                    raise Refused(f"{manifest.name}: a .json manifest must hold a list of records")
                records = [(f"record {n}", r) for n, r in enumerate(data, start=1)]
            elif suffix == ".jsonl":
                records = [(f"line {n}", _json_line(manifest, n, line))
                           for n, line in enumerate(fh, start=1) if line.strip()]
            else:
                raise Refused(f"{manifest.name}: unknown manifest type; use .jsonl, .json, .csv or a release folder")
    except (ValueError, csv.Error, OSError) as exc:  # ValueError: bad UTF-8, bad JSON, a 5,000-digit number
        raise Refused(f"{manifest.name}: not a readable manifest ({exc})") from None
    except RecursionError:
        raise Refused(f"{manifest.name}: not a readable manifest (JSON nested too deeply)") from None
    return manifest.parent, records


def _json_line(manifest: Path, number: int, line: str) -> dict:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise Refused(f"{manifest.name} line {number}: invalid JSON ({exc.msg})") from None
    except ValueError as exc:
        raise Refused(f"{manifest.name} line {number}: invalid JSON ({exc})") from None
    except RecursionError:
        raise Refused(f"{manifest.name} line {number}: invalid JSON (nested too deeply)") from None


def _release_records(folder: Path) -> Iterator[tuple[str, dict]]:
    """Video records of a SafeSora release folder; pair records contribute their two videos."""
    files = sorted(folder.glob("config-*.json.gz")) + sorted(folder.glob("config-*.json"))
    if not files:
        raise Refused(f"{folder}: not a SafeSora release folder (no config-*.json.gz)")
    seen: set[str] = set()
    for path in files:
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            with opener(path, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError, EOFError, zlib.error) as exc:
            raise Refused(f"{path.name}: not readable ({exc})") from None
        except RecursionError:
            raise Refused(f"{path.name}: not readable (JSON nested too deeply)") from None
        for number, record in enumerate(data if isinstance(data, list) else [], start=1):
            parts = ([(f" {k}", record[k]) for k in ("video_0", "video_1")]
                     if isinstance(record, dict) and "video_0" in record else [("", record)])
            for suffix, video in parts:
                key = video.get("video_id") if isinstance(video, dict) else None
                key = key if isinstance(key, str) else None
                if key and key in seen:
                    continue
                seen.add(key)
                yield f"{path.name} record {number}{suffix}", video


def import_videos(manifest: Path | str, *, default_type: str | None = None, source: str | None = None,
                  progress: Callable[[int], None] | None = None) -> VideoImportReport:
    """Import every record of a manifest or release folder; see the module docstring."""
    base, records = read_manifest(Path(manifest))
    report = VideoImportReport(records=len(records))
    generators = {g.name: g for g in Generator.objects.all()}
    source = source if source is not None else Path(manifest).name
    for where, record in records:
        try:
            _import_one(base, where, record, generators, default_type, source, report)
        except Refused as exc:
            report.refused.append((where, str(exc)))
        if progress:
            progress(1)
    return report


def _field(record: dict, keys: tuple[str, ...]) -> str:
    return next((str(record[k]).strip() for k in keys if record.get(k) not in (None, "")), "")


def _video_path(base: Path, relative: str) -> Path:
    """The file a manifest names: under the manifest's folder, or under VIDEO_IMPORT_ROOT when set.

    Absolute paths and `..` are followed only while they stay inside one of those folders, so a
    manifest cannot make the import read an arbitrary file of the server.
    """
    path = (base / relative).resolve()
    roots = [base.resolve()] + ([settings.VIDEO_IMPORT_ROOT] if settings.VIDEO_IMPORT_ROOT else [])
    if not any(path.is_relative_to(root) for root in roots):
        raise Refused(f"{relative} is outside the manifest's folder"
                      + (" and VIDEO_IMPORT_ROOT" if settings.VIDEO_IMPORT_ROOT else "")
                      + "; files must lie under it")
    if not path.is_file():
        raise Refused(f"file not found: {relative}")
    return path


def _import_one(base: Path, where: str, record: object, generators: dict[str, Generator],
                default_type: str | None, source: str, report: VideoImportReport) -> None:
    """Check everything (generator, path, file, prompt, id) first; write only once all passed."""
    if not isinstance(record, dict):
        raise Refused("a record must be an object")
    name = _field(record, GENERATOR_KEYS)
    generator = generators.get(name)
    if generator is None:
        known = ", ".join(sorted(generators)) or "none registered yet"
        raise Refused(f"unknown generator {name!r} (known: {known}); register it first" if name
                      else "missing generator name (field 'generator' or 'generated_from')")
    relative = _field(record, FILE_KEYS)
    if not relative:
        raise Refused("missing file path (field 'file', 'path' or 'video_path')")
    if "\x00" in relative:
        raise Refused("the file path contains a NUL character")
    path = _video_path(base, relative)
    seed = _seed(record)
    video_id = _field(record, ("video_id",))
    if video_id and not VIDEO_ID.match(video_id):
        raise Refused(f"video_id {video_id[:80]!r} must be 1-64 letters, digits, '_', '-' or '.'")
    try:
        check_video_file(path)
    except NotAVideo as exc:
        raise Refused(f"{relative} is refused: {exc}") from None
    prompt, new_prompt = _prompt(where, record, default_type)
    prompt_id = prompt.id if prompt else new_prompt["id"]
    video_text = _field(record, ("video_text",)) or (prompt.text if prompt else new_prompt["text"])
    if "\x00" in video_text:
        raise Refused("video_text contains a NUL character")

    if not video_id:
        # Same id as a video generated here from this prompt, generator and seed; else the file's hash.
        video_id = stable_id("video", prompt_id, generator.name, seed) if seed is not None \
            else stable_id("video", prompt_id, generator.name, "sha256", file_sha256(path))
    existing = Video.objects.filter(id=video_id).values_list("prompt_id", "generator_id").first()
    if existing:
        if existing != (prompt_id, generator.id):
            raise Refused(f"video_id {video_id} is already used by a video of another prompt or generator")
        report.existing += 1
        return
    _store_video(path, relative, video_id, prompt, new_prompt, source, generator, seed, video_text, report)


def _seed(record: dict) -> int | None:
    value = record.get("seed")
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) \
            or (isinstance(value, str) and not re.fullmatch(r"\s*[0-9]{1,19}\s*", value)):
        raise Refused(f"seed must be a whole number, got {str(value)[:40]!r}")
    seed = int(value)
    if not 0 <= seed <= MAX_BIGINT:
        raise Refused(f"seed must be between 0 and {MAX_BIGINT}")
    return seed


def _prompt(where: str, record: dict, default_type: str | None) -> tuple[Prompt | None, dict | None]:
    """(an existing prompt, None) or (None, the fields of a new one). Creates nothing."""
    prompt_id = _field(record, ("prompt_id",))
    text = _field(record, ("prompt_text", "prompt"))
    prompt = None
    if prompt_id:
        prompt = Prompt.objects.filter(id=prompt_id).first()
    if prompt is None and text:
        prompt = Prompt.objects.filter(text_hash=text_hash(text)).first()
    if prompt is not None:
        return prompt, None
    if not text:
        raise Refused(f"unknown prompt_id {prompt_id[:80]!r}: import the prompt first, or give prompt_text "
                      "and prompt_type" if prompt_id else "missing prompt_id or prompt_text")
    try:
        row = parse_record(where, {**record, "prompt_text": text}, default_type)
    except PromptImportError as exc:
        hint = " (or pass --default-type)" if exc.field_name == "prompt_type" else ""
        raise Refused(f"new prompt, field {exc.field_name!r}: {exc.message}{hint}") from None
    return None, row


def _store_video(path: Path, relative: str, video_id: str, prompt: Prompt | None, new_prompt: dict | None,
                 source: str, generator: Generator, seed: int | None, video_text: str,
                 report: VideoImportReport) -> None:
    with scratch_dir() as tmp:
        target = Path(tmp) / f"{video_id}.mp4"
        try:
            ready = browser_ready(path)
            if ready:
                shutil.copyfile(path, target)
            else:
                transcode_mp4(path, target)
            info = probe(target)
            if info.num_frames < 2 or info.fps <= 0:
                raise ValueError("a still image or a stream without a frame rate, not a video")
            poster = poster_from_file(target, info.num_frames // 2)
        except (av.error.FFmpegError, ValueError, IndexError, StopIteration) as exc:
            raise Refused(f"{relative} is not a readable video ({exc})") from None
        video = Video(id=video_id, prompt_id=prompt.id if prompt else new_prompt["id"], generator=generator,
                      video_text=video_text, seed=seed, origin=Origin.IMPORTED)
        store_file(video.file, target)
    store_bytes(video.poster, poster, "poster.jpg")
    set_info(video, info)
    try:
        # The new prompt and its video are written together: a refused record leaves neither.
        with transaction.atomic():
            if new_prompt is not None:
                prompt = _create_prompt(new_prompt, source)
            video.prompt = prompt
            video.save(force_insert=True)
    except (IntegrityError, Refused) as exc:
        video.file.delete(save=False)
        video.poster.delete(save=False)
        if isinstance(exc, Refused):
            raise
        report.existing += 1  # imported meanwhile by a concurrent run
        return
    report.prompts_created += new_prompt is not None
    report.imported += 1
    report.reencoded += not ready


def _create_prompt(row: dict, source: str) -> Prompt:
    try:
        with transaction.atomic():
            return Prompt.objects.create(source=source, **row)
    except IntegrityError:
        existing = Prompt.objects.filter(text_hash=row["text_hash"], id=row["id"]).first()
        if existing is not None:  # created meanwhile by another record or run
            return existing
        raise Refused(f"prompt_id {row['id']} is already used by a different prompt") from None
