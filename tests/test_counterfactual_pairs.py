"""Counterfactual logit pairing: the pairs cut from benign comments, their batches, the loss term and its flags."""

import math
import re

import pytest
import torch
from conftest import make_tiny_bert
from transformers import TrainingArguments

import run_distill
from toxiclf.data.group_sentences import Lexicon, counterfactual_pairs
from toxiclf.training.counterfactual_pairs import CounterfactualPairs
from toxiclf.training.distill_trainer import DistillationTrainer
from toxiclf.training.losses import logit_pair_gap

LEXICON = Lexicon(
    adjectives=["Sikh", "Muslim", "Polish"], plurals=["Sikhs", "Muslims", "nurses"],
    swap_from_adjectives=["Sikh", "Muslim"], swap_from_plurals=["Sikhs", "Muslims"],
    neutral_adjectives=["local"], neutral_plurals=["neighbours"],
)  # fmt: skip
COMMENTS = [
    ("My Sikh neighbour baked bread for the street. Thanks for the edit.", 0),
    ("The Muslim families on our road run the book club.", 0),
    ("Muslims in the town opened a new library this week.", 0),
    ("I hate all Muslims and they should leave.", 1),  # toxic: never a donor
    ("This page needs a citation for the date.", 0),  # names no group
    ("A Sikh and a Muslim walked in.", 0),  # names two groups: no donor
]


def test_pairs_come_from_benign_sentences_naming_one_group_and_differ_only_in_the_group_word():
    texts, labels = zip(*COMMENTS, strict=True)
    pairs = counterfactual_pairs(texts, labels, seed=0, count=100, lexicon=LEXICON)
    firsts = sorted(first for first, _ in pairs)
    assert firsts == sorted(["My Sikh neighbour baked bread for the street.",
                             "The Muslim families on our road run the book club.",
                             "Muslims in the town opened a new library this week."])  # fmt: skip
    words = re.compile(r"\b(" + "|".join(LEXICON.terms() + ["local", "neighbours"]) + r")\b", re.IGNORECASE)
    for first, twin in pairs:
        assert first != twin
        assert words.sub("X", first) == words.sub("X", twin)  # the same sentence but the group word
    assert not any("hate" in first for first, _ in pairs)


def test_pairs_are_seeded_and_capped():
    texts, labels = zip(*COMMENTS, strict=True)
    assert counterfactual_pairs(texts, labels, 3, 100, LEXICON) == counterfactual_pairs(texts, labels, 3, 100, LEXICON)
    assert len(counterfactual_pairs(texts, labels, 3, 2, LEXICON)) == 2


def test_logit_pair_gap_is_the_mean_absolute_gap_of_the_toxic_log_odds():
    logits = torch.tensor([[0.0, 2.0], [1.0, 0.0]])  # log-odds 2, -1
    twins = torch.tensor([[0.0, -1.0], [0.5, 0.5]])  # log-odds -1, 0
    assert math.isclose(logit_pair_gap(logits, twins).item(), (3 + 1) / 2)
    assert logit_pair_gap(logits, logits + 5).item() == 0  # a shift of both logits keeps the log-odds


def test_pair_batches_hold_texts_then_twins_and_every_pair_once_per_pass(tokenizer):
    pairs = [("you idiot", "the page"), ("thanks", "thanks please"), ("this is a", "this is the")]
    served = CounterfactualPairs(pairs, tokenizer, per_step=2, max_length=16, seed=0)
    seen = []
    for _ in range(3):  # 6 pairs: two passes over three
        batch = served.next_batch("cpu")
        assert batch["input_ids"].shape[0] == 4
        texts = tokenizer.batch_decode(batch["input_ids"], skip_special_tokens=True)
        seen += list(zip(texts[:2], texts[2:], strict=True))
    assert sorted(seen[:3]) == sorted(pairs) and sorted(seen[3:]) == sorted(pairs)


def test_pair_batches_refuse_no_pairs(tokenizer):
    with pytest.raises(ValueError, match="no counterfactual pairs"):
        CounterfactualPairs([], tokenizer, per_step=2, max_length=16, seed=0)


def _trainer(tmp_path, student, **kwargs):
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True, max_steps=1)
    return DistillationTrainer(model=student, args=args, teacher=None, alpha_ce=1.0, alpha_kl=0.0, alpha_cos=0.0,
                               **kwargs)  # fmt: skip


def test_the_pairing_term_adds_alpha_times_the_gap_of_the_next_pairs(tmp_path, tokenizer):
    student = make_tiny_bert(num_layers=2)
    for module in student.modules():  # dropout off: the hand computation sees the same network
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    student.train()
    batch = {**tokenizer(["you idiot", "the page"], padding=True, return_tensors="pt"), "labels": torch.tensor([1, 0])}
    pairs = [("you idiot", "thanks please"), ("the page", "this is the page")]
    plain = _trainer(tmp_path, student).compute_loss(student, dict(batch))
    paired = _trainer(tmp_path, student, alpha_clp=0.7,
                      counterfactual_pairs=CounterfactualPairs(pairs, tokenizer, 2, 16, seed=0))  # fmt: skip
    loss = paired.compute_loss(student, dict(batch))
    with torch.no_grad():
        first = student(**tokenizer([a for a, _ in pairs], padding=True, return_tensors="pt")).logits
        twin = student(**tokenizer([b for _, b in pairs], padding=True, return_tensors="pt")).logits
    gap = logit_pair_gap(first, twin).item()
    assert gap > 0
    assert math.isclose(loss.item(), plain.item() + 0.7 * gap, rel_tol=1e-4)


def test_the_pairing_term_needs_pairs(tmp_path):
    with pytest.raises(ValueError, match="needs counterfactual_pairs"):
        _trainer(tmp_path, make_tiny_bert(num_layers=2), alpha_clp=1.0)


@pytest.mark.parametrize(("flags", "message"), [(["--alpha-clp", "-1"], "--alpha-clp must be non-negative"),
                                                (["--clp-pairs-per-step", "0"], "must be at least 1")])  # fmt: skip
def test_run_distill_refuses_bad_pairing_flags(flags, message, capsys):
    with pytest.raises(SystemExit):
        run_distill.parse_args(["--student-init", "odd", *flags])
    assert message in capsys.readouterr().err
