"""What an export includes and how it is split: one object shared by the command, the form and the task."""

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class OptionsError(ValueError):
    """Export options that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class ExportOptions:
    name: str
    seed: int = 0
    test_fraction: float = 0.1
    # Filters.
    min_agreement: float = 0.0  # answers with lower annotator agreement count as undecided
    complete_only: bool = True  # only pairs with all their required annotations (or a review)
    exclude_gold: bool = True
    generators: tuple[str, ...] = ()  # both videos of a pair from these generators; empty: all
    campaigns: tuple[str, ...] = ()  # campaign names; empty: all
    since: datetime | None = None  # answers given at or after
    until: datetime | None = None  # answers given before
    # Output.
    include_videos: bool = True
    license: str = "cc-by-nc-4.0"
    shard_rows: int = 100_000  # rows per parquet shard
    prompts_per_batch: int = 250

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name or ""):
            raise OptionsError(f"name {self.name!r}: use 1-100 letters, digits, '.', '_' or '-', "
                               "starting with a letter or digit")
        if not 0.0 <= self.test_fraction < 1.0:
            raise OptionsError(f"test fraction must be in [0, 1), got {self.test_fraction}")
        if not 0.0 <= self.min_agreement <= 1.0:
            raise OptionsError(f"minimum agreement must be in [0, 1], got {self.min_agreement}")
        if self.since and self.until and self.since >= self.until:
            raise OptionsError("the date range is empty: 'since' must be before 'until'")
        if self.shard_rows < 1000 or self.prompts_per_batch < 1:
            raise OptionsError("shard_rows must be at least 1000 and prompts_per_batch at least 1")

    def to_json(self) -> dict:
        """The options as stored on ExportRun.options and written to the manifest."""
        data = dataclasses.asdict(self)
        for key in ("since", "until"):
            data[key] = data[key].isoformat() if data[key] else None
        data["generators"], data["campaigns"] = list(self.generators), list(self.campaigns)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ExportOptions":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise OptionsError(f"unknown export options: {', '.join(sorted(unknown))}")
        values = dict(data)
        for key in ("since", "until"):
            if isinstance(values.get(key), str):
                parsed = parse_datetime(values[key])
                if parsed is None:
                    raise OptionsError(f"{key}: not a date-time: {values[key]!r}")
                values[key] = parsed
        for key in ("generators", "campaigns"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)
