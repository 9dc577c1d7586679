"""Misspelt words read as the word they most likely hide: one letter dropped ("idots") or two neighbours swapped
("dsigusting"), the disguises a tokenizer cannot see through, because the pieces of a misspelt word are not the
pieces of the word.

A word is judged by how often it appears in the training comments (`resources/word_counts.json`, built from the
training split alone): one seen there at least `KNOWN_COUNT` times is left as written, so slang, names and the
usual typos of the domain stay; any other is replaced by the most frequent word of the training comments that is
one repair away, if that word is common (`TARGET_COUNT`). Words of two letters, mixed case ("McDonld"), and runs of
letters inside addresses, file names or markup are left alone.

    python -m toxiclf.data.word_counts  # the training split's word counts -> resources/word_counts.json
"""

import collections
import functools
import json
import re

from ..paths import RESOURCES
from .obfuscation import standalone_letters

WORD_COUNTS_FILE = RESOURCES / "word_counts.json"
# Seen this often in the training comments, a word is the domain's own (a name, slang, a common typo): kept.
KNOWN_COUNT = 5
# A repair must be a word this common: rarer neighbours are as likely to be a different typo as the word meant.
TARGET_COUNT = 50
_WORD = re.compile(r"[a-z]+")
_CANDIDATE = standalone_letters(3)


def count_words(texts, min_count: int = KNOWN_COUNT) -> dict[str, int]:
    """Lower-cased words of letters and how often they occur, the ones seen at least `min_count` times, most
    frequent first."""
    counts = collections.Counter(word for text in texts for word in _WORD.findall(text.lower()))
    return {word: count for word, count in counts.most_common() if count >= min_count}


@functools.cache
def word_counts() -> dict[str, int]:
    return json.loads(WORD_COUNTS_FILE.read_text())["counts"]


def disguises(word: str):
    """Every spelling of `word` with one inner letter dropped (not its first or last, which a reader anchors on) or
    two different neighbouring letters swapped: the misspellings that a repair undoes."""
    for i in range(1, len(word) - 1):
        yield word[:i] + word[i + 1 :]
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            yield word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@functools.cache
def misspellings() -> dict[str, str]:
    """Each disguise of a common word, mapped to the most frequent common word it can hide: a repair is then one
    look-up, as fast for a word never seen before as for one seen a thousand times (trying every repair of an
    unknown word costs some 200 look-ups, which on a stream of new comments is most of the step)."""
    common = sorted(((count, word) for word, count in word_counts().items() if count >= TARGET_COUNT))
    return {spelling: word for _, word in common for spelling in disguises(word)}  # the most frequent wins


def restored_word(word: str) -> str:
    """The lower-case `word` itself when it is known, else its most frequent common repair, else itself."""
    if word_counts().get(word, 0) >= KNOWN_COUNT:
        return word
    return misspellings().get(word, word)


def restore_misspelt_words(text: str) -> str:
    """Each unknown word of three or more letters replaced by its most likely repair, in the word's own case
    ("Muslims are dsigusting idoits" -> "Muslims are disgusting idiots")."""

    def restore(match: re.Match) -> str:
        word = match.group(0)
        if word.islower():
            return restored_word(word)
        if word.isupper():
            return restored_word(word.lower()).upper()
        if word.istitle():
            return restored_word(word.lower()).title()
        return word

    return _CANDIDATE.sub(restore, text)
