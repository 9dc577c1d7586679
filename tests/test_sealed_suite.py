"""The sealed suite: frozen, reproducible, built to its brief, disjoint from the training templates, and scored
once per model with the rates its results file reports."""

import hashlib
import itertools
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from toxiclf.data.augment_identity import AUGMENTATION_FILE, audit_terms, term_pool
from toxiclf.data.augment_templates import ROBUSTNESS_FILE, _pool
from toxiclf.evaluation import sealed_suite
from toxiclf.evaluation.sealed_suite import (
    RESERVED_TOPIC_WORDS,
    SealedSuiteError,
    load_sealed_suite,
    pair_accuracy,
    reserved_topics,
    sealed_report,
)
from toxiclf.paths import REPO_ROOT

GROUP = "qqgroupqq"  # a group slot, filled by any group: frames are compared, not the groups in them


@pytest.fixture(scope="module")
def cases():
    return load_sealed_suite()


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.casefold().replace("\u2019", "'"))


def four_grams(text: str) -> set[str]:
    w = words(text)
    return {" ".join(w[i : i + 4]) for i in range(len(w) - 3)}


def test_the_suite_is_the_frozen_file():
    record = json.loads((REPO_ROOT / "results" / "sealed_suite.json").read_text())
    digest = hashlib.sha256((REPO_ROOT / record["suite"]["file"]).read_bytes()).hexdigest()
    assert digest == record["suite"]["sha256"] and record["suite"]["written"] == "2026-12-07"
    assert [row["name"] for row in record["models"]][:3] == ["shipped-round-14", "fast-tier", "pre-robustness"]


def test_a_changed_suite_is_refused(tmp_path):
    changed = tmp_path / "sealed_suite.csv"
    changed.write_bytes(sealed_suite.SUITE_FILE.read_bytes().replace(b"Muslims", b"Mulsims", 1))
    with pytest.raises(SealedSuiteError, match="is not the frozen sealed suite"):
        load_sealed_suite(changed)


@pytest.mark.slow
def test_the_generator_writes_the_same_file_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "make_sealed_suite.py"), str(tmp_path)], check=True,
                   capture_output=True)  # fmt: skip
    assert (tmp_path / "sealed_suite.csv").read_bytes() == sealed_suite.SUITE_FILE.read_bytes()
    assert (tmp_path / "sealed_suite_spec.json").read_bytes() == sealed_suite.SPEC_FILE.read_bytes()


def test_the_suite_is_built_to_its_brief(cases):
    assert len(cases) >= 2000 and cases["text"].map(lambda t: len(t.split())).median() <= 12
    groups = cases.loc[cases["group"] != "", ["group", "group_kind"]].drop_duplicates()
    assert len(groups) >= 20
    assert {"religion", "nationality", "age", "profession"} <= set(groups["group_kind"])
    everyday = cases[cases["functionality"] == "everyday_mention"]
    assert (everyday["label"] == 0).all() and len(everyday) >= 0.4 * len(cases) and everyday["topic"].nunique() >= 40
    for kind in ("negated_hate", "counter_speech"):
        share = (cases["functionality"] == kind).mean()
        assert 0.07 <= share <= 0.09 and (cases.loc[cases["functionality"] == kind, "label"] == 0).all()
    pairs = cases[cases["pair_id"] != ""].groupby("pair_id")["label"]
    assert (pairs.size() == 2).all() and (pairs.sum() == 1).all()
    reserved = reserved_topics()
    assert len(reserved) >= 10 and (cases["topic"].value_counts()[reserved] >= 15).all()


def template_sentences():
    """Every sentence the training templates can make (robustness kinds, identity templates, frames and
    statements), each group slot filled with its groups and with a placeholder. The group sentences of
    toxiclf.data.group_sentences are cut from the real comments, like the comments: not templates."""
    spec = json.loads(ROBUSTNESS_FILE.read_text())
    spec_with_slot = {**spec, "groups": [*spec["groups"], GROUP]}
    for kind in spec["kinds"].values():
        yield from _pool(kind["templates"], spec_with_slot)
    for term in [*audit_terms(), GROUP]:
        yield from term_pool(term)
        yield from term_pool(term, statements=True)


@pytest.mark.slow
def test_no_training_template_shares_four_words_with_the_suite(cases):
    seen = set()
    for sentence in template_sentences():
        seen |= four_grams(sentence)
    shared = {}
    for text, group in zip(cases["text"], cases["group"], strict=True):
        mine = four_grams(text) | (four_grams(re.sub(re.escape(group), GROUP, text, flags=re.I)) if group else set())
        if mine & seen:
            shared[text] = sorted(mine & seen)
    assert shared == {}


def test_the_four_word_check_sees_a_shared_frame():
    seen = four_grams("those qqgroupqq are nothing more than rats")
    assert four_grams(re.sub("Sikhs", GROUP, "honestly those Sikhs are nothing more")) & seen


def test_no_training_template_uses_a_reserved_topic():
    reserved = set(reserved_topics())
    assert set(RESERVED_TOPIC_WORDS) == reserved
    spec = json.loads(ROBUSTNESS_FILE.read_text())
    identity = json.loads(AUGMENTATION_FILE.read_text())
    tags = {kind["topic"] for kind in spec["kinds"].values()} | {identity["topic"]}
    assert not tags & reserved
    pieces = [t for kind in spec["kinds"].values() for t in kind["templates"]]
    pieces += [v for values in spec["slots"].values() for v in values] + identity["templates"]
    frames = identity["frames"]
    pieces += [*frames["shapes"], *frames["nouns"], *frames["predicates"], *identity["statements"]["shapes"]]
    on_reserved = [(topic, piece) for piece, (topic, pattern) in itertools.product(pieces, RESERVED_TOPIC_WORDS.items())
                   if re.search(pattern, piece, re.IGNORECASE)]  # fmt: skip
    assert on_reserved == []


def test_the_topic_words_find_their_topic():
    assert re.search(RESERVED_TOPIC_WORDS["weddings"], "the bride's Sikh uncle", re.I)
    assert not re.search(RESERVED_TOPIC_WORDS["sports_clubs"], "the editing team", re.I)


def toy_cases():
    return pd.DataFrame({
        "case_id": ["a", "b", "c", "d", "e"], "pair_id": ["P1", "P1", "P2", "P2", ""], "label": [1, 0, 1, 0, 0],
        "functionality": ["threat", "everyday_mention", "slur", "everyday_mention", "negated_hate"],
        "topic": ["work", "work", "pets", "pets", "work"], "group": ["Sikhs", "Sikhs", "Jews", "Jews", "Roma"],
        "group_kind": ["religion", "religion", "religion", "religion", "ethnicity/race"], "text": list("abcde"),
    })  # fmt: skip


def test_the_report_counts_caught_flagged_and_pairs():
    report = sealed_report(toy_cases(), [0.9, 0.2, 0.9, 0.99, 0.1], threshold=0.5, reserved_topics=["pets"])
    assert report["toxic_caught"] == 1.0 and report["benign_flagged"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["pair_accuracy"] == 0.5 and report["pairs"] == 2  # P1 right, P2's benign twin flagged
    assert report["benign_flagged_at_0.98"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["by_topic"]["pets"] == {"cases": 2, "toxic_caught": 1.0, "benign_flagged": 1.0,
                                          "pair_accuracy": 0.0, "pairs": 1}  # fmt: skip
    assert report["reserved_topics"]["benign_flagged"] == 1.0
    assert report["goals"]["pair_accuracy"]["met"] is False and report["goals"]["toxic_caught"]["met"] is True


def test_pair_accuracy_needs_both_halves():
    frame = toy_cases().assign(right=[True, True, True, False, True])
    assert pair_accuracy(frame) == (0.5, 2)


def test_a_model_is_scored_once(tmp_path, monkeypatch, tiny_classifier_dir):
    results = tmp_path / "sealed_suite.json"
    record = json.loads(sealed_suite.RESULTS_FILE.read_text())
    results.write_text(json.dumps({**record, "models": []}))
    few = load_sealed_suite().head(6)
    monkeypatch.setattr(sealed_suite, "load_sealed_suite", lambda **kwargs: few)
    row = sealed_suite.score_once(tiny_classifier_dir, "tiny", backend="torch", results_file=results)
    assert row["cases"] == 6 and 0 <= row["benign_flagged"] <= 1 and np.isfinite(row["toxic_caught"])
    assert json.loads(results.read_text())["models"][0]["name"] == "tiny"
    with pytest.raises(SealedSuiteError, match="is scored once"):
        sealed_suite.score_once(tiny_classifier_dir, "tiny-again", backend="torch", results_file=results)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_classifier_dir, copy)
    with pytest.raises(SealedSuiteError, match="is scored once"):  # the same weights under another name
        sealed_suite.score_once(copy, "tiny-copy", backend="torch", results_file=results)
