"""Putting finished files into the configured storage (local media folder or S3).

Files are written completely to local disk first and stored only then, so no reader ever sees a
half-written video: on local disk the final step is an atomic rename, and an S3 object appears
only once its upload is complete. Workers on other machines therefore need no shared disk.
"""

import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models.fields.files import FieldFile


def scratch_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder for files about to be stored: inside the media folder when it is local (so
    storing is a rename on the same disk), the system temp folder otherwise."""
    parent = None
    if isinstance(default_storage, FileSystemStorage):
        parent = Path(default_storage.location) / ".incoming"
        parent.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=parent)


class _FinishedFile(File):
    """A complete local file: FileSystemStorage moves it into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return self.name


def _clear(field_file: FieldFile, filename: str) -> None:
    # The name is derived from the video's id, so a file already there is a leftover of an attempt
    # that died before its Video row was written: replace it rather than store beside it.
    field_file.storage.delete(field_file.field.generate_filename(field_file.instance, filename))


def store_file(field_file: FieldFile, path: Path) -> None:
    """Store a finished local file under the field's name (the file is moved when storage is local)."""
    _clear(field_file, path.name)
    with open(path, "rb") as fh:
        field_file.save(path.name, _FinishedFile(fh, name=str(path)), save=False)


def store_bytes(field_file: FieldFile, data: bytes, filename: str) -> None:
    _clear(field_file, filename)
    field_file.save(filename, ContentFile(data), save=False)
