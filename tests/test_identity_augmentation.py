"""The mitigation's training sentences: disjoint from the audit, seeded, and balanced per term as Dixon et al."""

import argparse
import itertools
import re

import pytest

from toxiclf.data.augment_identity import (
    MIN_PER_TERM,
    audit_terms,
    augmentation_sentences,
    balanced_sentences,
    balancing_counts,
    term_pool,
)
from toxiclf.evaluation.identity_audit import audit_sentences
from toxiclf.training.arguments import DataArguments, from_namespace


def word_ngrams(sentence: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", sentence.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_no_training_sentence_is_an_audit_sentence_or_shares_five_words_with_a_neutral_one():
    audit = audit_sentences()
    neutral_ngrams = set().union(*(word_ngrams(s, 5) for s in audit.loc[audit["label"] == 0, "sentence"]))
    for term, statements in itertools.product(audit_terms(), (False, True)):
        pool = term_pool(term, statements)
        assert len(pool) == len(set(pool)) > 8_000  # enough for the most unbalanced term ("gay": ~3,000)
        assert not set(pool) & set(audit["sentence"])
        assert not [s for s in pool if word_ngrams(s, 5) & neutral_ngrams]
    statement = "Our new coach is gay."
    assert statement in term_pool("gay", statements=True) and statement not in term_pool("gay")


def test_fixed_count_sentences_are_seeded_and_bounded():
    sentences = augmentation_sentences(300, seed=1)
    assert len(set(sentences)) == 300 and sentences == augmentation_sentences(300, seed=1)
    assert sentences != augmentation_sentences(300, seed=2)
    with pytest.raises(ValueError, match="at most 765"):
        augmentation_sentences(766, seed=0)


def test_balancing_brings_a_term_to_the_base_rate_and_gives_every_term_the_minimum():
    # 20 comments, base rate 0.25; "gay" in 4 of them, 3 toxic: 3 / (4 + x) = 0.25 -> x = 8 (the minimum wins)
    texts = ["you gay idiot"] * 3 + ["a gay editor"] + ["you idiot"] * 2 + ["fine edit"] * 14
    labels = [1, 1, 1, 0, 1, 1] + [0] * 14
    assert balancing_counts(texts, labels, minimum=0)["gay"] == 8
    assert balancing_counts(texts, labels, minimum=0)["Muslim"] == 0
    counts = balancing_counts(texts, labels)
    assert counts["gay"] == MIN_PER_TERM and set(counts) == set(audit_terms())
    many_toxic = ["you gay idiot"] * 30 + ["fine edit"] * 70
    assert balancing_counts(many_toxic, [1] * 30 + [0] * 70, minimum=0)["gay"] == 70  # 30 / 0.3 - 30
    with pytest.raises(ValueError, match="no toxic"):
        balancing_counts(["fine"], [0])


def test_statements_are_balanced_against_the_comments_that_say_someone_is_the_term():
    # base rate 0.4; "is gay" in 3 comments, 3 toxic ("u r gay" counts): 3 / 0.4 - 3 = 4.5 -> 5
    texts = ["u r gay", "he is so gay lol", "you are a gay loser", "gay rights article", "a gay editor"] + ["ok"] * 5
    labels = [1, 1, 1, 1, 0] + [0] * 5
    assert balancing_counts(texts, labels, minimum=0, statements=True)["gay"] == 5
    assert balancing_counts(texts, labels, minimum=0)["gay"] == 5  # 4 / 0.4 - 5
    sentences, counts = balanced_sentences(texts, labels, seed=0, minimum=0, statements=True)
    assert counts["gay"] == counts["gay (statements)"] == 5 and len(sentences) == 10
    assert set(sentences[5:]) <= set(term_pool("gay", statements=True))


def test_balanced_sentences_follow_the_counts_and_the_seed():
    texts, labels = ["you gay idiot"] * 30 + ["fine edit"] * 70, [1] * 30 + [0] * 70
    sentences, counts = balanced_sentences(texts, labels, seed=0)
    assert len(sentences) == sum(counts.values()) == 70 + MIN_PER_TERM * (len(counts) - 1)
    assert len(set(sentences)) == len(sentences)
    assert sum(bool(re.search(r"\bgay\b", s)) for s in sentences) == 70
    assert balanced_sentences(texts, labels, seed=0)[0] == sentences != balanced_sentences(texts, labels, seed=1)[0]


def parse_training_args(argv):
    from toxiclf.training import common as training

    parser = argparse.ArgumentParser()
    training.add_common_args(parser, output_dir="out", learning_rate=5e-5, epochs=1)
    args = parser.parse_args(argv)
    training.check_common_args(parser, args)
    return args


@pytest.mark.parametrize("value", ["-3", "some", "1.5"])
def test_a_bad_augmentation_value_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit):
        parse_training_args(["--identity-augmentation", value])
    assert "number of sentences or one of balanced, balanced-statements" in capsys.readouterr().err


@pytest.mark.parametrize("augmentation", ["25", "balanced", "balanced-statements"])
def test_training_data_gets_the_identity_sentences(augmentation, tiny_dataset_dir, tokenizer):
    from toxiclf.training import common as training

    args = parse_training_args(["--dataset", str(tiny_dataset_dir), "--identity-augmentation", augmentation])
    train, validation, _ = training.load_training_data(from_namespace(DataArguments, args), tokenizer)
    added = len(train) - 140
    per_term = {"25": 0, "balanced": 1, "balanced-statements": 2}[augmentation] * MIN_PER_TERM
    assert added == 25 if augmentation == "25" else added >= per_term * len(audit_terms())
    assert len(validation) == 20 and train["labels"][-added:] == [0] * added
