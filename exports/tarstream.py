"""A release folder as a tar.gz byte stream, produced piece by piece for a streaming HTTP response.

No temporary archive and no whole file in memory: each tar header and each 1 MiB block of file
data is compressed and yielded as it is read. Hard-linked copies (the same video in several
folders of a release) are stored once, the others as tar hard-link entries.
"""

import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE


def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def tar_entries(folder: Path, arcname: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The uncompressed tar stream of `folder`, stored under `arcname/`."""
    written = 0
    seen: dict[tuple[int, int], str] = {}  # (device, inode) -> first name, for hard links

    def emit(data: bytes) -> bytes:
        nonlocal written
        written += len(data)
        return data

    for current, dirs, files in os.walk(folder):
        dirs.sort()
        base = Path(current)
        relative = base.relative_to(folder).as_posix()
        name = arcname if relative == "." else f"{arcname}/{relative}"
        stat = base.stat()
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(stat.st_mtime)
        yield emit(_header(info))
        for filename in sorted(files):
            path = base / filename
            stat = path.lstat()
            if not path.is_file() or path.is_symlink():
                continue
            info = tarfile.TarInfo(f"{name}/{filename}")
            info.mode, info.mtime = 0o644, int(stat.st_mtime)
            key = (stat.st_dev, stat.st_ino)
            if stat.st_nlink > 1 and key in seen:
                info.type, info.linkname = tarfile.LNKTYPE, seen[key]
                yield emit(_header(info))
                continue
            if stat.st_nlink > 1:
                seen[key] = info.name
            info.size = stat.st_size
            yield emit(_header(info))
            sent = 0
            with open(path, "rb") as fh:
                while sent < info.size:
                    block = fh.read(min(chunk, info.size - sent))
                    if not block:
                        raise OSError(f"{path} shrank while being archived")
                    sent += len(block)
                    yield emit(block)
            if info.size % BLOCK:
                yield emit(b"\0" * (BLOCK - info.size % BLOCK))
    end = b"\0" * (2 * BLOCK)
    written += len(end)
    yield end + b"\0" * ((RECORD - written % RECORD) % RECORD)


def tar_gz_stream(folder: Path, arcname: str, level: int = 6) -> Iterator[bytes]:
    """`tar_entries` compressed as gzip (mtime 0), in chunks of at least 64 KiB."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    pending: list[bytes] = []
    size = 0
    for piece in tar_entries(folder, arcname):
        out = compressor.compress(piece)
        if out:
            pending.append(out)
            size += len(out)
            if size >= 1 << 16:
                yield b"".join(pending)
                pending, size = [], 0
    pending.append(compressor.flush())
    yield b"".join(pending)
