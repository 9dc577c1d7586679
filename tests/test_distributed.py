"""--engine ray (toxiclf.batch.ray_engine), on a local Ray as the engine starts one on 2 cores (3 logical CPUs):
every row's score, label and error equal to the local CLI's, order kept."""

import json
import random
import re

import pandas as pd
import pytest

from toxiclf.batch import cli as predict

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

ROWS = 300
pytestmark = pytest.mark.slow  # a local Ray starts in seconds, and each engine run takes a few more


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=3, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def records(n=ROWS, seed=0) -> list[dict]:
    """Comments with what real corpora hold: nulls, missing fields, numbers as text, unicode, big ids."""
    rng = random.Random(seed)
    words = ["you", "idiot", "thanks", "for", "the", "edit", "stupid", "page", "é", "日本", "🙂", "good"]
    rows = []
    for i in range(n):
        text = " ".join(rng.choices(words, k=rng.randint(1, 8)))
        kind = i % 10
        if kind == 3:
            text = None
        elif kind == 5:
            text = ""
        row = {"id": 9007199254740993 + i, "body": text, "n": i}
        if kind == 7:
            row["body"] = 12 + i  # not a string: an error row
        if kind == 8:
            del row["body"]
        rows.append(row)
    return rows


def run(engine, source, output, model, *extra):
    args = ["--input", str(source), "--output", str(output), "--model", str(model), "--backend", "torch",
            "--text-column", "body", "--no-progress", *extra]  # fmt: skip
    if engine == "ray":
        args += ["--engine", "ray", "--actors", "2"]
    return predict.main(args)


def parts(folder) -> list:
    return sorted(p for p in folder.iterdir() if p.name.startswith("part-"))


def test_jsonl_rows_are_the_local_clis_byte_for_byte(tmp_path, tiny_classifier_dir):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" + ("\n" if i == 5 else "")
                              for i, r in enumerate(records())))  # fmt: skip
    run("local", source, tmp_path / "local.jsonl", tiny_classifier_dir)
    assert run("ray", source, tmp_path / "ray.jsonl", tiny_classifier_dir) == 0
    written = "".join(p.read_text() for p in parts(tmp_path / "ray.jsonl"))
    assert written == (tmp_path / "local.jsonl").read_text()
    rows = [json.loads(line) for line in written.splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in records()]  # order and big ids kept
    assert {r["toxic_error"] for r in rows} == {"", "missing text", "empty text"} | {
        "text is a int, not a string"}  # fmt: skip
    assert not (tmp_path / "ray.jsonl.partial").exists()


def test_parquet_from_a_folder_keeps_columns_types_and_order(tmp_path, tiny_classifier_dir):
    table = pa.Table.from_pylist([{**r, "body": r.get("body") if isinstance(r.get("body"), str | None) else None}
                                  for r in records()])  # fmt: skip
    folder = tmp_path / "corpus"
    folder.mkdir()
    pq.write_table(table.slice(0, 120), folder / "a.parquet")
    pq.write_table(table.slice(120), folder / "b.parquet")
    (folder / "_SUCCESS").write_text("")  # a marker file a Spark job leaves: not data
    pq.write_table(table, tmp_path / "all.parquet")
    run("local", tmp_path / "all.parquet", tmp_path / "local.parquet", tiny_classifier_dir)
    run("ray", folder, tmp_path / "ray.parquet", tiny_classifier_dir)
    local = pq.read_table(tmp_path / "local.parquet")
    distributed = pa.concat_tables([pq.read_table(p) for p in parts(tmp_path / "ray.parquet")])
    assert distributed.schema == local.schema and distributed.schema.field("id").type == pa.int64()
    assert distributed.equals(local)
    assert local.column("toxic_error").to_pylist()[:6] == ["", "", "", "missing text", "", "empty text"]


def test_many_small_blocks_on_two_actors_come_back_in_row_order(tmp_path, tiny_classifier_dir):
    """Blocks of 512 bytes: dozens of them, finished out of turn by two actors; the parts still follow the rows."""
    from toxiclf.batch.ray_engine import score

    texts = [" ".join(["thanks", "idiot", "page"][: 1 + i % 3]) + f" {i}" for i in range(600)]
    table = pa.table({"id": pa.array(range(600), pa.int64()), "body": texts})
    pq.write_table(table, tmp_path / "in.parquet")
    run("local", tmp_path / "in.parquet", tmp_path / "local.parquet", tiny_classifier_dir)
    summary = score(tmp_path / "in.parquet", tmp_path / "ray.parquet", model=tiny_classifier_dir, backend="torch",
                    text_column="body", actors=2, block_bytes=512)  # fmt: skip
    assert summary["rows"] == 600 and summary["errors"] == 0
    distributed = pa.concat_tables([pq.read_table(p) for p in parts(tmp_path / "ray.parquet")])
    assert distributed.equals(pq.read_table(tmp_path / "local.parquet"))


def test_csv_cells_stay_the_exact_strings_they_were(tmp_path, tiny_classifier_dir):
    frame = pd.DataFrame({"id": ["007", "NA", "3", "-5", "=SUM(A1)"] * 40,
                          "body": ["you idiot", "", "thanks\nfor the edit", "12", "the page"] * 40})  # fmt: skip
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    run("local", source, tmp_path / "local.csv", tiny_classifier_dir)
    run("ray", source, tmp_path / "ray.csv", tiny_classifier_dir)
    local = pd.read_csv(tmp_path / "local.csv", dtype=str, keep_default_na=False)
    distributed = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False) for p in parts(tmp_path / "ray.csv"))
    pd.testing.assert_frame_equal(distributed.reset_index(drop=True), local)
    assert local["id"].tolist()[:5] == ["007", "NA", "3", "-5", "'=SUM(A1)"]


def test_an_existing_output_is_refused_unless_replaced(tmp_path, tiny_classifier_dir):
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "thanks"}\n')
    output = tmp_path / "out.parquet"
    output.mkdir()
    (output / "keep").write_text("the user's")
    with pytest.raises(SystemExit, match="out.parquet exists; pass --replace"):
        run("ray", source, output, tiny_classifier_dir)
    assert (output / "keep").read_text() == "the user's"
    run("ray", source, output, tiny_classifier_dir, "--replace")
    assert pq.read_table(parts(output)[0]).column("toxic_error").to_pylist() == [""]


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ('{"text": "a"}\n', [], "has no column 'body'"),
        ('{"body": "a", "toxic_score": 1}\n', [], "already has column(s) toxic_score"),
        ('{"body": "a"}\n', ["--explain"], "--explain is not available with --engine ray"),
        ('{"body": "a"}\n', ["--output-is-csv"], "write Parquet or the input's format"),
        ('{"body": "a"}\n{"body": \n', [], "in.jsonl, line 2: not valid JSON"),
        ('{"body": "a"}\n' * 3000 + '{"body": \n', [], "in.jsonl, line 3001: not valid JSON"),  # found by an actor
        ('{"body": "a"}\n' * 3000 + '{"body": "b", "toxic_label": 1}\n', [], "already has field(s) toxic_label"),
    ],
    ids=[
        "no text column",
        "clashing column",
        "explain",
        "csv from jsonl",
        "bad json",
        "bad json far down",
        "clashing field far down",
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, tiny_classifier_dir, content, extra, message):
    source = tmp_path / "in.jsonl"
    source.write_text(content)
    output = tmp_path / ("out.csv" if "--output-is-csv" in extra else "out.parquet")
    extra = [e for e in extra if e != "--output-is-csv"]
    with pytest.raises(SystemExit) as stopped:
        run("ray", source, output, tiny_classifier_dir, *extra)
    assert message in str(stopped.value) and "\n" not in str(stopped.value)
    assert not output.exists()


def test_a_failure_names_its_file_and_where_in_the_corpus_and_keeps_what_finished(tmp_path, tiny_classifier_dir):
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "a"}\n' * 3000 + '{"body": \n')
    with pytest.raises(SystemExit) as stopped:
        run("ray", source, tmp_path / "out.parquet", tiny_classifier_dir)
    message = str(stopped.value)
    where = re.search(r"failed at row ([\d,]+) of the corpus or later \(rows 1-([\d,]+) were scored\)", message)
    assert where and int(where[1].replace(",", "")) == int(where[2].replace(",", "")) + 1 <= 3001
    assert "in.jsonl, line 3001: not valid JSON" in message and "0 finished part(s), 0 rows, are in" in message


def test_a_glob_picks_its_files_and_mixed_formats_are_refused(tmp_path):
    from toxiclf.batch.cli import InputError
    from toxiclf.batch.ray_engine import find_corpus

    for name in ("a.jsonl", "b.jsonl", "notes.txt"):
        (tmp_path / name).write_text("{}\n")
    corpus = find_corpus(str(tmp_path / "*.jsonl"))
    assert [p.rsplit("/", 1)[1] for p in corpus.paths] == ["a.jsonl", "b.jsonl"] and corpus.format == "jsonl"
    with pytest.raises(InputError, match="must hold files of one format"):
        find_corpus(str(tmp_path))
    with pytest.raises(InputError, match="no files match"):
        find_corpus(str(tmp_path / "*.parquet"))


def test_without_ray_the_engine_says_how_to_install_it(tmp_path, tiny_classifier_dir, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "a"}\n')
    with pytest.raises(SystemExit, match=r"pip install 'toxiclf\[ray\]'"):
        run("ray", source, tmp_path / "out.parquet", tiny_classifier_dir)


# Files the local CLI accepts that Ray once lost rows of, refused or failed on: each engine scores the same bytes and
# the rows must be equal, error rows included.
HOSTILE_FILES = {
    "blank lines, one column.csv": "body\nyou idiot\n\nthanks\n\n\nok\n",
    "byte-order mark.csv": "\ufeffid,body\n1,you idiot\n2,thanks for the fix\n",
    "formula header.csv": "=cmd,body\n=1+1,you idiot\n@x,thanks\n",
    "line separator in a string.jsonl": '{"id": 1, "body": "you \u2028 idiot"}\n{"id": 2, "body": "thanks\u2029 ok"}\n',
    "null then a string.jsonl": "".join(
        json.dumps({"id": i, "body": "hi", "note": None if i < 1500 else "x"}) + "\n" for i in range(3000)
    ),  # fmt: skip
    "mixed types.jsonl": '{"id": 1, "body": "a", "x": 1}\n{"id": "two", "body": 5, "x": [1]}\n{"body": null}\n',
    "byte-order mark.jsonl": '\ufeff{"id": 1, "body": "you idiot"}\n\n{"id": 2, "body": "\u200b"}\n',
}


@pytest.mark.parametrize("name", HOSTILE_FILES)
def test_both_engines_give_the_same_rows_on_hostile_files(tmp_path, tiny_classifier_dir, name):
    suffix = "." + name.rsplit(".", 1)[1]
    source = tmp_path / f"in{suffix}"
    source.write_text(HOSTILE_FILES[name], encoding="utf-8")
    assert run("local", source, tmp_path / f"local{suffix}", tiny_classifier_dir) == 0
    assert run("ray", source, tmp_path / f"ray{suffix}", tiny_classifier_dir) == 0
    written = "".join(p.read_text(encoding="utf-8") for p in parts(tmp_path / f"ray{suffix}"))
    local = (tmp_path / f"local{suffix}").read_text(encoding="utf-8")
    if suffix == ".csv":  # each part file repeats the header; there is one part here
        assert written == local
        assert not written.startswith("=")  # a formula-like header cell is escaped by both
    else:
        assert written == local
    rows = written.count("\n") - (suffix == ".csv")
    assert rows == HOSTILE_FILES[name].replace("\ufeff", "").count("\n") - (suffix == ".csv") - (
        name == "byte-order mark.jsonl")  # fmt: skip
