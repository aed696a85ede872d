"""The dataset card (hf/README.md) and its charts (hf/images/*.png).

The YAML header declares the configs, their data files, features and split sizes, so
`load_dataset("<release>/hf", "pairs")` and the hub viewer know the dataset without guessing.
Charts are drawn with matplotlib's object API (no pyplot global state) and without metadata, so
the same figures give the same bytes.
"""

from pathlib import Path

import yaml

from safesora.taxonomy import HARM_CATEGORIES, PREFERENCE_QUESTIONS, QUESTIONS

from .hf_dataset import yaml_features
from .options import ExportOptions
from .stats import Stats

QUESTION_NAMES = {q.key: q.name for q in QUESTIONS}


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "n>10M"


def declared(configs: dict) -> dict:
    """The configs and splits the card declares: those with rows.

    `datasets` cannot load a declared split that has no rows ("Instruction 'test' corresponds to
    no data"), so an empty split is left out of the card (its empty shard stays on disk) and a
    config with no rows at all is not declared.
    """
    kept = {}
    for name, info in configs.items():
        splits = [s for s in info["splits"] if s["num_examples"] > 0]
        if splits:
            kept[name] = {**info, "splits": splits}
    return kept


def header(options: ExportOptions, configs: dict) -> dict:
    pairs = sum(s["num_examples"] for s in configs["pairs"]["splits"])
    configs = declared(configs)
    return {
        "license": options.license,
        "language": ["en"],
        "pretty_name": options.name,
        "task_categories": ["text-to-video"],
        "tags": ["human-feedback", "preference", "ai-safety", "text-to-video", "safesora"],
        "size_categories": [size_category(pairs)],
        "configs": [
            {"config_name": name, **({"default": True} if name == "pairs" else {}),
             "data_files": [{"split": s["name"], "path": f"data/{name}/{s['name']}-*.parquet"}
                            for s in info["splits"]]}
            for name, info in configs.items()
        ],
        "dataset_info": [
            {"config_name": name, "features": yaml_features(info["features"]),
             "splits": [{"name": s["name"], "num_bytes": s["num_bytes"], "num_examples": s["num_examples"]}
                        for s in info["splits"]],
             "download_size": sum(s["download_bytes"] for s in info["splits"]),
             "dataset_size": sum(s["num_bytes"] for s in info["splits"])}
            for name, info in configs.items()
        ],
    }


def _not_declared(configs: dict) -> str:
    kept = declared(configs)
    empty = [f"`{name}`" if name not in kept else
             f"`{name}` {'/'.join(s['name'] for s in info['splits'] if s['num_examples'] == 0)}"
             for name, info in configs.items()
             if name not in kept or len(kept[name]["splits"]) < len(info["splits"])]
    return f" (empty here: {', '.join(empty)})" if empty else ""


def _table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def body(options: ExportOptions, configs: dict, stats: Stats) -> str:
    summary = stats.summary()
    counts = {name: {s["name"]: s["num_examples"] for s in info["splits"]} for name, info in configs.items()}
    splits = ["train", "test", "eval"]
    count_rows = [[f"`{name}`", *[by_split.get(s, "") for s in splits]] for name, by_split in counts.items()]
    harm_rows = [[c.code, f"`{c.key}`", c.name, summary["harm_labels"][c.key],
                  _pct(summary["harm_labels"][c.key], stats.videos)] for c in HARM_CATEGORIES]
    agreement_rows = [[QUESTION_NAMES[q], f"`{q}`",
                       "-" if summary["mean_agreement"][q] is None else f"{summary['mean_agreement'][q]:.3f}",
                       summary["choices"][q]["video_0"], summary["choices"][q]["video_1"],
                       summary["undecided_by_question"][q]] for q in PREFERENCE_QUESTIONS]
    generator_rows = [[f"`{g}`", info["videos"], _pct(info["unsafe_videos"], info["videos"]), info["pairs"],
                       *["-" if info["win_rate"][q] is None else f"{info['win_rate'][q]:.3f}"
                         for q in ("helpfulness", "harmlessness")]]
                      for g, info in summary["generators"].items()]
    filters = options.to_json()
    return f"""
# {options.name}

A text-to-video safety preference dataset in the format of
[SafeSora](https://huggingface.co/datasets/PKU-Alignment/SafeSora): crowdworkers compared two
videos generated for the same prompt on helpfulness (four sub-dimensions and overall) and
harmlessness, and labelled each video against 12 harm categories.

## Configs

- `pairs` (default): one row per compared pair. `helpfulness`, `harmlessness` and
  `sub_preferences.*` are class labels (`video_0` / `video_1`); a null means the annotators
  tied (or agreed less than the export's minimum), so the question is undecided for that pair.
  `agreement.*` is the share of annotators who gave the majority answer.
- `videos`: one row per video, with its aggregated `is_safe` and 12 `video_labels`.
- `prompts`: the prompts of the pairs, by split; `eval` holds held-out evaluation prompts.
- `trl_<dimension>`: `prompt`, `chosen`, `rejected` for TRL's reward and DPO trainers, one config
  per dimension (`helpfulness`, `harmlessness`, and each sub-dimension).

`video_path`, `chosen` and `rejected` are paths relative to this folder (`videos/<prompt_id>/<video_id>.mp4`).

```python
from datasets import load_dataset
pairs = load_dataset("path/to/this/folder", "pairs")             # or the hub repo id
dpo = load_dataset("path/to/this/folder", "trl_harmlessness")
```

Splits are by prompt: no prompt appears in two splits. A split (or config) with no rows is not
declared above, so every declared split loads{_not_declared(configs)}.

## Counts

{_table(["config", *splits], count_rows)}

Pairs left out: {", ".join(f"{k}: {v}" for k, v in summary["pairs_skipped"].items()) or "none"}.
Pairs kept but undecided on at least one question: {summary["pairs_undecided"]}
(they are not in the SafeSora-format release). Reviewed pairs: {summary["pairs_reviewed"]}.
Annotations: {summary["annotations"]}.

## Harm taxonomy and label distribution

{stats.videos} videos, {summary["videos_safe"]} ({_pct(summary["videos_safe"], stats.videos)}) safe.

![Harm labels](images/harm_labels.png)

{_table(["code", "key", "category", "videos", "share"], harm_rows)}

## Agreement

Share of annotators agreeing with the majority answer, averaged over pairs; the choice counts
show whether one side (left/right) was favoured.

![Agreement](images/agreement.png)

{_table(["question", "key", "mean agreement", "video_0", "video_1", "undecided"], agreement_rows)}

## Generators

Win rate: share of the pairs a generator appears in where its video was chosen.

![Generators](images/generators.png)

{_table(["generator", "videos", "unsafe", "pairs", "helpfulness win rate", "harmlessness win rate"],
        generator_rows)}

## How the labels were aggregated

Majority vote per question; a pairwise tie leaves the question undecided; a harm category is
set when at least half of the annotators set it (ties resolve to harmful) and a video with any
harm label is not safe; a reviewer's answer overrides the annotators.

Export settings: `{filters}`

## License

{options.license}

## Citation

The format follows SafeSora:

```bibtex
@article{{SafeSora2024,
  title   = {{SafeSora: Towards Safety Alignment of Text2Video Generation via a Human Preference Dataset}},
  author  = {{Josef Dai and Tianle Chen and Xuyao Wang and Ziran Yang and Taiye Chen and Jiaming Ji and Yaodong Yang}},
  year    = {{2024}}
}}
```
"""


def charts(folder: Path, stats: Stats) -> None:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    summary = stats.summary()

    def save(fig, name: str) -> None:
        FigureCanvasAgg(fig)
        fig.tight_layout()
        fig.savefig(folder / name, format="png", dpi=100, metadata={"Software": None})

    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    names = [f"{c.code} {c.name}" for c in HARM_CATEGORIES][::-1]
    values = [summary["harm_labels"][c.key] for c in HARM_CATEGORIES][::-1]
    ax.barh(names, values, color="#c0392b")
    ax.set_xlabel("videos labelled")
    ax.set_title(f"Harm labels of {stats.videos} videos ({summary['videos_safe']} safe)")
    ax.tick_params(axis="y", labelsize=8)
    save(fig, "harm_labels.png")

    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    labels = [QUESTION_NAMES[q] for q in PREFERENCE_QUESTIONS]
    levels = sorted({float(k) for q in PREFERENCE_QUESTIONS for k in summary["agreement_histogram"][q]})
    bottom = [0] * len(PREFERENCE_QUESTIONS)
    colours = matplotlib.colormaps["RdYlGn"]
    for level in levels:
        heights = [summary["agreement_histogram"][q].get(f"{level:.2f}", 0) for q in PREFERENCE_QUESTIONS]
        ax.bar(labels, heights, bottom=bottom, label=f"{level:.2f}", color=colours(max(0.0, 2 * level - 1)))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("pairs")
    ax.set_title("Annotator agreement with the majority")
    ax.tick_params(axis="x", labelsize=7)
    if levels:
        ax.legend(title="agreement", fontsize=7)
    save(fig, "agreement.png")

    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    generators = list(summary["generators"])
    width = 0.27
    series = [
        ("helpfulness win rate", [summary["generators"][g]["win_rate"]["helpfulness"] or 0 for g in generators]),
        ("harmlessness win rate", [summary["generators"][g]["win_rate"]["harmlessness"] or 0 for g in generators]),
        ("unsafe share", [summary["generators"][g]["unsafe_videos"] / summary["generators"][g]["videos"]
                          if summary["generators"][g]["videos"] else 0 for g in generators]),
    ]
    for i, (label, values) in enumerate(series):
        ax.bar([x + (i - 1) * width for x in range(len(generators))], values, width, label=label)
    ax.set_xticks(range(len(generators)), generators, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("Generators")
    ax.legend(fontsize=7)
    save(fig, "generators.png")


def write(folder: Path, options: ExportOptions, configs: dict, stats: Stats) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = "---\n" + yaml.safe_dump(header(options, configs), sort_keys=False, allow_unicode=True) + "---\n"
    (folder / "README.md").write_text(text + body(options, configs, stats), encoding="utf-8")
    charts(folder / "images", stats)
