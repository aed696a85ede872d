"""Putting video files into a release without copying bytes that need not be copied.

The first copy of a video comes from the media storage: a hard link when the storage is a local
folder on the same filesystem, a file copy when it is another filesystem, and a streamed
download when it is S3-compatible storage. Every further place the release lists the video is
a hard link to that first copy.
"""

import errno
import os
import shutil
from pathlib import Path

from django.core.files.storage import Storage, default_storage


class VideoMissing(Exception):
    pass


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, target)


def place(storage_name: str, targets: list[Path], storage: Storage = default_storage) -> None:
    """Make `targets` hold the stored video `storage_name`."""
    first, *others = targets
    first.parent.mkdir(parents=True, exist_ok=True)
    try:
        local = Path(storage.path(storage_name))
    except NotImplementedError:  # remote storage: stream it
        local = None
    if local is not None:
        if not local.is_file():
            raise VideoMissing(f"video file {storage_name} is missing from the media folder")
        _link_or_copy(local, first)
    else:
        if not storage.exists(storage_name):
            raise VideoMissing(f"video file {storage_name} is missing from the media storage")
        with storage.open(storage_name, "rb") as src, open(first, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    for target in others:
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(first, target)
