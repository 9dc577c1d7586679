"""The functional suite: its size and labels, disjoint from every training template, and its report's arithmetic."""

import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest

import run_eval
from toxiclf.data.augment_identity import audit_terms, term_pool
from toxiclf.data.augment_templates import ROBUSTNESS_FILE, _pool
from toxiclf.evaluation.functional_suite import SUITE_FILE, functional_report, load_suite, plain_bases, suite_cases


def word_ngrams(sentence: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", sentence.casefold())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_the_committed_suite_is_what_the_generator_writes():
    written, generated = load_suite(), suite_cases()
    pd.testing.assert_frame_equal(written, generated.astype(written.dtypes.to_dict()))


def test_the_suite_is_large_and_each_functionality_has_one_gold_label():
    cases = load_suite()
    assert len(cases) >= 1500 and cases["case_id"].is_unique
    labels = cases.groupby("functionality")["label"].nunique()
    assert len(labels) >= 20 and (labels == 1).all()
    assert {"counter_speech_quote", "negated_hate", "threat_direct", "obfuscation_leet"} <= set(labels.index)
    assert cases["text"].str.strip().ne("").all() and not cases["text"].str.contains(r"[{}\[\]]").any()


def test_obfuscated_cases_disguise_the_marked_words_and_nothing_else():
    cases = load_suite().set_index("case_id")
    by_kind = {kind: cases[cases["functionality"] == f"obfuscation_{kind}"]["text"].tolist()
               for kind in ("leet", "spaces_added", "spaces_removed")}  # fmt: skip
    assert all(re.search(r"[0-9@$]", text) for text in by_kind["leet"])
    assert "I will k i l l every woman I see." in by_kind["spaces_added"]
    assert "I willkillevery woman I see." in by_kind["spaces_removed"]


def test_no_training_sentence_shares_five_words_in_a_row_with_a_suite_case():
    suite = [*load_suite()["text"], *plain_bases()]
    suite_ngrams = set().union(*map(word_ngrams, suite))
    spec = json.loads(ROBUSTNESS_FILE.read_text())
    robustness = [s for entry in spec["kinds"].values() for s in _pool(entry["templates"], spec)]
    identity = [s for term, kind in itertools.product(audit_terms(), (False, True)) for s in term_pool(term, kind)]
    for name, training in (("robustness", robustness), ("identity", identity)):
        assert not set(training) & set(suite), name
        assert not [s for s in training if word_ngrams(s) & suite_ngrams], name


def test_the_report_counts_flags_per_functionality_and_checks_the_goals():
    cases = pd.DataFrame({
        "functionality": ["threat_direct"] * 10 + ["negated_hate"] * 10 + ["counter_speech_quote"] * 5,
        "label": [1] * 10 + [0] * 10 + [0] * 5,
    })  # fmt: skip
    scores = np.array([0.9] * 9 + [0.1] + [0.6] * 2 + [0.2] * 8 + [0.8] * 2 + [0.1] * 3)
    report = functional_report(cases, scores, threshold=0.5)
    threat, negated, counter = (report["functionalities"][f] for f in ("threat_direct", "negated_hate",
                                                                         "counter_speech_quote"))  # fmt: skip
    assert threat["flagged_rate"] == threat["pass_rate"] == 0.9 and threat["meets_goal"]
    assert negated["flagged_rate"] == 0.2 and negated["pass_rate"] == 0.8 and not negated["meets_goal"]
    assert counter["flagged_rate"] == 0.4 and counter["meets_goal"]  # counter-speech may be flagged up to 40 %
    assert report["toxic_caught"] == 0.9 and report["non_toxic_flagged"] == pytest.approx(4 / 15)
    assert (report["goals_met"], report["goals"]) == (2, 3)


def test_run_eval_scores_the_suite_at_each_model_s_operating_point(tmp_path, tiny_dataset_dir, tiny_classifier_dir):
    import shutil

    shipped = tmp_path / "shipped"
    shutil.copytree(tiny_classifier_dir, shipped)
    unshipped = tmp_path / "unshipped"  # a trained checkpoint: no threshold.json yet
    shutil.copytree(tiny_classifier_dir, unshipped, ignore=shutil.ignore_patterns("threshold.json"))
    (shipped / "threshold.json").write_text(json.dumps({"thresholds": {"torch": {"threshold": 0.77}}}))
    run_eval.main(["--functional", "--normalise", "--segment-joined-words", "--restore-spelling",
                   "--dataset", str(tiny_dataset_dir),
                   "--backend", "torch", "--checkpoints", f"shipped={shipped}", f"plain={unshipped}",
                   "--results-dir", str(tmp_path)])  # fmt: skip
    result = json.loads((tmp_path / "functional.json").read_text())
    names = {"shipped", "plain", "tfidf-logreg"}
    assert set(result["models"]) == names | {f"{name}{suffix}" for name in names
                                             for suffix in (" +normalise", " +normalise +segment",
                                                            " +normalise +spelling",
                                                            " +normalise +spelling +segment")}  # fmt: skip
    assert result["suite"]["cases"] == len(load_suite()) and result["suite"]["file"] == SUITE_FILE.name
    shipped_report = result["models"]["shipped"]
    assert shipped_report["threshold"] == 0.77 and shipped_report["threshold_source"] == "threshold.json"
    assert result["models"]["plain"]["threshold_source"].startswith("validation max F1")
    from sklearn.metrics import roc_auc_score

    from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN, load_splits
    from toxiclf.inference.classifier import load_classifier

    validation = load_splits(str(tiny_dataset_dir), 42)["validation"]
    expected = roc_auc_score(validation[LABEL_COLUMN], load_classifier(tiny_classifier_dir, "torch").scores(
        validation[TEXT_COLUMN]))  # fmt: skip
    assert result["models"]["plain"]["validation_roc_auc"] == pytest.approx(expected)
    assert len(shipped_report["functionalities"]) == load_suite()["functionality"].nunique()
    assert (tmp_path / "functional.png").read_bytes()[:4] == b"\x89PNG"
    # a second run for one model keeps the others' entries
    run_eval.main(["--functional", "--no-baselines", "--dataset", str(tiny_dataset_dir), "--backend", "torch",
                   "--checkpoints", f"plain={unshipped}", "--results-dir", str(tmp_path)])  # fmt: skip
    assert "tfidf-logreg" in json.loads((tmp_path / "functional.json").read_text())["models"]


def test_the_docs_table_shows_the_baseline_and_the_shipped_models_weakest_first(tmp_path, monkeypatch):
    from research import report
    from toxiclf.evaluation import functional_eval

    cases = pd.DataFrame({"functionality": ["threat_direct"] * 4, "label": [1] * 4})
    entry = {name: functional_report(cases, np.array(scores), threshold=0.5)
             for name, scores in (("shipped", [0.9] * 4), ("shipped-round-2", [0.9, 0.9, 0.9, 0.1]),
                                  ("tfidf-logreg", [0.1] * 4), ("minilm-l6-robust-r11", [0.9] * 4),
                                  ("shipped +normalise", [0.9] * 4), ("soup-r8-r0-9", [0.9] * 4))}  # fmt: skip
    assert functional_eval.table_models(entry) == ["tfidf-logreg", "shipped-round-2", "shipped"]
    (tmp_path / "functional.json").write_text(json.dumps({"models": entry}))
    monkeypatch.setattr(report, "summary_markdown", lambda results: "")  # the results table: not this test's subject
    plotted = []
    monkeypatch.setattr(functional_eval, "plot", lambda models, path: plotted.append((list(models), path.name)))
    page = tmp_path / "page.md"
    page.write_text("<!-- functional:start -->\nold\n<!-- functional:end -->\n")
    assert report.update_docs(tmp_path, pages=[page]) == [page]
    header = page.read_text().splitlines()[1]
    assert header == "| functionality | gold | goal | tfidf-logreg | shipped-round-2 | shipped |"
    assert "| threat_direct | toxic | caught >= 90% | 0% | 75% | 100% |" in page.read_text()
    # the figure is redrawn for the table's models alone, not for every candidate in the JSON
    assert plotted == [(["tfidf-logreg", "shipped-round-2", "shipped"], "functional.png")]


def test_validation_bias_ranks_a_model_that_flags_group_mentions_below_one_that_does_not():
    from toxiclf.evaluation.functional_eval import validation_bias

    rng = np.random.default_rng(0)
    # 60 comments name "muslim" (20 toxic), 400 name no group (100 toxic): a model that scores every mention of
    # the group high has a poor BPSN AUC for it, one that reads only the label a perfect one.
    texts = [f"the muslim neighbour {i}" for i in range(60)] + [f"the neighbour {i}" for i in range(400)]
    labels = np.array([1] * 20 + [0] * 40 + [1] * 100 + [0] * 300)
    fair = labels * 0.8 + rng.uniform(0, 0.1, len(labels))
    biased = fair + np.r_[np.full(60, 0.85), np.zeros(400)]
    fair_figures, biased_figures = validation_bias(texts, labels, fair), validation_bias(texts, labels, biased)
    assert fair_figures["terms"] == biased_figures["terms"] == 1
    assert fair_figures["worst_bpsn"] == {"Muslim": 1.0}  # as the terms file spells it
    assert biased_figures["worst_bpsn"]["Muslim"] < 0.8
    assert biased_figures["bias_figure"] < fair_figures["bias_figure"]


def test_benign_group_sentences_are_counted_as_flagged_at_the_threshold_all_and_short():
    from toxiclf.evaluation.functional_eval import flagged_shares

    sentences = ["my Sikh neighbour baked bread", "the Muslim family next door " + "word " * 20]
    assert flagged_shares(sentences, [0.9, 0.2], threshold=0.5) == {
        "rows": 2, "flagged": 0.5, "short_rows": 1, "short_flagged": 1.0}  # fmt: skip
    assert flagged_shares([], [], threshold=0.5)["flagged"] is None
