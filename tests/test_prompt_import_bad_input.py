"""import_prompts refuses broken files with the line (or record) and field, exits 1, writes
nothing, and the admin upload shows the same message (never a traceback or a 500)."""

import gzip
import json

import pytest
from django.core.management import CommandError, call_command

from generation.models import Prompt

pytestmark = pytest.mark.django_db

GOOD = '{"prompt_text": "a cat on a sofa", "prompt_type": "safety_neutral"}\n'


def _gz(data: bytes) -> bytes:
    return gzip.compress(data)


BAD_FILES = [
    # (file name, content, expected where, expected words)
    ("binary.jsonl", GOOD.encode() + bytes(range(256)), "line 2", "NUL character"),
    ("latin1.jsonl", GOOD.encode() + '{"prompt_text": "café", "prompt_type": "safety_neutral"}\n'.encode("latin-1"),
     "line 2", "not UTF-8"),
    ("utf16.jsonl", GOOD.encode("utf-16"), "file", "UTF-16"),
    ("utf16.csv", "prompt_text,prompt_type\nx,safety_neutral\n".encode("utf-16-le"), "line 1", "NUL character"),
    ("truncated.jsonl.gz", _gz(GOOD.encode() * 50)[:-12], "file", "truncated"),
    ("garbage.jsonl.gz", b"\x1f\x8b\x08\x00" + b"garbage" * 20, "file", "not a valid gzip file"),
    ("nul.jsonl", GOOD.encode() + b'{"prompt_text": "a\x00b", "prompt_type": "safety_neutral"}\n', "line 2", "NUL"),
    ("nul_escape.jsonl", GOOD.encode() + b'{"prompt_text": "a\\u0000b", "prompt_type": "safety_neutral"}\n',
     "line 2, field 'prompt_text'", "NUL"),
    ("surrogate.jsonl", b'{"prompt_text": "a\\ud800b", "prompt_type": "safety_neutral"}\n',
     "line 1, field 'prompt_text'", "Unicode"),
    ("nul.csv", b"prompt_text,prompt_type\nx\x00y,safety_neutral\n", "line 2", "NUL"),
    ("nested_labels.jsonl",
     b'{"prompt_text": "x", "prompt_type": "safety_critical", "prompt_labels": [["violence"]]}\n',
     "line 1, field 'prompt_labels'", "unknown harm category"),
    ("deep.jsonl", b'{"prompt_text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "line 1", "nested too deeply"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "file", "nested too deeply"),
    ("digits.jsonl", b'{"prompt_text": "x", "prompt_type": ' + b"9" * 5000 + b"}\n", "line 1", "invalid JSON"),
    ("long_field.csv", b"prompt_text,prompt_type\n" + b"y" * 140_000 + b",safety_neutral\n",
     "line 2, field 'prompt_text'", "limit"),
    ("long_text.jsonl", json.dumps({"prompt_text": "z" * 5000, "prompt_type": "safety_neutral"}).encode() + b"\n",
     "line 1, field 'prompt_text'", "PROMPT_MAX_CHARS"),
]


@pytest.mark.parametrize(("name", "content", "where", "words"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_command_names_line_and_field_exits_1_and_writes_nothing(tmp_path, name, content, where, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CommandError) as refused:
        call_command("import_prompts", str(path), "--no-progress")
    message = str(refused.value)
    assert f"{name}: {where}" in message and words in message and "Nothing was imported" in message
    assert refused.value.returncode == 1
    assert Prompt.objects.count() == 0


def test_file_over_the_size_limit_is_refused(tmp_path, settings):
    settings.PROMPT_IMPORT_MAX_BYTES = 1000
    path = tmp_path / "big.jsonl"
    path.write_text(GOOD * 100)
    with pytest.raises(CommandError, match="larger than 1,000 bytes"):
        call_command("import_prompts", str(path), "--no-progress")
    bomb = tmp_path / "bomb.jsonl.gz"
    bomb.write_bytes(_gz(GOOD.encode() * 100))  # small on disk, 7 kB once unpacked
    assert bomb.stat().st_size < 1000
    with pytest.raises(CommandError, match="uncompressed content is larger than 1,000 bytes"):
        call_command("import_prompts", str(bomb), "--no-progress")
    assert Prompt.objects.count() == 0


@pytest.mark.parametrize(("name", "content", "where", "words"),
                         [BAD_FILES[0], BAD_FILES[4], BAD_FILES[10], BAD_FILES[11], BAD_FILES[14]],
                         ids=["binary", "truncated-gz", "nested-labels", "deep", "long-csv-field"])
def test_admin_upload_shows_the_message(client, staff_user, tmp_path, name, content, where, words):
    client.force_login(staff_user)
    path = tmp_path / name
    path.write_bytes(content)
    with path.open("rb") as fh:
        response = client.post("/admin/generation/prompt/import/", {"file": fh})
    assert response.status_code == 200
    page = response.content.decode()
    assert where.replace("'", "&#x27;") in page and words in page and "Nothing was imported" in page
    assert Prompt.objects.count() == 0


def test_admin_upload_over_the_size_limit(client, staff_user, tmp_path, settings):
    settings.PROMPT_IMPORT_MAX_BYTES = 100
    client.force_login(staff_user)
    path = tmp_path / "big.jsonl"
    path.write_text(GOOD * 10)
    with path.open("rb") as fh:
        response = client.post("/admin/generation/prompt/import/", {"file": fh})
    assert response.status_code == 200 and "larger than 100 bytes" in response.content.decode()
    assert Prompt.objects.count() == 0
