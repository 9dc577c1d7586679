import json

import pandas as pd
import pytest

from toxiclf import predict
from toxiclf.classifier import Classifier


def test_csv_is_scored_in_order_and_empty_rows_are_reported(tmp_path, tiny_classifier_dir, caplog):
    source = tmp_path / "comments.csv"
    texts = ["you idiot", "", "thanks for the edit", "   ", "the page is good"]
    pd.DataFrame({"id": range(5), "comment_text": texts}).to_csv(source, index=False)
    output = tmp_path / "scored.csv"
    predict.main(["--input", str(source), "--output", str(output), "--model", str(tiny_classifier_dir),
                  "--backend", "torch"])  # fmt: skip

    scored = pd.read_csv(output, keep_default_na=False)
    assert scored["id"].tolist() == [0, 1, 2, 3, 4]  # every row kept, in order
    assert scored["error"].tolist() == ["", "empty text", "", "empty text", ""]
    reference = Classifier(tiny_classifier_dir).scores([texts[0], texts[2], texts[4]])
    assert scored.loc[[0, 2, 4], "score"].astype(float).tolist() == pytest.approx(list(reference), abs=1e-6)
    assert scored.loc[[1, 3], "score"].tolist() == ["", ""]
    assert "2 rows not scored (empty text): data rows 2, 4" in caplog.text
    assert not list(tmp_path.glob(".*partial"))


def test_jsonl_in_jsonl_out_with_another_column(tmp_path, tiny_classifier_dir):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps({"body": t, "n": i}) for i, t in enumerate(["a b", "c d"])) + "\n")
    output = tmp_path / "out.jsonl"
    predict.main(["--input", str(source), "--output", str(output), "--text-column", "body",
                  "--model", str(tiny_classifier_dir), "--threshold", "0", "--backend", "torch"])  # fmt: skip
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["n"] for r in rows] == [0, 1] and all(r["flagged"] is True and r["label"] == "toxic" for r in rows)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--text-column", "nope"], "has no column 'nope'"),
        (["--model", "/nonexistent"], "no model at /nonexistent"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, tiny_classifier_dir, argv, message):
    source = tmp_path / "c.csv"
    source.write_text("comment_text\nhello\n")
    base = ["--input", str(source), "--output", str(tmp_path / "o.csv"), "--model", str(tiny_classifier_dir)]
    with pytest.raises(SystemExit, match=message):
        predict.main(base + argv)
    assert not (tmp_path / "o.csv").exists()


def test_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def interrupted(self, path, **kwargs):
        open(path, "w").write("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        predict.write_atomically(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []
