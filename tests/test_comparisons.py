"""Paired bootstrap comparisons between models scored on the same test rows."""

import json

import numpy as np

import run_eval
from research.experiments import STUDENT_PAIRS
from toxiclf.evaluation.comparisons import ids_checksum, load_scores, paired_bootstrap, save_scores, write_comparisons


def synthetic(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.2).astype(int)
    good = labels + rng.normal(0, 0.6, n)
    weak = labels + rng.normal(0, 1.2, n)
    return labels, good, weak


def test_a_model_against_itself_differs_by_exactly_zero():
    labels, good, _ = synthetic()
    compared = paired_bootstrap(labels, good, good, resamples=200)
    for metric in ("roc_auc", "pr_auc"):
        assert compared[metric]["difference"] == 0.0 and compared[metric]["ci95"] == [0.0, 0.0]
        assert compared[metric]["established"] is False


def test_a_clearly_better_model_is_established_and_the_pairing_is_seeded():
    labels, good, weak = synthetic()
    compared = paired_bootstrap(labels, good, weak, resamples=200)
    assert compared["roc_auc"]["difference"] > 0 and compared["roc_auc"]["ci95"][0] > 0
    assert compared["roc_auc"]["established"] and compared["pr_auc"]["established"]
    assert paired_bootstrap(labels, good, weak, resamples=200) == compared


def test_scores_of_other_test_rows_are_never_compared(tmp_path):
    labels, good, weak = synthetic()
    save_scores(tmp_path, "minilm-l6", weak, ids_checksum(range(len(labels))))
    save_scores(tmp_path, "student-odd", good, ids_checksum(range(len(labels))))
    save_scores(tmp_path, "old-split-model", good, ids_checksum(["other", "rows"]))
    assert set(load_scores(tmp_path, ids_checksum(range(len(labels))))) == {"minilm-l6", "student-odd"}
    result = write_comparisons(tmp_path, labels, ids_checksum(range(len(labels))), resamples=100)
    pairs = [(c["model"], c["against"]) for c in result["comparisons"]]
    assert pairs == [("student-odd", "minilm-l6"), ("minilm-l6", "student-odd")]  # the odd student is a reference too
    assert json.loads((tmp_path / "comparisons.json").read_text()) == result


def test_a_kd_student_is_compared_with_its_ce_only_twin_and_both_with_the_shipped_model(tmp_path):
    labels, good, weak = synthetic()
    rows = ids_checksum(range(len(labels)))
    for name, scores in (
        ("student-3l-135-kd", good),
        ("student-3l-135-ce", weak),
        ("shipped", good),
        ("student-3l-246-kd", weak),
    ):  # its twin is not scored: no pair
        save_scores(tmp_path, name, scores, rows)
    compared = write_comparisons(tmp_path, labels, rows, resamples=100, pairs_also=STUDENT_PAIRS)["comparisons"]
    pairs = {(c["model"], c["against"]): c for c in compared}
    assert set(pairs) == {
        ("student-3l-135-kd", "student-3l-135-ce"),
        ("student-3l-135-kd", "shipped"),
        ("student-3l-135-ce", "shipped"),
        ("student-3l-246-kd", "shipped"),
        ("student-3l-246-kd", "student-3l-135-kd"),
    }  # another layer choice against the alternate one
    kd_minus_ce = pairs[("student-3l-135-kd", "student-3l-135-ce")]["roc_auc"]
    assert kd_minus_ce["difference"] > 0 and kd_minus_ce["established"]


def test_a_pair_of_unchanged_scores_keeps_its_entry_and_a_changed_one_is_resampled(tmp_path, monkeypatch):
    from toxiclf.evaluation import comparisons

    labels, good, weak = synthetic()
    rows = ids_checksum(range(len(labels)))
    save_scores(tmp_path, "minilm-l6", weak, rows)
    save_scores(tmp_path, "student-odd", good, rows)
    first = write_comparisons(tmp_path, labels, rows, resamples=100)
    resampled = []
    real = comparisons.paired_bootstrap
    monkeypatch.setattr(comparisons, "paired_bootstrap", lambda *a, **k: resampled.append(1) or real(*a, **k))
    assert write_comparisons(tmp_path, labels, rows, resamples=100) == first and not resampled  # nothing changed
    save_scores(tmp_path, "teacher", good, rows)  # a new model: only its pairs are resampled
    added = write_comparisons(tmp_path, labels, rows, resamples=100)
    assert len(resampled) == len(added["comparisons"]) - len(first["comparisons"]) == 4
    save_scores(tmp_path, "minilm-l6", good, rows)  # a model scored again, other scores: its pairs anew
    resampled.clear()
    again = {
        (c["model"], c["against"]): c for c in write_comparisons(tmp_path, labels, rows, resamples=100)["comparisons"]
    }
    assert len(resampled) == 4 and again[("student-odd", "minilm-l6")]["roc_auc"]["difference"] == 0
    write_comparisons(tmp_path, labels, rows, resamples=200)  # other settings: everything anew
    assert len(resampled) == 4 + len(again)


def test_run_eval_compares_every_model_with_the_references(pipeline_outputs, tiny_dataset_dir, tmp_path):
    out, _ = pipeline_outputs
    run_eval.main(["--dataset", str(tiny_dataset_dir), "--results-dir", str(tmp_path), "--no-cost",
                   "--checkpoints", f"teacher={out / 'teacher'}", f"minilm-l6={out / 'student-even'}",
                   f"student-odd={out / 'student-odd'}"])  # fmt: skip
    pairs = {(c["model"], c["against"]) for c in json.loads((tmp_path / "comparisons.json").read_text())["comparisons"]}
    assert ("student-odd", "minilm-l6") in pairs and ("student-odd", "teacher") in pairs
    assert ("teacher", "student-odd") in pairs  # odd against the others: the seed's question
    assert ("tfidf-logreg", "teacher") in pairs and not any(model == "majority" for model, _ in pairs)
    assert "### Paired differences" in (tmp_path / "summary.md").read_text()
