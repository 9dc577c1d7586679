"""Every preprocessing step is linear in the text, and the classifier reads no further than its window reaches."""

import pytest

from toxiclf.inference.classifier import _BatchScorer
from toxiclf.inference.preprocessing import TEXT_SHAPES, step_timings
from toxiclf.paths import REPO_ROOT

# 100x the characters may cost at most this many times the time: linear with room for a busy machine's noise
MAX_RATIO = 150


def _too_slow(timings: dict) -> dict:
    return {(step, shape): round(ms[100_000] / ms[1_000], 1) for step, shapes in timings.items()
            for shape, ms in shapes.items() if ms[100_000] > MAX_RATIO * ms[1_000]}  # fmt: skip


def test_every_step_is_linear_in_the_text_with_and_without_spaces():
    timings = step_timings(repeats=5)
    assert len(timings["normalise_obfuscation"]) == len(TEXT_SHAPES) and "read_unicode" in timings
    # This machine's neighbours move a linear step's ratio between about 85 and 240 from one run to the next (a
    # quadratic one's is about 10,000): a pair over the bound is measured again, longer, before it fails.
    slow = _too_slow(timings)
    for step, shape in list(slow):
        again = step_timings({step: _steps()[step]}, repeats=7, shapes=[shape], chars_per_sample=1_000_000)
        slow.pop((step, shape)) if not _too_slow(again) else slow.update(_too_slow(again))
    assert not slow, f"100,000 characters cost more than {MAX_RATIO}x 1,000, twice: {slow}"


def _steps():
    from toxiclf.inference.preprocessing import PREPROCESSING_STEPS
    from toxiclf.inference.unicode_text import read_unicode

    return {"read_unicode": read_unicode, **{name: step.run for name, step in PREPROCESSING_STEPS.items()}}


@pytest.fixture(scope="module")
def shipped_reader():
    """The shipped model's text reading (tokenizer and steps) without its network."""
    from toxiclf.inference.classifier import read_preprocessing
    from toxiclf.inference.preprocessing import steps_asked

    reader = _BatchScorer(REPO_ROOT / "model")
    assert reader.preprocessing == steps_asked(read_preprocessing(REPO_ROOT / "model"))
    return reader


HOSTILE = {
    "words": "you are such a nice person and " * 2000 + "you idiot",
    "spaced letters": "i d i o t " * 3000 + "you are an idiot",
    "emoji pairs": "👍👍 " * 3000 + "you are an idiot",
    "zero-width pieces": "\u200b\u200b " * 3000 + "you are an idiot",
    "a giant word first": "x" * 60_000 + " you are an idiot",
    "dotted letters": "i.d.i.o.t " * 3000,
    "mixed": "ab@ab$ab 1d10t \u0301\u0301 " * 2000 + "you idiot",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_cutting_at_the_window_changes_no_token_the_model_reads(shipped_reader, name):
    text = HOSTILE[name]
    whole = shipped_reader.tokenizer.encode(_uncut(shipped_reader, text)).ids
    assert shipped_reader.tokenizer.encode(shipped_reader.prepared([text])[0]).ids == whole


def test_a_megabyte_is_cut_to_a_few_thousand_characters(shipped_reader):
    text = "you are such a nice person and " * 40_000
    assert len(shipped_reader.prepared([text])[0]) < 5_000 < len(text)


def _uncut(reader, text: str) -> str:
    cut, reader.cut_to_window = reader.cut_to_window, lambda t: t
    try:
        return reader.prepared([text])[0]
    finally:
        reader.cut_to_window = cut
