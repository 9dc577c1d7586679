"""Soft labels mixed per row: the comments from one set of teachers, the added rows from another."""

import json

import numpy as np
import pytest

from research import soft_label_mix
from toxiclf.training.soft_labels import SoftLabels, ensemble_logits

DATA = {"dataset": "embedded", "seed": 42, "split_sizes": {"train": 3, "validation": 2, "test": 2}, "sha256": "abc"}
ADDED = {"identity_augmentation": 0, "robustness_augmentation": 2, "base_rows": 3, "added_rows_sha256": "def"}
TRAIN_IDS = ["c-0", "c-1", "c-2", "robustness-0", "robustness-1"]
VALIDATION_IDS = ["v-0", "v-1"]


def write_file(path, train_logits, validation_logits, teacher, extra=ADDED, max_length=128, train_ids=TRAIN_IDS):
    provenance = {"teachers": [{"path": teacher, "sha256": None}], "data": DATA, "max_length": max_length,
                  "extra_train_rows": extra, "float16": False}  # fmt: skip
    np.savez(path, train_ids=np.array(train_ids), train_ensemble=np.array(train_logits, dtype=np.float32),
             validation_ids=np.array(VALIDATION_IDS), validation_ensemble=np.array(validation_logits, dtype=np.float32),
             provenance=np.array(json.dumps(provenance)))  # fmt: skip
    return path


@pytest.fixture
def files(tmp_path):
    old = write_file(tmp_path / "old.npz", [[2, -2], [0, 1], [1, 0], [3, -3], [3, -3]], [[1, 0], [0, 2]], "old")
    new = write_file(tmp_path / "new.npz", [[0, 0], [1, 1], [0, 2], [-2, 2], [0, 1]], [[0, 1], [1, 1]], "new")
    return old, new


def log_probabilities(logits):
    logits = np.array(logits, dtype=np.float64)
    return logits - np.logaddexp(logits[:, :1], logits[:, 1:])


def test_comments_get_their_ensemble_and_added_rows_theirs(files, tmp_path):
    old, new = files
    output = tmp_path / "mix.npz"
    soft_label_mix.main(["--comments", str(old), str(new), "--added-rows", str(new), "--output", str(output)])
    labels = SoftLabels(output)
    comments = labels.logits_for("train", ["c-0", "c-1", "c-2"])
    old_teacher, new_teacher = log_probabilities([[2, -2], [0, 1], [1, 0]]), log_probabilities([[0, 0], [1, 1], [0, 2]])
    expected = ensemble_logits([old_teacher, new_teacher])
    np.testing.assert_allclose(comments, expected, atol=1e-6)
    added = labels.logits_for("train", ["robustness-0", "robustness-1"])
    np.testing.assert_allclose(added, log_probabilities([[-2, 2], [0, 1]]), atol=1e-6)  # the new teacher's alone
    validation = labels.logits_for("validation", VALIDATION_IDS)
    expected = ensemble_logits([np.array([[1, 0], [0, 2.0]]), np.array([[0, 1], [1, 1.0]])])
    np.testing.assert_allclose(validation, expected, atol=1e-6)
    # a run on the same rows accepts the mix; the record names both files and both teachers
    labels.check_matches(DATA, 128, ADDED)
    assert labels.provenance["comments"] == [str(old), str(new)] and labels.provenance["added_rows"] == [str(new)]
    assert [teacher["path"] for teacher in labels.provenance["teachers"]] == ["old", "new"]


@pytest.mark.parametrize(
    "other, message",
    [
        ({"max_length": 64}, "different rows \\(max_length differs\\)"),
        ({"train_ids": ["c-0", "c-2", "c-1", "robustness-0", "robustness-1"]}, "hold different train rows"),
        ({"extra": {**ADDED, "base_rows": 2}}, "different rows \\(base_rows differs\\)"),
    ],
)
def test_comments_files_made_for_other_rows_are_refused(files, tmp_path, other, message, capsys):
    old, new = files
    odd = write_file(tmp_path / "odd.npz", [[0, 0]] * 5, [[0, 0]] * 2, "odd", **other)
    output = tmp_path / "mix.npz"
    with pytest.raises(SystemExit, match=message):
        soft_label_mix.main(["--comments", str(old), str(odd), "--added-rows", str(new), "--output", str(output)])
    assert not output.exists()


def test_added_rows_files_made_for_other_added_rows_are_refused(files, tmp_path, capsys):
    old, new = files
    odd = write_file(tmp_path / "odd.npz", [[0, 0]] * 5, [[0, 0]] * 2, "odd", extra={**ADDED, "added_rows_sha256": "x"})
    output = tmp_path / "mix.npz"
    with pytest.raises(SystemExit, match="extra_train_rows differs"):
        soft_label_mix.main(["--comments", str(old), "--added-rows", str(new), str(odd), "--output", str(output)])


def test_new_added_rows_scored_alone_join_the_comments_of_files_made_for_the_old_ones(files, tmp_path, capsys):
    """A round whose templates change scores only its added rows (soft_labels --added-rows-only); the comments keep
    the logits of the files made for the old rows, and a run with the new rows accepts the mix."""
    old, _ = files
    changed = {**ADDED, "robustness_augmentation": 3, "added_rows_sha256": "new"}
    added = tmp_path / "added.npz"
    provenance = {"teachers": [{"path": "new", "sha256": None}], "data": DATA, "max_length": 128,
                  "extra_train_rows": changed, "float16": False, "added_rows_only": True}  # fmt: skip
    np.savez(added, train_ids=np.array(["robustness-0", "robustness-1", "robustness-2"]),
             train_ensemble=np.array([[0, 1], [1, 0], [0, 3]], dtype=np.float32),
             validation_ids=np.array([], dtype=str), validation_ensemble=np.zeros((0, 2), np.float32),
             provenance=np.array(json.dumps(provenance)))  # fmt: skip
    with pytest.raises(ValueError, match="holds the added rows only"):
        SoftLabels(added).check_matches(DATA, 128, changed)  # not a file to train on by itself
    output = tmp_path / "mix.npz"
    soft_label_mix.main(["--comments", str(old), "--added-rows", str(added), "--output", str(output)])
    labels = SoftLabels(output)
    labels.check_matches(DATA, 128, changed)
    with pytest.raises(ValueError, match="other added rows"):
        labels.check_matches(DATA, 128, ADDED)
    assert labels.ids["train"].tolist() == ["c-0", "c-1", "c-2", "robustness-0", "robustness-1", "robustness-2"]
    np.testing.assert_allclose(labels.logits["train"][:3], log_probabilities([[2, -2], [0, 1], [1, 0]]), atol=1e-6)
    np.testing.assert_allclose(labels.logits["train"][3:], log_probabilities([[0, 1], [1, 0], [0, 3]]), atol=1e-6)
    np.testing.assert_allclose(labels.logits["validation"], log_probabilities([[1, 0], [0, 2]]), atol=1e-6)
    with pytest.raises(SystemExit, match="holds added rows only"):
        soft_label_mix.main(["--comments", str(added), "--added-rows", str(added), "--output", str(tmp_path / "x")])


def test_an_existing_output_or_a_file_that_is_not_soft_labels_is_refused(files, tmp_path, capsys):
    old, new = files
    with pytest.raises(SystemExit):
        soft_label_mix.main(["--comments", str(old), "--added-rows", str(new), "--output", str(new)])
    assert "exists" in capsys.readouterr().err
    not_labels = tmp_path / "other.npz"
    np.savez(not_labels, weights=np.zeros(3))
    with pytest.raises(SystemExit, match="is not a soft-label file"):
        soft_label_mix.main(["--comments", str(not_labels), "--added-rows", str(new), "--output", str(tmp_path / "m")])
