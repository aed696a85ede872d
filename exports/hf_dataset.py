"""The Hugging Face `datasets` form: parquet shards per config and split, plus a save_to_disk copy.

    hf/data/<config>/<split>-00000-of-00001.parquet    read by load_dataset("parquet", data_files=...)
                                                        and by load_dataset("<release>/hf", "<config>")
    hf_disk/<config>/<split>/data-00000-of-00001.arrow  read by datasets.load_from_disk("<release>/hf_disk/<config>")

Features are declared the way `datasets` stores them (the "huggingface" key of the Arrow schema
metadata, and dataset_info.json), so booleans load as bool and choices as ClassLabel. They are
written here as plain data rather than through `datasets.Features`, so an export does not pay
for importing `datasets` (and pandas) — the round-trip test loads every file with `datasets`.

Rows are buffered a few thousand at a time and written as one row group / record batch:
memory does not grow with the number of rows.
"""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS, SUB_DIMENSIONS, VIDEO_CHOICES

HF_DIR = "hf"
DISK_DIR = "hf_disk"

# Question keys as SafeSora names them (informativeness -> information), for the fields that
# mirror SafeSora's pair record (`sub_preferences`); everything of our own uses our keys
# (safesora.taxonomy: one name per sub-dimension).
EXPORT_KEY = {d.key: d.export_key for d in SUB_DIMENSIONS} | {"helpfulness": "helpfulness",
                                                               "harmlessness": "harmlessness"}
# TRL dimensions: overall first, then the sub-dimensions.
TRL_DIMENSIONS: tuple[str, ...] = ("helpfulness", "harmlessness") + tuple(d.key for d in SUB_DIMENSIONS)


def value(dtype: str) -> dict:
    return {"dtype": dtype, "_type": "Value"}


def class_label(names) -> dict:
    return {"names": list(names), "_type": "ClassLabel"}


STRING, BOOL = value("string"), value("bool")
CHOICE = class_label(VIDEO_CHOICES)
HARM_LABEL = {key: BOOL for key in HARM_KEYS}
PROMPT_FEATURES = {"prompt_id": STRING, "prompt_text": STRING, "prompt_type": STRING, "prompt_labels": HARM_LABEL}
VIDEO_FEATURES = {
    **PROMPT_FEATURES,
    "video_id": STRING, "video_text": STRING, "video_path": STRING, "is_safe": BOOL, "video_labels": HARM_LABEL,
    "generated_from": STRING,
    "num_votes": value("int32"), "safe_agreement": value("float32"), "reviewed": BOOL,
}
VIDEO_IN_PAIR = {"video_id": STRING, "video_text": STRING, "video_path": STRING, "is_safe": BOOL,
                 "video_labels": HARM_LABEL, "generated_from": STRING}
PAIR_FEATURES = {
    "pair_id": STRING, "prompt_id": STRING, "prompt_text": STRING, "prompt_type": STRING,
    "video_0": VIDEO_IN_PAIR, "video_1": VIDEO_IN_PAIR,
    "helpfulness": CHOICE, "harmlessness": CHOICE,
    "sub_preferences": {d.export_key: CHOICE for d in SUB_DIMENSIONS},
    "agreement": {q: value("float32") for q in PREFERENCE_QUESTIONS},
    "num_annotations": value("int32"), "reviewed": BOOL,
}
TRL_FEATURES = {"prompt": STRING, "chosen": STRING, "rejected": STRING}

_ARROW = {"string": pa.string(), "bool": pa.bool_(), "int32": pa.int32(), "int64": pa.int64(),
          "float32": pa.float32()}


def arrow_type(feature: dict) -> pa.DataType:
    if feature.get("_type") == "Value":
        return _ARROW[feature["dtype"]]
    if feature.get("_type") == "ClassLabel":
        return pa.int64()
    return pa.struct([(name, arrow_type(sub)) for name, sub in feature.items()])


def arrow_schema(features: dict) -> pa.Schema:
    """The Arrow schema, with the features in its metadata as `datasets` writes them."""
    metadata = {"huggingface": json.dumps({"info": {"features": features}})}
    return pa.schema([(name, arrow_type(f)) for name, f in features.items()], metadata=metadata)


def yaml_features(features: dict) -> list[dict]:
    """Features in the list form of a dataset card's `dataset_info`."""
    out = []
    for name, feature in features.items():
        if feature.get("_type") == "Value":
            out.append({"name": name, "dtype": feature["dtype"]})
        elif feature.get("_type") == "ClassLabel":
            names = {str(i): label for i, label in enumerate(feature["names"])}
            out.append({"name": name, "dtype": {"class_label": {"names": names}}})
        else:
            out.append({"name": name, "struct": yaml_features(feature)})
    return out


class ShardedWriter:
    """One split of one config: parquet shards in hf/, the same rows as Arrow files in hf_disk/."""

    def __init__(self, root: Path, config: str, split: str, features: dict, *, shard_rows: int,
                 flush_rows: int = 2048):
        self.root, self.config, self.split, self.features = root, config, split, features
        self.schema = arrow_schema(features)
        self.shard_rows, self.flush_rows = shard_rows, flush_rows
        self.parquet_dir = root / HF_DIR / "data" / config
        self.disk_dir = root / DISK_DIR / config / split
        self.parquet_dir.mkdir(parents=True, exist_ok=True)
        self.disk_dir.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self._rows: list[dict] = []
        self._shards: list[tuple[Path, Path]] = []
        self._parquet = self._arrow = None
        self._in_shard = 0
        self.listeners: list = []  # called with every batch written (the TRL configs derive from pairs)

    def add(self, row: dict) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.flush_rows:
            self._flush()

    def _flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            self.write_batch(pa.RecordBatch.from_pylist(rows, schema=self.schema))

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Append ready-made rows (one row group), starting a new shard every `shard_rows` rows."""
        offset = 0
        while offset < batch.num_rows:
            if self._parquet is None or self._in_shard >= self.shard_rows:
                self._close_shard()
                self._open_shard()
            part = batch.slice(offset, min(batch.num_rows - offset, self.shard_rows - self._in_shard))
            self._parquet.write_batch(part)
            self._arrow.write_batch(part)
            self._in_shard += part.num_rows
            self.count += part.num_rows
            offset += part.num_rows
        for listener in self.listeners:
            listener(batch)

    def _open_shard(self) -> None:
        index = len(self._shards)
        parquet_path = self.parquet_dir / f"{self.split}-{index:05d}.parquet.part"
        arrow_path = self.disk_dir / f"data-{index:05d}.arrow.part"
        self._shards.append((parquet_path, arrow_path))
        self._parquet = pq.ParquetWriter(parquet_path, self.schema, compression="zstd")
        self._arrow = pa.ipc.new_stream(str(arrow_path), self.schema)
        self._in_shard = 0

    def _close_shard(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._arrow.close()
            self._parquet = self._arrow = None

    def close(self) -> dict:
        """Finish the shards, name them `-of-N`, write the save_to_disk metadata; return the split's info."""
        self._flush()
        if not self._shards:
            self._open_shard()  # an empty split still has its (empty) file, so data_files resolve
        self._close_shard()
        total = len(self._shards)
        disk_files = []
        num_bytes = download_bytes = 0
        for index, (parquet_path, arrow_path) in enumerate(self._shards):
            download_bytes += parquet_path.stat().st_size
            num_bytes += arrow_path.stat().st_size
            parquet_path.rename(self.parquet_dir / f"{self.split}-{index:05d}-of-{total:05d}.parquet")
            name = f"data-{index:05d}-of-{total:05d}.arrow"
            arrow_path.rename(self.disk_dir / name)
            disk_files.append({"filename": name})
        state = {"_data_files": disk_files, "_fingerprint": f"{self.config}-{self.split}-{self.count}",
                 "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
                 "_output_all_columns": False, "_split": self.split}
        (self.disk_dir / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True))
        split = {"name": self.split, "num_bytes": num_bytes, "num_examples": self.count}
        info = {"builder_name": "parquet", "config_name": self.config, "description": "",
                "features": self.features, "splits": {self.split: split}}
        (self.disk_dir / "dataset_info.json").write_text(json.dumps(info, indent=2))
        return {**split, "download_bytes": download_bytes}


class ConfigWriter:
    """All splits of one config (e.g. `pairs`: train and test)."""

    def __init__(self, root: Path, config: str, splits: tuple[str, ...], features: dict, *, shard_rows: int):
        self.root, self.config, self.features = root, config, features
        self.splits = {s: ShardedWriter(root, config, s, features, shard_rows=shard_rows) for s in splits}

    def add(self, split: str, row: dict) -> None:
        self.splits[split].add(row)

    def close(self) -> dict:
        infos = [writer.close() for writer in self.splits.values()]
        (self.root / DISK_DIR / self.config / "dataset_dict.json").write_text(
            json.dumps({"splits": list(self.splits)}))
        return {"config_name": self.config, "splits": infos, "features": self.features}


def choice_index(choice: str | None) -> int | None:
    return None if choice is None else VIDEO_CHOICES.index(choice)


def trl_batch(pairs: pa.RecordBatch, dimension: str, schema: pa.Schema) -> pa.RecordBatch:
    """TRL preference rows (prompt, chosen, rejected) of the pairs decided on `dimension`, computed column-wise."""
    key = EXPORT_KEY[dimension]
    if dimension in ("helpfulness", "harmlessness"):
        choice = pairs.column(key)
    else:
        choice = pairs.column("sub_preferences").field(key)
    first = pc.equal(choice, 0)
    path_0 = pairs.column("video_0").field("video_path")
    path_1 = pairs.column("video_1").field("video_path")
    rows = pa.RecordBatch.from_arrays(
        [pairs.column("prompt_text"), pc.if_else(first, path_0, path_1), pc.if_else(first, path_1, path_0)],
        schema=schema)
    return rows.filter(pc.is_valid(choice))
