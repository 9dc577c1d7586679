import json

import pandas as pd
import pytest
from conftest import make_comments

from toxiclf.data import splits as data
from toxiclf.data.splits import DataError, clean_frame, load_splits, split_frame, tokenize_splits


def test_split_is_deterministic_stratified_and_disjoint():
    frame = make_comments(1000)
    first, again = split_frame(frame, seed=7), split_frame(frame, seed=7)
    for name in ("train", "validation", "test"):
        assert first[name]["id"].tolist() == again[name]["id"].tolist()  # same rows, same order
    assert [len(first[n]) for n in ("train", "validation", "test")] == [700, 100, 200]
    rate = frame["label"].mean()
    for part in first.values():
        assert abs(part["label"].mean() - rate) < 0.01
    ids = [set(part["id"]) for part in first.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert split_frame(frame, seed=8)["test"]["id"].tolist() != first["test"]["id"].tolist()


def test_clean_frame_drops_empty_texts_and_duplicates():
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "comment_text": ["hi", "  ", "hi", "yo"], "label": [0, 0, 1, 0]})
    assert clean_frame(frame)["id"].tolist() == ["a", "d"]


def test_local_single_file_is_split(tiny_dataset_dir):
    splits = load_splits(str(tiny_dataset_dir), seed=1)
    assert {k: len(v) for k, v in splits.items()} == {"train": 140, "validation": 20, "test": 40}
    assert splits["train"].column_names == ["id", "comment_text", "label"]
    assert splits["train"].features["label"].names == ["non-toxic", "toxic"]


def test_local_folder_with_its_own_splits_keeps_them(tmp_path):
    # the wiki_toxic layout: parquet files named by split
    for split, n in (("train", 30), ("validation", 10), ("test", 12)):
        make_comments(n, seed=n).drop(columns="id").to_parquet(tmp_path / f"{split}-00000-of-00001.parquet")
    splits = load_splits(str(tmp_path))
    assert {k: len(v) for k, v in splits.items()} == {"train": 30, "validation": 10, "test": 12}
    assert splits["test"][0]["id"] == "test-0"  # generated where the source has none


def test_missing_column_names_it(tmp_path):
    make_comments(20).rename(columns={"label": "toxic"}).to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DataError, match="no column 'label'"):
        load_splits(str(tmp_path))


def test_checksum_mismatch_is_a_clear_error(tmp_path):
    fake = tmp_path / "clean_data.csv"
    fake.write_text("is_offensive,text\n0,hello\n")
    with pytest.raises(DataError, match="checksum mismatch .* expected sha256 27b5f974"):
        data.read_embedded_csv(fake)


def test_tokenize_keeps_only_model_inputs_and_labels(tiny_dataset_dir, tokenizer):
    tokenized = tokenize_splits(load_splits(str(tiny_dataset_dir)), tokenizer, max_length=8)
    assert set(tokenized["train"].column_names) == {"labels", "input_ids", "attention_mask"}
    lengths = {len(ids) for ids in tokenized["train"]["input_ids"]}
    assert max(lengths) == 8 and len(lengths) > 1  # truncated, and not padded (the collator pads)


def test_cli_reports_missing_data_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit, match="^error: .*no column 'comment_text'"):
        (tmp_path / "x.csv").write_text("text,label\nhi,0\n")
        data.main(["--dataset", str(tmp_path)])


@pytest.mark.embedded
def test_embedded_data_is_the_wikipedia_comments(capsys):
    data.main([])
    summary = json.loads(capsys.readouterr().out)
    assert summary["cleaning"]["rows_in"] == 159571  # Jigsaw 2018's Wikipedia comments, tweets removed
    assert summary["total"] == {"rows": 158698, "toxic": 16097}
    assert summary["source"]["split_sizes"] == {"train": 111216, "validation": 15795, "test": 31687}
    for split in ("train", "validation", "test"):
        assert summary[split]["toxic_rate"] == pytest.approx(0.1014, abs=1e-3)


@pytest.mark.embedded
def test_shipped_split_has_no_copy_of_a_comment_across_splits():
    from toxiclf.data.dedup import normalized_key

    frames, _ = data.split_frames()
    keys = {split: set(frame["comment_text"].map(normalized_key)) for split, frame in frames.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
    assert not keys["validation"] & keys["test"]
    ids = [set(frame["id"]) for frame in frames.values()]
    assert sum(map(len, ids)) == len(set().union(*ids)) == 158698


def test_data_file_can_be_pointed_elsewhere_and_is_still_verified(tmp_path, monkeypatch):
    copy = tmp_path / "clean_data.csv"
    copy.write_text("is_offensive,text\n1,altered\n")
    monkeypatch.setenv("TOXICLF_DATA_CSV", str(copy))
    assert data.embedded_csv_path() == copy
    with pytest.raises(DataError, match="checksum mismatch"):
        load_splits()


def test_an_unreachable_hub_data_set_is_one_clear_error(monkeypatch):
    def offline(name):
        raise ConnectionError("Couldn't reach 'someone/data' on the Hub (LocalEntryNotFoundError)\nmore lines")

    monkeypatch.setattr(data.datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"^cannot load data set 'someone/data' .*Couldn't reach"):
        load_splits("someone/data")
