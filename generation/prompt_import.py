"""Import prompts from JSONL, a JSON list, CSV, or SafeSora's own eval file (gzipped or not).

All-or-nothing: every record is parsed and checked before anything is written, and the
first bad record stops the import with its line (or record number) and field. Prompts whose
normalized text already exists, in the database or earlier in the file, are skipped and reported.
"""

import csv
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from safesora.db import bulk_insert
from safesora.taxonomy import HARM_KEYS, PROMPT_TYPES, parse_labels

from .models import Prompt, Split, normalize_text, text_hash

TEXT_FIELDS = ("prompt_text", "text", "prompt")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
BATCH = 2000


class PromptImportError(Exception):
    """A record that cannot be imported. Nothing of the file was written."""

    def __init__(self, where: str, field_name: str | None, message: str):
        self.where, self.field_name, self.message = where, field_name, message
        prefix = f"{where}, field {field_name!r}" if field_name else where
        super().__init__(f"{prefix}: {message}")


@dataclass
class ImportReport:
    created: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (where, text) of skipped records
    records: int = 0

    def summary(self) -> str:
        return f"{self.records} records: {self.created} prompts created, {len(self.duplicates)} duplicates skipped"


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress with a bound on the output (a small .gz can expand to gigabytes)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise PromptImportError("file", None, f"not a valid gzip file ({exc})") from None
    if len(data) > limit:
        raise PromptImportError("file", None, f"uncompressed content is larger than {limit:,} bytes "
                                "(PROMPT_IMPORT_MAX_BYTES)")
    if not inflater.eof:
        raise PromptImportError("file", None, "the gzip file is truncated (it ends before its end marker)")
    return data


def read_text(path: Path) -> str:
    """The file as text: gunzipped when gzipped, UTF-8 (a BOM is allowed), no NUL characters.

    Anything else (a binary file, latin-1 or UTF-16 text, a broken .gz, a file over
    PROMPT_IMPORT_MAX_BYTES) raises PromptImportError naming the line.
    """
    limit = settings.PROMPT_IMPORT_MAX_BYTES
    if path.stat().st_size > limit:
        raise PromptImportError("file", None, f"larger than {limit:,} bytes (PROMPT_IMPORT_MAX_BYTES)")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, limit)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise PromptImportError("file", None, "the file is UTF-16 text; save it as UTF-8")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise PromptImportError(f"line {_line_of(raw, nul)}", None,
                                "contains a NUL character (a binary or UTF-16 file?); save the file as UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start:exc.start + 1].hex()
        raise PromptImportError(f"line {_line_of(raw, exc.start)}", None,
                                f"not UTF-8 text (byte 0x{byte}); save the file as UTF-8") from None


def _open_text(path: Path) -> IO[str]:
    return io.StringIO(read_text(path), newline="")


def detect_format(path: Path) -> str:
    """By extension (ignoring .gz); for .json, a file starting with '[' is a list, else JSONL."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = suffixes[-1] if suffixes else ""
    if ext == ".csv":
        return "csv"
    if ext == ".jsonl":
        return "jsonl"
    if ext == ".json":
        with _open_text(path) as fh:
            head = fh.read(4096).lstrip()
        return "json" if head.startswith("[") else "jsonl"
    raise PromptImportError(path.name, None, "unknown file type; use .jsonl, .json, .csv (optionally .gz)")


def _json(text: str, where: str) -> object:
    """json.loads, with every way it can fail (deep nesting, huge numbers) as a PromptImportError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line = f"line {exc.lineno}" if where == "file" else where
        raise PromptImportError(line, None, f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise PromptImportError(where, None, "invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer over 4,300 digits
        raise PromptImportError(where, None, f"invalid JSON ({exc})") from None


def read_records(path: Path, fmt: str | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (where, record) pairs; `where` names the line or record for error messages."""
    fmt = fmt or detect_format(path)
    with _open_text(path) as fh:
        if fmt == "jsonl":
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                yield f"line {number}", _json(line, f"line {number}")
        elif fmt == "json":
            records = _json(fh.read(), "file")
            if not isinstance(records, list):
                raise PromptImportError("file", None, "a .json file must hold a list of records")
            for number, record in enumerate(records, start=1):
                yield f"record {number}", record
        elif fmt == "csv":
            # csv refuses fields over 131,072 characters without naming them; let it read any field
            # (the file is bounded by PROMPT_IMPORT_MAX_BYTES) so the field checks name the column.
            previous = csv.field_size_limit(max(csv.field_size_limit(), settings.PROMPT_IMPORT_MAX_BYTES))
            try:
                yield from _csv_records(csv.DictReader(fh))
            finally:
                csv.field_size_limit(previous)
        else:
            raise PromptImportError("file", None, f"unknown format {fmt!r}")


def _csv_records(reader: csv.DictReader) -> Iterator[tuple[str, dict]]:
    try:
        if not reader.fieldnames or not set(TEXT_FIELDS) & set(reader.fieldnames):
            raise PromptImportError("line 1", None, f"the header needs a text column ({', '.join(TEXT_FIELDS)})")
        for record in reader:
            if None in record:
                raise PromptImportError(f"line {reader.line_num}", None, "more values than header columns")
            yield f"line {reader.line_num}", _csv_labels(record)
    except csv.Error as exc:
        raise PromptImportError(f"line {reader.line_num + 1}", None, f"unreadable CSV ({exc})") from None


def _csv_labels(record: dict) -> dict:
    """CSV gives labels either as one `prompt_labels` column of keys or one column per key."""
    per_key = {k: record.pop(k) for k in HARM_KEYS if k in record}
    if per_key and "prompt_labels" not in record:
        record["prompt_labels"] = per_key
    return record


def parse_record(where: str, record: object, default_type: str | None) -> dict:
    """Validate one record and return the Prompt fields."""
    if not isinstance(record, dict):
        raise PromptImportError(where, None, "a record must be an object")
    text_key = next((k for k in TEXT_FIELDS if k in record), None)
    if text_key is None:
        raise PromptImportError(where, "prompt_text", "missing")
    text = record[text_key]
    if not isinstance(text, str) or not normalize_text(text):
        raise PromptImportError(where, text_key, "must be non-empty text")
    _check_text(where, text_key, text)

    prompt_type = record.get("prompt_type") or default_type
    if prompt_type not in PROMPT_TYPES:
        msg = "missing" if not prompt_type else f"{_show(prompt_type)} is not one of {', '.join(PROMPT_TYPES)}"
        raise PromptImportError(where, "prompt_type", msg)

    try:
        labels = parse_labels(record.get("prompt_labels"))
    except ValidationError as exc:
        raise PromptImportError(where, "prompt_labels", exc.messages[0]) from None

    prompt_id = record.get("prompt_id") or None
    if prompt_id is not None and (not isinstance(prompt_id, str) or not HEX64.match(prompt_id)):
        raise PromptImportError(where, "prompt_id", "must be 64 lowercase hex characters")

    split = record.get("split") or ""
    if split not in Split.values:
        allowed = ", ".join(v for v in Split.values if v)
        raise PromptImportError(where, "split", f"{_show(split)} is not one of {allowed}")

    hashed = text_hash(text)
    return {"id": prompt_id or hashed, "text": text.strip(), "text_hash": hashed, "prompt_type": prompt_type,
            "prompt_labels": labels, "split": split}


def _check_text(where: str, name: str, text: str) -> None:
    """What PostgreSQL and a labelling page can take: no NUL, valid Unicode, a bounded length."""
    if "\x00" in text:
        raise PromptImportError(where, name, "contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PromptImportError(where, name, "is not valid Unicode (a lone surrogate escape such as \\ud800)") from None
    limit = settings.PROMPT_MAX_CHARS
    if len(text.strip()) > limit:
        raise PromptImportError(where, name, f"is {len(text.strip()):,} characters long; the limit is {limit:,} "
                                "(PROMPT_MAX_CHARS)")


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_prompts(
    path: Path | str,
    *,
    source: str | None = None,
    default_type: str | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a prompt file. Raises PromptImportError (and writes nothing) on the first bad record."""
    path = Path(path)
    report = ImportReport()
    rows: dict[str, dict] = {}  # by text hash, first occurrence wins
    wheres: dict[str, str] = {}
    for where, record in read_records(path, fmt):
        report.records += 1
        row = parse_record(where, record, default_type)
        if row["text_hash"] in rows:
            report.duplicates.append((where, row["text"]))
        else:
            rows[row["text_hash"]] = row
            wheres[row["text_hash"]] = where
        if progress and report.records % 1000 == 0:
            progress(1000)
    if progress:
        progress(report.records % 1000)

    _check_ids_unique(rows, wheres)
    existing: set[str] = set()
    for chunk in _chunks(list(rows), BATCH):
        existing.update(Prompt.objects.filter(text_hash__in=chunk).values_list("text_hash", flat=True))
    for hashed in existing:
        report.duplicates.append((wheres[hashed], rows.pop(hashed)["text"]))
    report.duplicates.sort(key=lambda d: _order(d[0]))

    new_ids = [row["id"] for row in rows.values()]
    for chunk in _chunks(new_ids, BATCH):
        taken = Prompt.objects.filter(id__in=chunk).values_list("id", flat=True).first()
        if taken:
            where = next(wheres[h] for h, r in rows.items() if r["id"] == taken)
            raise PromptImportError(where, "prompt_id", "already used by a different prompt")

    source = source if source is not None else path.name
    with transaction.atomic():
        report.created = bulk_insert(Prompt, (Prompt(source=source, **row) for row in rows.values()))
    return report


def _check_ids_unique(rows: dict[str, dict], wheres: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for hashed, row in rows.items():
        if row["id"] in seen:
            raise PromptImportError(wheres[hashed], "prompt_id", f"repeats the id of {wheres[seen[row['id']]]}")
        seen[row["id"]] = hashed


def _order(where: str) -> int:
    return int(where.rsplit(" ", 1)[-1]) if where[-1:].isdigit() else 0
