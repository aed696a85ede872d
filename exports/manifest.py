"""manifest.json and SHA256SUMS: what a release holds, how it was made, the sha256 of every file.

Both are written streaming: the video entries come from a side file the builder appends to as
it places videos (each hashed once however many folders link it), so memory does not grow with
the number of videos. `sha256sum -c SHA256SUMS` in the release folder checks every file.
"""

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from importlib import metadata
from pathlib import Path

from django.conf import settings

from generation.encoding import file_sha256

from .options import ExportOptions

MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
VIDEO_INDEX = ".video-index.jsonl"  # removed once the manifest is written
FORMAT_VERSION = 1


@cache
def code_version() -> str:
    """`git describe` of the running code when it is a git checkout, else the package version."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=settings.BASE_DIR,
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return f"git {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"safesora-platform {metadata.version('safesora-platform')}"
    except metadata.PackageNotFoundError:
        return "unknown"


class VideoIndex:
    """The side file of placed videos: one JSON line per video with its paths, size and sha256."""

    def __init__(self, root: Path):
        self._file = open(root / VIDEO_INDEX, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def add(self, root: Path, paths: list[Path]) -> None:
        first = paths[0]
        entry = {"paths": [p.relative_to(root).as_posix() for p in paths], "size": first.stat().st_size,
                 "sha256": file_sha256(first)}
        self._file.write(json.dumps(entry) + "\n")

    def close(self) -> None:
        self._file.close()


def _entries(root: Path, video_dirs: set[str]) -> Iterator[dict]:
    """Every file but the manifest's own, videos last (in the order they were placed)."""
    for folder, dirs, names in os.walk(root):
        base = Path(folder).relative_to(root)
        dirs[:] = sorted(d for d in dirs if (base / d).as_posix() not in video_dirs)
        for name in sorted(names):
            relative = (base / name).as_posix()
            if relative in (MANIFEST, CHECKSUMS, VIDEO_INDEX):
                continue
            path = Path(folder) / name
            yield {"path": relative, "size": path.stat().st_size, "sha256": file_sha256(path)}
    index = root / VIDEO_INDEX
    if index.exists():
        with open(index, encoding="utf-8") as fh:
            for line in fh:
                video = json.loads(line)
                for path in video["paths"]:
                    yield {"path": path, "size": video["size"], "sha256": video["sha256"]}


def write(root: Path, options: ExportOptions, counts: dict, *, video_dirs: set[str], created_at: datetime) -> dict:
    """Write manifest.json and SHA256SUMS; return the manifest without its file list."""
    head = {
        "format_version": FORMAT_VERSION,
        "name": options.name,
        "created_at": created_at.isoformat(),
        "code_version": code_version(),
        "options": options.to_json(),
        "counts": counts,
    }
    file_count = total_bytes = 0
    with open(root / MANIFEST, "w", encoding="utf-8") as out, open(root / CHECKSUMS, "w", encoding="utf-8") as sums:
        out.write("{\n")
        for key, value in head.items():
            out.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
        out.write('  "files": [')
        for entry in _entries(root, video_dirs):
            out.write(("," if file_count else "") + "\n    " + json.dumps(entry, ensure_ascii=False))
            sums.write(f"{entry['sha256']}  {entry['path']}\n")
            file_count += 1
            total_bytes += entry["size"]
        out.write("\n  ],\n")
        out.write(f'  "file_count": {file_count},\n  "total_bytes": {total_bytes}\n}}\n')
    (root / VIDEO_INDEX).unlink(missing_ok=True)
    return {**head, "file_count": file_count, "total_bytes": total_bytes}


def read(root: Path) -> dict:
    return json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
