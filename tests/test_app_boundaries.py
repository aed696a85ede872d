"""Data flows one way (README, Layout): generation imports no later stage, and test support lives in tests/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LATER_STAGES = {"generation": {"annotation", "exports", "moderation"}, "annotation": {"exports", "moderation"}}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_earlier_stages_import_no_later_one():
    offences = []
    for app, later in LATER_STAGES.items():
        for path in sorted((ROOT / app).rglob("*.py")):
            bad = imported_packages(path) & later
            if bad:
                offences.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert offences == []


def test_the_demo_command_is_the_projects_and_synthetic_data_is_test_support():
    assert (ROOT / "safesora" / "management" / "commands" / "demo.py").is_file()
    assert not (ROOT / "generation" / "management" / "commands" / "demo.py").exists()
    assert not (ROOT / "moderation" / "synthetic.py").exists()
    assert (ROOT / "tests" / "synthetic_clips.py").is_file()
