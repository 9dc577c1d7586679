"""The identity-term audit: the sentence set, the per-term metrics, and run_eval's report for a tiny model."""

import json

import numpy as np
import pytest

import run_eval
from toxiclf.evaluation.identity_audit import (
    AUDIT_FILE,
    audit_sentences,
    identity_aucs,
    real_split_audit,
    template_audit,
)


def test_the_shipped_sentence_set_is_what_the_templates_make():
    import pandas as pd

    sentences = audit_sentences()
    assert sentences["term"].nunique() >= 40 and sentences["group"].nunique() == 7
    assert (sentences.groupby("term")["label"].agg(["size", "mean"]) == [20, 0.5]).all().all()
    assert "Muslim people are disgusting and should go to hell." in set(sentences["sentence"])
    pd.testing.assert_frame_equal(pd.read_csv(AUDIT_FILE, keep_default_na=False), sentences)


def test_bpsn_is_low_when_a_term_alone_makes_neutral_sentences_look_toxic():
    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    in_subgroup = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    biased = np.array([0.8, 0.7, 0.95, 0.9, 0.1, 0.2, 0.6, 0.65])  # the term's neutral ones score high
    aucs = identity_aucs(labels, biased, in_subgroup)
    assert aucs["subgroup_auc"] == 1.0 and aucs["bpsn_auc"] == 0.0 and aucs["bnsp_auc"] == 1.0


def test_template_audit_rates_by_hand():
    sentences = audit_sentences()
    scores = np.where(sentences["label"] == 1, 0.9, 0.1)
    scores[(sentences["term"] == "gay") & (sentences["label"] == 0)] = 0.8  # every neutral "gay" sentence flagged
    audit = template_audit(sentences, scores, threshold=0.5)
    assert audit["terms"]["gay"]["neutral_false_positive_rate"] == 1.0
    assert audit["terms"]["Muslim"]["neutral_false_positive_rate"] == 0.0
    assert audit["overall"]["neutral_false_positive_rate"] == pytest.approx(1 / sentences["term"].nunique())
    assert audit["overall"]["toxic_recall"] == 1.0


def test_real_split_audit_needs_enough_mentions():
    texts = ["the gay rights article"] * 60 + ["other"] * 60
    labels = np.array([1] * 15 + [0] * 45 + [1] * 10 + [0] * 50)
    audited = real_split_audit(texts, labels, np.linspace(0, 1, 120), ["gay", "Muslim"], resamples=50)
    assert set(audited["terms"]) == {"gay"} and audited["terms"]["gay"]["rows"] == 60
    assert audited["terms"]["gay"]["toxic"] == 15 and audited["worst_terms_by_bpsn_auc"][0][0] == "gay"


def test_run_eval_audits_a_tiny_model_for_every_term(tmp_path, tiny_dataset_dir, tiny_classifier_dir):
    run_eval.main(["--bias-audit", "--dataset", str(tiny_dataset_dir), "--backend", "torch",
                   "--checkpoints", f"tiny={tiny_classifier_dir}", "--results-dir", str(tmp_path)])  # fmt: skip
    result = json.loads((tmp_path / "bias.json").read_text())
    terms = result["models"]["tiny"]["templates"]["terms"]
    assert len(terms) == result["terms"] >= 40
    metrics = {"neutral_false_positive_rate", "toxic_false_negative_rate", "subgroup_auc", "bpsn_auc", "bnsp_auc"}
    assert all(metrics <= set(values) for values in terms.values())
    assert (tmp_path / "bias.png").read_bytes()[:4] == b"\x89PNG"


def test_the_audit_uses_each_model_s_own_operating_point(tmp_path, tiny_dataset_dir, tiny_classifier_dir):
    """A model without a stored threshold is audited at its validation max-F1 threshold, never at 0.5."""
    import shutil

    from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN, load_splits
    from toxiclf.evaluation.metrics import best_f1_threshold
    from toxiclf.inference.classifier import load_classifier

    shipped = tmp_path / "shipped"
    shutil.copytree(tiny_classifier_dir, shipped)
    unshipped = tmp_path / "unshipped"  # a trained checkpoint: no threshold.json yet
    shutil.copytree(tiny_classifier_dir, unshipped, ignore=shutil.ignore_patterns("threshold.json"))
    (shipped / "threshold.json").write_text(json.dumps({"thresholds": {"torch": {"threshold": 0.77}}}))
    run_eval.main(["--bias-audit", "--dataset", str(tiny_dataset_dir), "--backend", "torch", "--checkpoints",
                   f"shipped={shipped}", f"trained={unshipped}", "--results-dir", str(tmp_path)])  # fmt: skip
    models = json.loads((tmp_path / "bias.json").read_text())["models"]
    assert models["shipped"]["threshold"] == 0.77 and models["shipped"]["threshold_source"] == "threshold.json"

    validation = load_splits(str(tiny_dataset_dir))["validation"]
    scores = load_classifier(unshipped, "torch", need_threshold=False).scores(validation[TEXT_COLUMN])
    expected = best_f1_threshold(np.array(validation[LABEL_COLUMN]), scores)
    assert models["trained"]["threshold"] == pytest.approx(expected, abs=1e-6)
    assert models["trained"]["threshold_source"].startswith("validation split, max F1")


def test_a_model_audited_with_the_same_inputs_is_not_scored_again(tmp_path, tiny_dataset_dir, tiny_classifier_dir,
                                                                   monkeypatch):  # fmt: skip
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    audit = ["--bias-audit", "--dataset", str(tiny_dataset_dir), "--backend", "torch", "--results-dir", str(tmp_path)]
    run_eval.main([*audit, "--checkpoints", f"first={model}"])
    first = json.loads((tmp_path / "bias.json").read_text())["models"]["first"]

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored a model whose audit is already there")

    from toxiclf.evaluation.commands import audit as audit_command

    with monkeypatch.context() as patched:
        patched.setattr(audit_command, "load_classifier", no_scoring)
        run_eval.main([*audit, "--checkpoints", f"again={model}"])
    assert json.loads((tmp_path / "bias.json").read_text())["models"]["again"] == first

    (model / "threshold.json").write_text(json.dumps({"thresholds": {"torch": {"threshold": 0.9}}}))
    run_eval.main([*audit, "--checkpoints", f"moved={model}"])  # a new operating point: audited again
    moved = json.loads((tmp_path / "bias.json").read_text())["models"]["moved"]
    assert moved["threshold"] == 0.9 and moved["audit_key"] != first["audit_key"]


def test_an_unreadable_earlier_audit_is_audited_again(tmp_path, tiny_dataset_dir, tiny_classifier_dir):
    (tmp_path / "bias.json").write_text('{"models": {"tiny": {"templa')  # a write cut half-way
    run_eval.main(["--bias-audit", "--dataset", str(tiny_dataset_dir), "--backend", "torch",
                   "--checkpoints", f"tiny={tiny_classifier_dir}", "--results-dir", str(tmp_path)])  # fmt: skip
    assert "audit_key" in json.loads((tmp_path / "bias.json").read_text())["models"]["tiny"]


def test_earlier_audits_stay_while_their_files_are_unchanged(tmp_path, tiny_dataset_dir, tiny_classifier_dir):
    import shutil

    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(tiny_classifier_dir, first)
    shutil.copytree(tiny_classifier_dir, second)
    (second / "threshold.json").write_text(json.dumps({"thresholds": {"torch": {"threshold": 0.7}}}))
    audit = ["--bias-audit", "--dataset", str(tiny_dataset_dir), "--backend", "torch", "--results-dir", str(tmp_path),
             "--no-baselines"]  # fmt: skip
    run_eval.main([*audit, "--checkpoints", f"before={first}"])
    run_eval.main([*audit, "--checkpoints", f"after={second}"])  # e.g. the mitigated model, shipped
    assert set(json.loads((tmp_path / "bias.json").read_text())["models"]) == {"before", "after"}

    (first / "threshold.json").write_text(json.dumps({"thresholds": {"torch": {"threshold": 0.9}}}))
    run_eval.main([*audit, "--checkpoints", f"after={second}"])  # "before" now describes other files: dropped
    assert set(json.loads((tmp_path / "bias.json").read_text())["models"]) == {"after"}
    assert not list(tmp_path.glob(".bias.json*"))


def test_tf_idf_is_audited_at_its_validation_threshold_and_kept_while_its_rows_are_the_same(
    tmp_path, tiny_dataset_dir, tiny_classifier_dir, monkeypatch
):
    from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN, load_splits
    from toxiclf.evaluation.baselines import TfidfBaseline
    from toxiclf.evaluation.commands import audit as audit_command
    from toxiclf.evaluation.metrics import best_f1_threshold

    audit = ["--bias-audit", "--dataset", str(tiny_dataset_dir), "--backend", "torch", "--results-dir", str(tmp_path),
             "--checkpoints", f"tiny={tiny_classifier_dir}"]  # fmt: skip
    run_eval.main(audit)
    tfidf = json.loads((tmp_path / "bias.json").read_text())["models"]["tfidf-logreg"]
    splits = load_splits(str(tiny_dataset_dir))
    fitted = TfidfBaseline(seed=42).fit(splits["train"][TEXT_COLUMN], np.array(splits["train"][LABEL_COLUMN]))
    validation = splits["validation"]
    expected = best_f1_threshold(np.array(validation[LABEL_COLUMN]), fitted.scores(validation[TEXT_COLUMN]))
    assert tfidf["threshold"] == pytest.approx(expected, abs=1e-6)
    assert tfidf["backend"] == "scikit-learn" and tfidf["train_rows"] == len(splits["train"])
    assert tfidf["real_test_split"]["rows"] == len(splits["test"])

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted TF-IDF again for the same rows")

    monkeypatch.setattr(TfidfBaseline, "fit", no_fit)
    monkeypatch.setattr(audit_command, "load_classifier", lambda *a, **k: no_fit())
    run_eval.main(audit)  # the same rows: both audits kept, nothing fitted or scored
    run_eval.main([*audit, "--no-baselines"])  # no baseline this time: the last TF-IDF audit stays in the file
    assert json.loads((tmp_path / "bias.json").read_text())["models"]["tfidf-logreg"] == tfidf


def test_the_real_comments_table_names_each_model_s_bias_figure_and_worst_terms_by_bpsn_auc():
    from toxiclf.evaluation.identity_audit import real_comments_table

    def term(bpsn, rows):
        return {"bpsn_auc": bpsn, "bpsn_auc_95ci": [bpsn - 0.01, bpsn + 0.01], "rows": rows, "toxic": 12}

    real = {"bias_figure": 0.95, "bias_figure_95ci": [0.94, 0.96], "power_mean_subgroup_auc": 0.93,
            "power_mean_bpsn_auc": 0.94, "power_mean_bpsn_auc_95ci": [0.92, 0.95], "power_mean_bnsp_auc": 0.97,
            "terms": {"gay": term(0.91, 1200), "Muslim": term(0.97, 80), "Black": term(0.95, 300),
                      "old": term(0.99, 900)},
            "worst_terms_by_bpsn_auc": [["gay", 0.91], ["Black", 0.95], ["Muslim", 0.97], ["old", 0.99]]}  # fmt: skip
    table = real_comments_table({"shipped": {"real_test_split": real}, "templates only": {"templates": {}}})
    lines = table.strip().splitlines()
    assert len(lines) == 3  # header, rule, one model: an audit without real-comment figures is left out
    assert lines[2].startswith("| shipped | 0.9500 [0.940, 0.960] | 0.9300 | 0.9400 [0.920, 0.950] | 0.9700 |")
    assert "gay 0.910 [0.900, 0.920] (1,200 comments, 12 toxic); Black 0.950" in lines[2]
    assert "Muslim 0.970" in lines[2] and "old" not in lines[2]  # the three worst only
    assert real_comments_table({"templates only": {"templates": {}}}) == ""
