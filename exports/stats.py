"""Counts gathered while an export streams: fixed-size counters, whatever the number of pairs."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS


@dataclass
class Stats:
    # Why pairs were left out.
    pairs_seen: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> pairs
    # Pairs kept in the HF table but not expressible in SafeSora's format.
    undecided: Counter = field(default_factory=Counter)  # question -> pairs undecided on it
    below_agreement: Counter = field(default_factory=Counter)  # question -> answers made undecided
    undecided_pairs: int = 0
    reviewed_pairs: int = 0
    # Label distribution of exported videos.
    videos: int = 0
    safe_videos: int = 0
    harm: Counter = field(default_factory=Counter)  # key -> videos labelled
    # Choices: position balance and per-question agreement.
    choices: dict = field(default_factory=lambda: defaultdict(Counter))  # question -> {video_0: n, video_1: n}
    agreement_sum: Counter = field(default_factory=Counter)
    agreement_n: Counter = field(default_factory=Counter)
    agreement_hist: dict = field(default_factory=lambda: defaultdict(Counter))  # question -> {share: n}
    # Generators.
    generator_videos: Counter = field(default_factory=Counter)
    generator_unsafe: Counter = field(default_factory=Counter)
    generator_wins: dict = field(default_factory=lambda: defaultdict(Counter))  # question -> {generator: wins}
    generator_pairs: Counter = field(default_factory=Counter)  # generator -> pairs it appears in
    prompt_types: Counter = field(default_factory=Counter)
    annotations: int = 0

    def add_pair(self, verdict, generators: tuple[str, str]) -> None:
        self.annotations += verdict.num_annotations
        self.reviewed_pairs += verdict.reviewed
        self.undecided_pairs += not verdict.decided
        self.generator_pairs[generators[0]] += 1
        if generators[1] != generators[0]:
            self.generator_pairs[generators[1]] += 1
        annotated = verdict.num_annotations > 0
        for question, choice in verdict.choices.items():
            if choice is None:
                self.undecided[question] += 1
            else:
                self.choices[question][choice] += 1
                self.generator_wins[question][generators[choice == "video_1"]] += 1
            if annotated:
                share = verdict.agreement[question]
                self.agreement_sum[question] += share
                self.agreement_hist[question][share] += 1  # few distinct values; rounded in summary()
        if annotated:
            for question in verdict.choices:
                self.agreement_n[question] += 1

    def add_video(self, record: dict) -> None:
        self.videos += 1
        self.safe_videos += record["is_safe"]
        self.generator_videos[record["generated_from"]] += 1
        self.generator_unsafe[record["generated_from"]] += not record["is_safe"]
        for key in HARM_KEYS:
            self.harm[key] += record["video_labels"][key]

    def mean_agreement(self) -> dict[str, float | None]:
        return {q: (round(self.agreement_sum[q] / self.agreement_n[q], 4) if self.agreement_n[q] else None)
                for q in PREFERENCE_QUESTIONS}

    def _histogram(self, question: str) -> dict[str, int]:
        bins: Counter = Counter()
        for share, count in self.agreement_hist[question].items():
            bins[f"{share:.2f}"] += count
        return dict(sorted(bins.items()))

    def summary(self) -> dict:
        """The figures for the manifest and the dataset card (JSON-ready, sorted for stable output)."""
        return {
            "pairs_seen": self.pairs_seen,
            "pairs_skipped": dict(sorted(self.skipped.items())),
            "pairs_undecided": self.undecided_pairs,
            "undecided_by_question": {q: self.undecided[q] for q in PREFERENCE_QUESTIONS},
            "below_min_agreement_by_question": {q: self.below_agreement[q] for q in PREFERENCE_QUESTIONS},
            "pairs_reviewed": self.reviewed_pairs,
            "annotations": self.annotations,
            "videos": self.videos,
            "videos_safe": self.safe_videos,
            "harm_labels": {k: self.harm[k] for k in HARM_KEYS},
            "choices": {q: {c: self.choices[q][c] for c in ("video_0", "video_1")} for q in PREFERENCE_QUESTIONS},
            "mean_agreement": self.mean_agreement(),
            "agreement_histogram": {q: self._histogram(q) for q in PREFERENCE_QUESTIONS},
            "generators": {g: {"videos": self.generator_videos[g], "unsafe_videos": self.generator_unsafe[g],
                               "pairs": self.generator_pairs[g],
                               "win_rate": {q: round(self.generator_wins[q][g] / self.generator_pairs[g], 4)
                                            if self.generator_pairs[g] else None
                                            for q in ("helpfulness", "harmlessness")}}
                           for g in sorted(set(self.generator_videos) | set(self.generator_pairs))},
            "prompt_types": dict(sorted(self.prompt_types.items())),
        }
