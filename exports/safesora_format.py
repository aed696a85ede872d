"""The SafeSora release: the same files, names and record shapes as PKU-Alignment's hub repos.

    safesora/preference/config-train.json.gz   pair records   (as PKU-Alignment/SafeSora)
    safesora/preference/config-test.json.gz
    safesora/preference/videos/<prompt_id>/<video_id>.mp4
    safesora/label/config-train.json.gz        video records  (as PKU-Alignment/SafeSora-Label)
    safesora/label/config-test.json.gz
    safesora/label/videos/<prompt_id>/<video_id>.mp4
    safesora/eval/eval-prompt.json.gz          prompt records (as PKU-Alignment/SafeSora-Eval)

Each folder stands alone as its hub repo does (`video_path` is relative to it), so SafeSora's
own loader reads it unchanged; the video files are hard links to one copy.

Each config file is one JSON list, written record by record into gzip (never the whole list in
memory), with mtime 0 and no file name in the gzip header: the same data gives the same bytes.
"""

import gzip
import io
import json
from pathlib import Path

from .records import SPLITS

PREFERENCE_DIR = "safesora/preference"
LABEL_DIR = "safesora/label"
EVAL_FILE = "safesora/eval/eval-prompt.json.gz"


class JsonListWriter:
    """Append records to a gzipped JSON list, one at a time."""

    def __init__(self, path: Path, compresslevel: int = 3):  # 3: twice as fast as 6, ~15% larger
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(path, "wb")  # noqa: SIM115 (closed in close())
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=compresslevel)
        self._out = io.BufferedWriter(self._gzip, buffer_size=1 << 20)
        self._out.write(b"[")
        self.count = 0

    def write(self, record: dict | str) -> None:
        """Append a record (a dict, or its JSON text)."""
        text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
        self._out.write((",\n" if self.count else "\n").encode())
        self._out.write(text.encode("utf-8"))
        self.count += 1

    def close(self) -> None:
        self._out.write(b"\n]\n" if self.count else b"]\n")
        self._out.close()  # closes the gzip stream and writes its trailer
        self._raw.close()


class SafeSoraWriter:
    def __init__(self, root: Path):
        self.pairs = {split: JsonListWriter(root / PREFERENCE_DIR / f"config-{split}.json.gz") for split in SPLITS}
        self.videos = {split: JsonListWriter(root / LABEL_DIR / f"config-{split}.json.gz") for split in SPLITS}
        self.eval = JsonListWriter(root / EVAL_FILE)

    def close(self) -> None:
        for writer in [*self.pairs.values(), *self.videos.values(), self.eval]:
            writer.close()

    def counts(self) -> dict:
        return {
            "preference": {split: w.count for split, w in self.pairs.items()},
            "label": {split: w.count for split, w in self.videos.items()},
            "eval_prompts": self.eval.count,
        }
