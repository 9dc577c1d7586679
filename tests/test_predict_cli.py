import json
from pathlib import Path

import pandas as pd
import pytest

from toxiclf.batch import cli as predict
from toxiclf.inference.classifier import Classifier


def score(tmp_path, model, name, content, *extra):
    source = tmp_path / name
    source.write_text(content)
    output = tmp_path / f"scored{source.suffix}"
    predict.main(["--input", str(source), "--output", str(output), "--model", str(model), "--backend", "torch",
                  "--no-progress", *extra])  # fmt: skip
    return output


def test_csv_keeps_every_user_column_and_value_and_reports_empty_rows(tmp_path, tiny_classifier_dir, caplog):
    texts = ["you idiot", "", "thanks for the edit", "   ", "the page is good"]
    frame = pd.DataFrame({"id": ["007", "2", "3", "4", "9007199254740993"], "comment_text": texts,
                          "label": ["1", "0", "0", "NA", "0"], "score": ["x", "", "y", "z", "w"]})  # fmt: skip
    output = score(tmp_path, tiny_classifier_dir, "in.csv", frame.to_csv(index=False))

    scored = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert list(scored.columns) == ["id", "comment_text", "label", "score",
                                    "toxic_score", "toxic_label", "toxic_flagged", "toxic_error"]  # fmt: skip
    pd.testing.assert_frame_equal(scored[frame.columns], frame)  # the user's label and score untouched
    assert scored["toxic_error"].tolist() == ["", "empty text", "", "empty text", ""]
    reference = Classifier(tiny_classifier_dir).scores([texts[0], texts[2], texts[4]])
    assert scored.loc[[0, 2, 4], "toxic_score"].astype(float).tolist() == pytest.approx(list(reference), abs=1e-6)
    assert scored.loc[[1, 3], "toxic_score"].tolist() == ["", ""]
    assert "2 rows not scored (see toxic_error): lines 3, 5" in caplog.text
    assert not list(tmp_path.glob(".*partial"))


def test_jsonl_values_round_trip_exactly_and_null_text_is_an_error_row(tmp_path, tiny_classifier_dir):
    lines = [
        '{"id": 9007199254740993, "body": "a b", "meta": {"x": [1, 2.5, null]}}',
        '{"body": null, "id": 4}',
        '{"id": "s-1", "body": "c d", "flag": true}',
        '{"id": 5}',
        '{"id": 6, "body": 12}',
    ]
    output = score(tmp_path, tiny_classifier_dir, "in.jsonl", "\n".join(lines) + "\n", "--text-column", "body")
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    for row, line in zip(rows, lines, strict=True):
        original = json.loads(line)
        assert {k: row[k] for k in original} == original and type(row["id"]) is type(original["id"])
    assert rows[0]["id"] == 9007199254740993  # not 9007199254740992.0
    assert [r["toxic_error"] for r in rows] == ["", "missing text", "", "missing text", "text is a int, not a string"]
    assert [r["toxic_score"] is None for r in rows] == [False, True, False, True, True]


def test_formula_like_cells_are_made_inert_in_csv_unless_asked(tmp_path, tiny_classifier_dir):
    content = 'id,comment_text\n-5,"=HYPERLINK(""http://x"",""click"")"\n@a,+1 agreed\n3,- a list item\n'
    output = score(tmp_path, tiny_classifier_dir, "in.csv", content)
    scored = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert scored["comment_text"].tolist() == ['\'=HYPERLINK("http://x","click")', "'+1 agreed", "'- a list item"]
    assert scored["id"].tolist() == ["-5", "'@a", "3"]  # a plain negative number is left alone
    exact = score(tmp_path, tiny_classifier_dir, "in.csv", content, "--csv-exact")
    assert pd.read_csv(exact, dtype=str)["comment_text"][0] == '=HYPERLINK("http://x","click")'


@pytest.mark.parametrize(
    "name, content, extra, message",
    [
        (
            "in.csv",
            "comment_text,toxic_score\nhi,1\n",
            [],
            "already has column.s. toxic_score; choose another --prefix",
        ),
        ("in.csv", "x,x\nhi,1\n", ["--text-column", "x"], "duplicate column names: x"),
        ("in.csv", "text,label\nhi,1\n", [], "has no column 'comment_text' .found: text, label."),
        ("in.csv", "", [], "is empty"),
        ("in.jsonl", "", [], "holds no JSON records"),
        ("in.jsonl", '{"comment_text": "a"}\n{"comment_text": "b"\n', [], "line 2: not valid JSON"),
        ("in.jsonl", '{"text": "a"}\n', [], "no field 'comment_text' .found: text."),
        ("in.csv", "comment_text\nhi\n", ["--model", "/nonexistent"], "no model at /nonexistent"),
    ],
)
def test_bad_input_is_one_line_error_and_writes_nothing(tmp_path, tiny_classifier_dir, name, content, extra, message):
    with pytest.raises(SystemExit, match=message):
        score(tmp_path, tiny_classifier_dir, name, content, *extra)
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_missing_output_folder_is_refused_before_any_work(tmp_path, tiny_classifier_dir, monkeypatch):
    monkeypatch.setattr(predict, "ScoringRun", None)  # scoring must not even start
    source = tmp_path / "c.csv"
    source.write_text("comment_text\nhello\n")
    with pytest.raises(SystemExit, match="the folder of --output, .*missing_dir, does not exist"):
        predict.main(["--input", str(source), "--output", str(tmp_path / "missing_dir" / "o.csv"),
                      "--model", str(tiny_classifier_dir)])  # fmt: skip


def test_large_inputs_stream_in_chunks(tmp_path, tiny_classifier_dir, monkeypatch):
    monkeypatch.setattr(predict, "CHUNK_ROWS", 3)
    texts = [f"comment number {i}" for i in range(10)]
    output = score(tmp_path, tiny_classifier_dir, "in.csv", pd.DataFrame({"comment_text": texts}).to_csv(index=False))
    scored = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert scored["comment_text"].tolist() == texts and (scored["toxic_error"] == "").all()


def test_interrupted_scoring_leaves_nothing_behind(tmp_path, tiny_classifier_dir, monkeypatch):
    def interrupted(texts, classifier, explain=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "score_values", interrupted)
    with pytest.raises(KeyboardInterrupt):
        score(tmp_path, tiny_classifier_dir, "in.csv", "comment_text\nhello\n")
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_the_console_script_exits_0_and_prints_no_object(tmp_path, tiny_classifier_dir):
    """`toxiclf-predict` calls sys.exit(main()): a successful run must exit 0 and print no return value."""
    import subprocess
    import sys

    source = tmp_path / "in.csv"
    pd.DataFrame({"comment_text": ["fine", "you idiot"]}).to_csv(source, index=False)
    script = "import sys; from toxiclf.batch.cli import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", script, "--input", str(source), "--output", str(tmp_path / "o.csv"),
                             "--model", str(tiny_classifier_dir), "--backend", "torch", "--no-progress"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ScoringRun" not in result.stdout + result.stderr and len(pd.read_csv(tmp_path / "o.csv")) == 2


def test_outputs_get_the_user_s_umask_and_sigterm_leaves_no_partial_file(tmp_path, tiny_classifier_dir, monkeypatch):
    import os
    import signal

    source = tmp_path / "in.csv"
    pd.DataFrame({"comment_text": ["fine", "you idiot"]}).to_csv(source, index=False)
    argv = ["--input", str(source), "--model", str(tiny_classifier_dir), "--backend", "torch", "--no-progress"]
    previous = os.umask(0o022)
    try:
        predict.main([*argv, "--output", str(tmp_path / "o.csv")])
    finally:
        os.umask(previous)
    assert (tmp_path / "o.csv").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600

    original = predict.score_values

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill` from another shell, in the middle of a run
        return original(*args, **kwargs)

    monkeypatch.setattr(predict, "score_values", terminated)
    default = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as stopped:
            predict.main([*argv, "--output", str(tmp_path / "stopped.csv")])
    finally:
        signal.signal(signal.SIGTERM, default)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "o.csv"]  # no output, no .partial left


def test_a_lone_surrogate_is_an_error_row_and_the_record_is_written_back_unchanged(tmp_path, tiny_classifier_dir):
    lines = ['{"id": 1, "comment_text": "bad \\ud800 text"}', '{"id": 2, "comment_text": "you idiot"}']
    output = score(tmp_path, tiny_classifier_dir, "in.jsonl", "\n".join(lines) + "\n")
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["comment_text"] == "bad \ud800 text" and rows[0]["toxic_score"] is None
    assert "lone surrogate (U+D800 at character 4)" in rows[0]["toxic_error"]
    assert rows[1]["toxic_error"] == "" and 0 <= rows[1]["toxic_score"] <= 1


def test_python_refuses_what_the_api_and_the_cli_refuse(tiny_classifier_dir):
    classifier = Classifier(tiny_classifier_dir)
    refused = [("", ValueError, "empty text"), ("a \ud800", ValueError, "lone surrogate"),
               ([None], TypeError, "missing text"), (["ok", 3], TypeError, "texts\\[1\\]: text is a int"),
               (None, TypeError, "a string or a list of strings")]  # fmt: skip
    for bad, error, message in refused:
        with pytest.raises(error, match=message):
            classifier.predict(bad)
    with pytest.raises(TypeError, match="texts\\[0\\]: text is a bytes"):
        classifier.scores([b"bytes"])
    assert classifier.scores([""]).shape == (1,)  # scoring itself takes an empty text (explanations delete words)


def test_parquet_keeps_types_and_nulls_and_refuses_a_clashing_column(tmp_path, tiny_classifier_dir):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": pa.array([9007199254740993, 2, 3], pa.int64()),
                      "comment_text": ["you idiot", None, ""], "when": pa.array([1.5, None, 2.0])})  # fmt: skip
    pq.write_table(table, tmp_path / "in.parquet")
    predict.main(["--input", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out.parquet"),
                  "--model", str(tiny_classifier_dir), "--backend", "torch", "--no-progress"])  # fmt: skip
    scored = pq.read_table(tmp_path / "out.parquet")
    assert scored.select(["id", "comment_text", "when"]).equals(table)  # values, nulls and types untouched
    assert scored.schema.field("toxic_score").type == pa.float64()
    assert scored.column("toxic_error").to_pylist() == ["", "missing text", "empty text"]
    expected = Classifier(tiny_classifier_dir).scores(["you idiot"])[0]
    assert scored.column("toxic_score").to_pylist()[0] == pytest.approx(expected, abs=1e-6)
    pq.write_table(table.append_column("toxic_label", pa.array(["a", "b", "c"])), tmp_path / "clash.parquet")
    with pytest.raises(SystemExit, match="already has column"):
        predict.main(["--input", str(tmp_path / "clash.parquet"), "--output", str(tmp_path / "out2.parquet"),
                      "--model", str(tiny_classifier_dir), "--no-progress"])  # fmt: skip
    assert not (tmp_path / "out2.parquet").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,comment_text\n1,you idiot\n2,thanks, for the edit\n", "line 3: 3 fields where the header has 2"),
        ("id,comment_text\n1,a,extra\n2,b\n", "line 2: 3 fields where the header has 2"),
        ("id,comment_text\n1,caf\xe9\n", r"is not UTF-8 text \(it holds the byte 0xe9\)"),
    ],
    ids=["extra comma", "extra field on the first row", "latin-1"],
)
def test_a_csv_that_would_shift_or_garble_is_refused_with_its_line(tmp_path, tiny_classifier_dir, content, message):
    source = tmp_path / "in.csv"
    source.write_bytes(content.encode("latin-1"))
    with pytest.raises(SystemExit, match=message):
        predict.main(["--input", str(source), "--output", str(tmp_path / "scored.csv"), "--model",
                      str(tiny_classifier_dir), "--no-progress"])  # fmt: skip
    assert not (tmp_path / "scored.csv").exists()


def test_blank_lines_of_a_one_column_csv_stay_rows_and_a_bom_is_no_part_of_the_header(tmp_path, tiny_classifier_dir):
    source = tmp_path / "in.csv"
    source.write_text("\ufeffcomment_text\nyou idiot\n\nthanks\n\nok\n", encoding="utf-8")
    output = tmp_path / "scored.csv"
    predict.main(["--input", str(source), "--output", str(output), "--model", str(tiny_classifier_dir),
                  "--backend", "torch", "--no-progress"])  # fmt: skip
    scored = pd.read_csv(output, dtype=str, keep_default_na=False, skip_blank_lines=False)
    assert scored["comment_text"].tolist() == ["you idiot", "", "thanks", "", "ok"]
    assert scored["toxic_error"].tolist() == ["", "empty text", "", "empty text", ""]


def test_jsonl_fields_are_checked_in_every_record(tmp_path, tiny_classifier_dir, monkeypatch):
    monkeypatch.setattr(predict, "CHUNK_ROWS", 2)  # the late records fall in a later chunk
    late_text = '{"id": 1}\n{"id": 2}\n{"id": 3, "body": "you idiot"}\n'
    output = score(tmp_path, tiny_classifier_dir, "late.jsonl", late_text, "--text-column", "body")
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["toxic_error"] for r in rows] == ["missing text", "missing text", ""]
    late_clash = '{"body": "a"}\n{"body": "b"}\n{"body": "c", "toxic_score": 0.5}\n'
    with pytest.raises(SystemExit, match=r"line 3, already has field\(s\) toxic_score"):
        score(tmp_path, tiny_classifier_dir, "clash.jsonl", late_clash, "--text-column", "body")
    with pytest.raises(SystemExit, match="has no field 'body'"):
        score(tmp_path, tiny_classifier_dir, "none.jsonl", '{"id": 1}\n{"id": 2}\n{"id": 3}\n', "--text-column",
              "body")  # fmt: skip


def test_score_table_refuses_a_table_without_the_text_or_with_a_clashing_column(tiny_classifier_dir):
    """Each table of a corpus is checked (a later file may differ from the first): nothing is appended twice."""
    pa = pytest.importorskip("pyarrow")
    from toxiclf.batch.row_scoring import InputError, added_columns, score_table

    classifier = Classifier(tiny_classifier_dir)
    with pytest.raises(InputError, match="no column 'comment_text'"):
        score_table(pa.table({"text": ["a"]}), classifier, "comment_text", added_columns("toxic_"))
    with pytest.raises(InputError, match=r"already has column\(s\) toxic_error"):
        score_table(pa.table({"comment_text": ["a"], "toxic_error": ["x"]}), classifier, "comment_text",
                    added_columns("toxic_"))  # fmt: skip


def test_a_shipped_model_is_picked_by_name_and_a_missing_one_is_one_clear_error(tmp_path, tiny_classifier_dir,
                                                                                monkeypatch):  # fmt: skip
    import shutil

    from toxiclf import paths
    from toxiclf.inference.model_folder import ModelFolder

    shipped = tmp_path / "model-fast"  # a shipped folder carries its manifest
    shutil.copytree(tiny_classifier_dir, shipped)
    ModelFolder(shipped).write_manifest()
    monkeypatch.setitem(paths.SHIPPED_MODELS, "fast", paths.ShippedModel(shipped, "shipped-fast"))
    output = score(tmp_path, "fast", "in.jsonl", '{"comment_text": "you idiot"}\n')
    scored = json.loads(output.read_text())
    assert scored["toxic_score"] == pytest.approx(Classifier(tiny_classifier_dir).scores(["you idiot"])[0], abs=1e-6)
    monkeypatch.setitem(paths.SHIPPED_MODELS, "fast", paths.ShippedModel(tmp_path / "not-shipped", "shipped-fast"))
    with pytest.raises(SystemExit, match="--model: this install has no 'fast' model .*; use the default model"):
        score(tmp_path, "fast", "again.jsonl", '{"comment_text": "hi"}\n')
    assert json.loads(output.read_text()) == scored  # the earlier output untouched


def test_a_folder_named_like_a_shipped_model_is_reached_with_a_path(tmp_path, monkeypatch):
    from toxiclf.paths import SHIPPED_MODEL_DIR, SHIPPED_MODELS, model_folder

    monkeypatch.chdir(tmp_path)
    assert model_folder(None) == model_folder("default") == SHIPPED_MODEL_DIR
    assert model_folder("fast") == SHIPPED_MODELS["fast"].folder and model_folder("./fast") == Path("fast")


def test_the_library_names_a_missing_shipped_model_in_one_line(tmp_path, monkeypatch):
    from toxiclf import load_classifier, paths

    monkeypatch.setitem(paths.SHIPPED_MODELS, "fast", paths.ShippedModel(tmp_path / "not-shipped", "shipped-fast"))
    with pytest.raises(paths.ModelNotFound, match="^this install has no 'fast' model .*; use the default model$"):
        load_classifier("fast")
    with pytest.raises(paths.ModelNotFound, match=f"^no model at {tmp_path / 'elsewhere'} .no config.json."):
        load_classifier(tmp_path / "elsewhere")
    assert paths.shipped_model_at(paths.SHIPPED_MODEL_DIR).results_name == "shipped"
    assert paths.shipped_model_named("shipped-fast").folder == tmp_path / "not-shipped"
    assert paths.shipped_model_at(tmp_path) is None and paths.shipped_model_named("student") is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": ' + "9" * 5000 + ', "comment_text": "hi"}\n', r"line 1: a value cannot be read \(Exceeds the limit"),
        ("[" * 100_000 + "]" * 100_000 + "\n", "line 1: JSON nested too deeply to read"),
        ('{"comment_text": "hi", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", "line 1: JSON nested too deeply"),
    ],
)
def test_a_huge_number_or_deep_nesting_is_one_line_not_a_traceback(tmp_path, tiny_classifier_dir, content, message):
    with pytest.raises(SystemExit, match=message) as refused:
        score(tmp_path, tiny_classifier_dir, "in.jsonl", content)
    assert "\n" not in str(refused.value)


def test_an_output_that_names_a_folder_is_refused_before_any_work(tmp_path, tiny_classifier_dir, monkeypatch):
    monkeypatch.setattr(predict, "ScoringRun", None)  # scoring must not even start
    source = tmp_path / "c.csv"
    source.write_text("comment_text\nhello\n")
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(SystemExit, match="out.csv is a folder"):
        predict.main(["--input", str(source), "--output", str(tmp_path / "out.csv"), "--model",
                      str(tiny_classifier_dir)])  # fmt: skip


def test_a_formula_like_header_cell_is_written_escaped_unless_asked(tmp_path, tiny_classifier_dir):
    content = "=HYPERLINK(1),+x,comment_text\n1,2,hello\n"
    written = score(tmp_path, tiny_classifier_dir, "in.csv", content).read_text()
    assert written.splitlines()[0].startswith("'=HYPERLINK(1),'+x,comment_text,toxic_score")
    exact = score(tmp_path, tiny_classifier_dir, "in.csv", content, "--csv-exact").read_text()
    assert exact.splitlines()[0].startswith("=HYPERLINK(1),+x,comment_text")


@pytest.mark.parametrize("text", ["\u200b\u200b", "\u200d\ufeff\u2060", "\x01\x02"])
def test_a_text_of_only_invisible_characters_is_an_error_row_like_an_empty_one(tmp_path, tiny_classifier_dir, text):
    output = score(tmp_path, tiny_classifier_dir, "in.jsonl", json.dumps({"comment_text": text}) + "\n")
    assert json.loads(output.read_text())["toxic_error"] == "empty text"
