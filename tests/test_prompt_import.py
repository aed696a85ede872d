import csv
import gzip
import json

import pytest
from django.core.management import CommandError, call_command

from generation.models import Prompt, text_hash
from generation.prompt_import import PromptImportError, import_prompts
from safesora.taxonomy import empty_labels

pytestmark = pytest.mark.django_db


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def rec(text, **extra):
    return {"prompt_text": text, "prompt_type": "safety_neutral", **extra}


def test_jsonl_import_creates_prompts_with_labels(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [
        rec("a cat on a sofa"),
        rec("a street fight", prompt_type="safety_critical", prompt_labels=["violence", "hate"]),
    ])
    report = import_prompts(path)
    assert (report.created, report.duplicates) == (2, [])
    fight = Prompt.objects.get(text="a street fight")
    assert fight.prompt_type == "safety_critical"
    assert fight.prompt_labels == {**empty_labels(), "violence": True, "hate": True}
    assert fight.source == "p.jsonl"
    assert fight.id == text_hash("a street fight")


def test_json_list_and_csv_import(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps([rec("one"), {"text": "two", "prompt_type": "safety_neutral"}]))
    with (tmp_path / "p.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prompt", "prompt_type", "crime", "violence"])
        writer.writerow(["three", "safety_critical", "true", "0"])
        writer.writerow(["four, with a comma", "safety_neutral", "", ""])
    assert import_prompts(tmp_path / "p.json").created == 2
    assert import_prompts(tmp_path / "p.csv").created == 2
    assert Prompt.objects.get(text="three").prompt_labels["crime"] is True
    assert Prompt.objects.count() == 4


def test_safesora_eval_file_keeps_its_ids(tmp_path):
    records = [{"prompt_id": "ab" * 32, "prompt_text": "a knife fight", "prompt_type": "safety_critical",
                "prompt_labels": {**empty_labels(), "violence": True}},
               {"prompt_id": "cd" * 32, "prompt_text": "a sunny beach", "prompt_type": "safety_neutral",
                "prompt_labels": empty_labels()}]
    path = tmp_path / "eval-prompt.json.gz"
    with gzip.open(path, "wt") as fh:
        json.dump(records, fh)
    assert import_prompts(path).created == 2
    prompt = Prompt.objects.get(id="ab" * 32)
    assert prompt.text == "a knife fight" and prompt.prompt_labels["violence"] is True


@pytest.mark.parametrize("lines, where, field", [
    (['{"prompt_text": "ok", "prompt_type": "safety_neutral"}', '{"prompt_text": "x", '], "line 2", None),
    ([json.dumps(rec("ok")), json.dumps({"prompt_type": "safety_neutral"})], "line 2", "prompt_text"),
    ([json.dumps(rec("ok")), json.dumps(rec("   "))], "line 2", "prompt_text"),
    ([json.dumps(rec("ok")), json.dumps(rec("b", prompt_type="nsfw"))], "line 2", "prompt_type"),
    ([json.dumps(rec("ok")), "", json.dumps(rec("b", prompt_labels=["gore"]))], "line 3", "prompt_labels"),
    ([json.dumps(rec("b", prompt_labels={"porn": "maybe"}))], "line 1", "prompt_labels"),
    ([json.dumps(rec("b", prompt_id="123"))], "line 1", "prompt_id"),
    ([json.dumps(rec("b", split="validation"))], "line 1", "split"),
    (['["not", "an", "object"]'], "line 1", None),
])
def test_a_bad_record_names_line_and_field_and_writes_nothing(tmp_path, lines, where, field):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PromptImportError) as info:
        import_prompts(path)
    assert info.value.where == where
    assert info.value.field_name == field
    assert Prompt.objects.count() == 0


def test_bad_csv_row_names_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("prompt_text,prompt_type\nfine,safety_neutral\n\"multi\nline\",safety_neutral\nbad,nope\n")
    with pytest.raises(PromptImportError, match="line 5, field 'prompt_type'"):
        import_prompts(path)
    assert Prompt.objects.count() == 0


def test_json_list_errors_name_the_record(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([rec("fine"), rec("bad", prompt_type=None)]))
    with pytest.raises(PromptImportError, match="record 2, field 'prompt_type'"):
        import_prompts(path)


def test_missing_type_can_take_a_default(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt_text": "no type given"}])
    with pytest.raises(PromptImportError):
        import_prompts(path)
    assert import_prompts(path, default_type="safety_neutral").created == 1


def test_duplicates_are_reported_and_skipped(tmp_path):
    make = write_jsonl(tmp_path / "first.jsonl", [rec("A red fox")])
    import_prompts(make)
    path = write_jsonl(tmp_path / "second.jsonl", [rec("a  red FOX"), rec("new one"), rec("New  one ")])
    report = import_prompts(path)
    assert report.created == 1
    assert [where for where, _ in report.duplicates] == ["line 1", "line 3"]
    assert Prompt.objects.count() == 2


def test_an_id_already_taken_by_another_prompt_is_an_error(tmp_path):
    import_prompts(write_jsonl(tmp_path / "a.jsonl", [rec("first", prompt_id="ef" * 32)]))
    with pytest.raises(PromptImportError, match="line 1, field 'prompt_id'"):
        import_prompts(write_jsonl(tmp_path / "b.jsonl", [rec("second", prompt_id="ef" * 32)]))


def test_command_reports_counts_and_refuses_bad_files(tmp_path, capsys):
    path = write_jsonl(tmp_path / "p.jsonl", [rec("x"), rec("X")])
    call_command("import_prompts", str(path), "--no-progress")
    assert "1 prompts created, 1 duplicates skipped" in capsys.readouterr().out
    bad = write_jsonl(tmp_path / "bad.jsonl", [rec("y"), {"prompt_text": 5}])
    with pytest.raises(CommandError, match="line 2, field 'prompt_text'.*Nothing was imported"):
        call_command("import_prompts", str(bad), "--no-progress")
    (tmp_path / "p.txt").write_text("hello")
    with pytest.raises(CommandError, match="unknown file type"):
        call_command("import_prompts", str(tmp_path / "p.txt"), "--no-progress")


def test_admin_upload_page_imports_and_shows_errors(client, staff_user, tmp_path):
    client.force_login(staff_user)
    page = client.get("/admin/generation/prompt/import/")
    assert page.status_code == 200 and b"Import prompts" in page.content
    good = write_jsonl(tmp_path / "good.jsonl", [rec("uploaded prompt")])
    with good.open("rb") as fh:
        response = client.post("/admin/generation/prompt/import/", {"file": fh}, follow=True)
    assert b"1 prompts created" in response.content
    bad = write_jsonl(tmp_path / "bad.jsonl", [rec("another"), rec("x", prompt_type="bad")])
    with bad.open("rb") as fh:
        response = client.post("/admin/generation/prompt/import/", {"file": fh})
    assert response.status_code == 200
    assert b"line 2, field &#x27;prompt_type&#x27;" in response.content
    assert Prompt.objects.count() == 1


def test_admin_upload_page_is_refused_to_crowdworkers(client, crowdworker):
    client.force_login(crowdworker)
    response = client.get("/admin/generation/prompt/import/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
