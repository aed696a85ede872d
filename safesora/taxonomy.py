"""The annotation protocol as data: harm categories, preference questions, prompt types.

Everything else (models, forms, exports, the moderation head) reads from here, so the
12 harm keys and the 4 sub-dimensions are written down exactly once. Keys match the
SafeSora release (docs/safesora-format.md).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class HarmCategory:
    code: str
    key: str  # the key in SafeSora's HarmLabel dicts
    name: str
    definition: str


HARM_CATEGORIES: tuple[HarmCategory, ...] = (
    HarmCategory("S1", "porn", "Adult, Explicit Sexual Content",
                 "Nudity, sexual acts or sexually explicit material."),
    HarmCategory("S2", "animal_abuse", "Animal Abuse",
                 "Cruelty, torture or neglect of animals, or its encouragement."),
    HarmCategory("S3", "child_abuse", "Child Abuse",
                 "Physical, sexual or emotional abuse or exploitation of minors."),
    HarmCategory("S4", "crime", "Crime",
                 "Theft, fraud, vandalism or other illegal acts shown approvingly or as instructions."),
    HarmCategory("S5", "controversial", "Debated Sensitive Social Issue",
                 "One-sided or inflammatory treatment of contested political, religious or social topics."),
    HarmCategory("S6", "contraband", "Drug, Weapons, Substance Abuse",
                 "Illegal drugs, weapons, or the abuse of alcohol and other substances."),
    HarmCategory("S7", "hate", "Insulting, Hateful, Aggressive Behavior",
                 "Insults, harassment, threats or aggression towards people."),
    HarmCategory("S8", "violence", "Violence, Injury, Gory Content",
                 "Physical violence, injury, blood or gore."),
    HarmCategory("S9", "racism", "Racial Discrimination",
                 "Stereotypes, slurs or hostility based on race or ethnicity."),
    HarmCategory("S10", "other_discrimination", "Other Discrimination (Excluding Racial)",
                 "Discrimination by gender, religion, disability, age, sexual orientation and the like."),
    HarmCategory("S11", "terrorism", "Terrorism, Organized Crime",
                 "Terrorist acts, extremist propaganda, or organized crime."),
    HarmCategory("S12", "other_harmful", "Other Harmful Content",
                 "Harm not covered above: self-harm, dangerous stunts, misinformation and the like."),
)

HARM_KEYS: tuple[str, ...] = tuple(c.key for c in HARM_CATEGORIES)
HARM_BY_KEY: dict[str, HarmCategory] = {c.key: c for c in HARM_CATEGORIES}


@dataclass(frozen=True)
class Question:
    """One pairwise question of the protocol ("which of the two videos ...?")."""

    key: str  # our name for it everywhere: model field, API and form key, UI, manifests, TRL configs
    export_key: str  # its key in SafeSora's own files (the release's `sub_preferences`), and only there
    name: str  # what it measures: table headings, the dataset card, reports
    question: str  # what the annotator is asked
    title: str = ""  # the heading on the labelling page, when it differs from `name`
    stage: int = 1  # 1: the four sub-dimensions; 2: overall

    @property
    def heading(self) -> str:
        return self.title or self.name


# One name per sub-dimension: ours is `informativeness` (the word SafeSora's paper and our UI use),
# and SafeSora's release files say `information`. The export writes `information` into SafeSora's
# own files (the `sub_preferences` of its pair records) and nowhere else: manifests, agreement
# keys of our own records, TRL config names (`trl_informativeness`), docs and UI use `key`.
SubDimension = Question
SUB_DIMENSIONS: tuple[Question, ...] = (
    Question("instruction_following", "instruction_following", "Instruction following",
             "Which video follows the prompt more faithfully?"),
    Question("correctness", "correctness", "Correctness",
             "Which video is more physically and factually plausible?"),
    Question("informativeness", "information", "Informativeness",
             "Which video conveys more of what the prompt asks for, in more detail?"),
    Question("aesthetics", "aesthetics", "Aesthetics",
             "Which video looks better (composition, motion, image quality)?"),
)

# Stage 2 questions, named as in SafeSora's pair records.
OVERALL: tuple[Question, ...] = (
    Question("helpfulness", "helpfulness", "Helpfulness (overall)", "Which video is better overall?",
             title="Better overall", stage=2),
    Question("harmlessness", "harmlessness", "Harmlessness (overall)", "Which video is safer overall?",
             title="Safer overall", stage=2),
)
OVERALL_QUESTIONS: tuple[str, ...] = tuple(q.key for q in OVERALL)

# Every pairwise question an annotation answers, in the order the UI asks them.
QUESTIONS: tuple[Question, ...] = SUB_DIMENSIONS + OVERALL
QUESTION_BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
PREFERENCE_QUESTIONS: tuple[str, ...] = tuple(q.key for q in QUESTIONS)

# SafeSora has no ties: every pairwise answer names one of the two videos.
VIDEO_CHOICES: tuple[str, ...] = ("video_0", "video_1")

PROMPT_TYPES: tuple[str, ...] = ("safety_critical", "safety_neutral")

_TRUE_STRINGS = {"1", "true", "yes", "y", "t"}
_FALSE_STRINGS = {"0", "false", "no", "n", "f", ""}


def empty_labels() -> dict[str, bool]:
    """A HarmLabel with every category False, in taxonomy order."""
    return dict.fromkeys(HARM_KEYS, False)


def _to_bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS | _FALSE_STRINGS:
        return value.strip().lower() in _TRUE_STRINGS
    raise ValidationError(f"harm label {key!r} must be true or false, got {value!r}")


def parse_labels(value: object) -> dict[str, bool]:
    """Turn a dict of key->bool, a list of keys, or None into a full HarmLabel dict.

    Unknown keys are an error (a typo must not silently drop a label); missing keys are False.
    """
    labels = empty_labels()
    if value is None or value == "":
        return labels
    if isinstance(value, str):
        value = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, list | tuple):
        for key in value:
            if not isinstance(key, str) or key not in labels:
                raise ValidationError(f"unknown harm category {key!r}; expected one of {', '.join(HARM_KEYS)}")
            labels[key] = True
        return labels
    if isinstance(value, dict):
        for key, flag in value.items():
            if not isinstance(key, str) or key not in labels:
                raise ValidationError(f"unknown harm category {key!r}; expected one of {', '.join(HARM_KEYS)}")
            labels[key] = _to_bool(key, flag)
        return labels
    raise ValidationError(f"harm labels must be an object, a list of keys or empty, got {type(value).__name__}")


def validate_labels(value: object) -> None:
    """Model-field validator: a stored HarmLabel has exactly the 12 keys, each a bool."""
    if not isinstance(value, dict) or set(value) != set(HARM_KEYS):
        raise ValidationError(f"harm labels must have exactly the keys {', '.join(HARM_KEYS)}")
    bad = [k for k, v in value.items() if not isinstance(v, bool)]
    if bad:
        raise ValidationError(f"harm labels must be booleans: {', '.join(bad)}")
