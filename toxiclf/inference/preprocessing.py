"""The text preprocessing a model folder may ask for (`preprocessing.json`), one registry for every user of it: the
classifier runs the steps, `ship_model.py` sets them, the model card describes them."""

from collections.abc import Callable
from dataclasses import dataclass

from .obfuscation import normalise, segment_joined_words
from .spelling import restore_misspelt_words

PREPROCESSING_FILE = "preprocessing.json"  # {"normalise_obfuscation": true, ...}: which steps run before tokenizing


@dataclass(frozen=True)
class Step:
    run: Callable[[str], str]
    described: str  # the model card's words for it
    module: str  # where it is written


# Each setting of preprocessing.json, in the order it runs: spaced-out letters are joined before joined-up words are
# split ("k i l l e v e r y" -> "killevery" -> "kill every"), and look-alike digits read as letters before a
# misspelt word is repaired ("1d0its" -> "idoits" -> "idiots").
PREPROCESSING_STEPS = {
    "normalise_obfuscation": Step(
        normalise,
        "letters spaced out to get past a filter are joined and look-alike digits inside words read as letters",
        "toxiclf/obfuscation.py",
    ),
    "restore_misspelt_words": Step(
        restore_misspelt_words,
        "a word the training comments never use is read as the common word one dropped or swapped letter away",
        "toxiclf/spelling.py",
    ),
    "segment_joined_words": Step(
        segment_joined_words,
        "words written without spaces are split into known words, by wordninja's word frequencies",
        "toxiclf/obfuscation.py",
    ),
}


def steps_asked(asked: dict) -> list[Callable[[str], str]]:
    """The functions a folder's settings turn on, in their order."""
    return [step.run for name, step in PREPROCESSING_STEPS.items() if asked.get(name)]
