"""Misspelt words read as the word they most likely hide: one letter dropped ("idots") or two neighbours swapped
("dsigusting"), the disguises a tokenizer cannot see through, because the pieces of a misspelt word are not the
pieces of the word.

The repair cannot invent. A word is left as written when it is an English word (any word of `wordfreq`'s English
list: "pens", "morn", "waker" are words, not disguises), when the training comments use it at least `KNOWN_COUNT`
times (`resources/word_counts.json`, built from the training split alone: slang and the usual typos of the
domain), or when it looks like a name (capitalised inside a sentence: "Cnut", "Dik"). Any other word is replaced by
the most frequent common word of the training comments (`TARGET_COUNT`) one repair away; where one of the words it
can hide is an offensive word (`resources/offensive_words.json`: the word list of the PyPI package
`better-profanity`, MIT), that one, since a spelling that is no word and one letter from an insult is a known
disguise of it ("rearded" -> "retarded", not "regarded"). An offensive word is never the repair of an English word or
a name. Words of two letters, mixed case ("McDonld"), and runs of letters inside addresses, file names or markup
are left alone.

    python -m toxiclf.data.word_counts       # the training split's word counts -> resources/word_counts.json
    python -m toxiclf.data.offensive_words   # better-profanity's list -> resources/offensive_words.json
"""

import collections
import functools
import json
import re

from ..paths import RESOURCES
from .obfuscation import standalone_letters

WORD_COUNTS_FILE = RESOURCES / "word_counts.json"
OFFENSIVE_WORDS_FILE = RESOURCES / "offensive_words.json"
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


@functools.cache
def english_words() -> frozenset[str]:
    """Every lower-case word of ASCII letters in wordfreq's English list (about 290,000; its data ships in its
    wheel, so this works offline): the words a repair never rewrites."""
    import wordfreq

    return frozenset(w for w in wordfreq.get_frequency_dict("en", wordlist="best") if w.isascii() and w.isalpha())


@functools.cache
def offensive_words() -> frozenset[str]:
    """The project's lexicon of offensive words (see OFFENSIVE_WORDS_FILE)."""
    return frozenset(json.loads(OFFENSIVE_WORDS_FILE.read_text())["words"])


def is_word(word: str) -> bool:
    """A lower-case word that is English or the training comments' own: never rewritten."""
    return word in english_words() or word_counts().get(word, 0) >= KNOWN_COUNT


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
    offensive = offensive_words()
    # Offensive words last, so that they win: a non-word one letter from an insult is a disguise of the insult.
    common = sorted((word in offensive, count, word) for word, count in word_counts().items() if count >= TARGET_COUNT)
    return {spelling: word for *_, word in common for spelling in disguises(word)}  # the most frequent wins


def restored_word(word: str) -> str:
    """The lower-case `word` itself when it is a word (`is_word`), else its repair (`misspellings`), else itself."""
    if is_word(word):
        return word
    return misspellings().get(word, word)


_SENTENCE_END = re.compile(r"(?:^|[.!?:;\"\n(]) *$")


def restore_misspelt_words(text: str) -> str:
    """Each unknown word of three or more letters replaced by its most likely repair, in the word's own case
    ("Muslims are dsigusting idoits" -> "Muslims are disgusting idiots"); a capitalised word inside a sentence is a
    name ("I met Cnut"), kept."""

    def restore(match: re.Match) -> str:
        word = match.group(0)
        if word.islower():
            return restored_word(word)
        if word.isupper():
            return restored_word(word.lower()).upper()
        if word.istitle():
            # a few characters back are enough to see a sentence's start: the check costs the same for any text
            if not _SENTENCE_END.search(text[max(0, match.start() - 4) : match.start()]):
                return word  # name-like
            return restored_word(word.lower()).title()
        return word

    return _CANDIDATE.sub(restore, text)
