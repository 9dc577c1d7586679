"""The text preprocessing a model folder may ask for (its preprocessing file), one registry for every user of it: the
classifier runs the steps, `ship_model.py` sets them, the model card describes them."""

from collections.abc import Callable
from dataclasses import dataclass

from .obfuscation import normalise, segment_joined_words
from .spelling import restore_misspelt_words


@dataclass(frozen=True)
class Step:
    run: Callable[[str], str]
    described: str  # the model card's words for it
    module: str  # where it is written


# Each setting of a folder's preprocessing file (ModelFolder.PREPROCESSING), in the order it runs: spaced-out letters
# are joined before joined-up words are split ("k i l l e v e r y" -> "killevery" -> "kill every"), and look-alike
# digits read as letters before a misspelt word is repaired ("1d0its" -> "idoits" -> "idiots").
PREPROCESSING_STEPS = {
    "normalise_obfuscation": Step(
        normalise,
        "letters spaced out to get past a filter are joined and look-alike digits inside words read as letters",
        "toxiclf/inference/obfuscation.py",
    ),
    "restore_misspelt_words": Step(
        restore_misspelt_words,
        "a word the training comments never use is read as the common word one dropped or swapped letter away",
        "toxiclf/inference/spelling.py",
    ),
    "segment_joined_words": Step(
        segment_joined_words,
        "words written without spaces are split into known words, by wordninja's word frequencies",
        "toxiclf/inference/obfuscation.py",
    ),
}


def steps_asked(asked: dict) -> list[Callable[[str], str]]:
    """The functions a folder's settings turn on, in their order."""
    return [step.run for name, step in PREPROCESSING_STEPS.items() if asked.get(name)]


def _shape(pattern: str, length: int) -> str:
    return (pattern * (length // len(pattern) + 1))[:length]


# Texts of one kind at any length, for the linear-time check: runs without spaces (the case that was quadratic),
# words, spaced and dotted letters, look-alike letters and emoji inside a word.
TEXT_SHAPES = {
    "letters, no spaces": "abcdefghij",
    "letters and digits, no spaces": "a1b3c0d5",
    "words": "you are such an idiot, go away ",
    "spaced letters": "i d i o t ",
    "dotted letters": "i.d.i.o.t.",
    "look-alike letters, no spaces": "іdіоtidiot",
    "emoji inside words": "id🤬iot ",
}


def step_timings(steps=None, lengths=(1_000, 100_000), repeats: int = 5, shapes=None,
                 chars_per_sample: int = 200_000) -> dict:  # fmt: skip
    """Median milliseconds per call of each step (default: every step of PREPROCESSING_STEPS and the Unicode
    reading) on each of `shapes` (default: TEXT_SHAPES) at each length: {step: {shape: {length: ms}}}. Each sample
    times `chars_per_sample` characters' worth of calls, so that a short text's sample lasts as long as a long
    one's and neither the clock's grain nor a neighbour's burst decides the ratio."""
    import statistics
    import time

    from .unicode_text import read_unicode

    steps = steps or {"read_unicode": read_unicode, **{name: step.run for name, step in PREPROCESSING_STEPS.items()}}
    shapes = shapes or list(TEXT_SHAPES)
    timings = {name: {shape: {} for shape in shapes} for name in steps}
    for name, run in steps.items():
        for shape in shapes:
            pattern = TEXT_SHAPES[shape]
            texts = {length: _shape(pattern, length) for length in lengths}
            samples = {length: [] for length in lengths}
            for _ in range(repeats):  # the lengths interleaved: a busy neighbour slows them alike
                for length, text in texts.items():
                    calls = max(1, chars_per_sample // length)
                    started = time.perf_counter()
                    for _ in range(calls):
                        run(text)
                    samples[length].append((time.perf_counter() - started) / calls * 1000)
            for length in lengths:
                timings[name][shape][length] = statistics.median(samples[length])
    return timings
