"""Misspelt words read as the words they hide, with the training comments' word counts; everything else kept."""

import json
import random
import string

import pytest

from toxiclf.data.splits import EMBEDDED_SHA256
from toxiclf.inference import spelling
from toxiclf.inference.spelling import count_words, disguises, restore_misspelt_words, restored_word


def repairs(word: str):
    """The definition the look-up table must match: every spelling one repair away, a letter put back inside the
    word (not before its first letter nor after its last) or two different neighbouring letters swapped back."""
    for i in range(1, len(word)):
        for letter in string.ascii_lowercase:
            yield word[:i] + letter + word[i:]
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            yield word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def test_counts_are_of_lower_cased_letter_runs_above_the_floor_most_frequent_first():
    texts = ["The cat, the CAT!", "the dog's bone", "cat2cat"]
    assert count_words(texts, min_count=2) == {"cat": 4, "the": 3}
    assert list(count_words(texts, min_count=1))[:2] == ["cat", "the"]


def test_repairs_put_back_one_letter_inside_or_swap_two_neighbours_back():
    found = set(repairs("idot"))
    assert {"idiot", "iddot", "diot", "iodt"} <= found
    assert "aidot" not in found  # never before the first letter
    assert "idot" not in found and len(found) == len(set(found))


def test_the_look_up_of_disguises_finds_what_trying_every_repair_finds():
    counts = spelling.word_counts()

    def by_trying_every_repair(word):  # the definition: the most frequent common word one repair away
        if counts.get(word, 0) >= spelling.KNOWN_COUNT:
            return word
        common = [fixed for fixed in set(repairs(word)) if counts.get(fixed, 0) >= spelling.TARGET_COUNT]
        return max(common, key=lambda fixed: (counts[fixed], fixed)) if common else word

    rng = random.Random(0)
    words = rng.sample(sorted(counts), 300)
    probes = words + [disguise for word in words for disguise in disguises(word)]
    probes += ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(300)]
    assert sum(by_trying_every_repair(p) != p for p in probes) > 200  # the probes do exercise repairs
    assert [restored_word(p) for p in probes] == [by_trying_every_repair(p) for p in probes]
    assert set(disguises("idiot")) == {"iiot", "idot", "idit", "diiot", "iidot", "idoit", "idito"}


@pytest.mark.parametrize(
    ("disguised", "meant"),
    [
        ("Muslims are dsigusting idoits.", "Muslims are disgusting idiots."),  # swapped letters
        ("women are disgustng idots", "women are disgusting idiots"),  # dropped letters
        ("YOU ARE DSIGUSTING", "YOU ARE DISGUSTING"),  # the word's own case is kept
        ("Moorn, go away", "Moron, go away"),
    ],
)
def test_a_word_the_comments_never_use_reads_as_its_most_common_repair(disguised, meant):
    assert restore_misspelt_words(disguised) == meant


@pytest.mark.parametrize(
    "kept",
    [
        "Thanks for the citation, I fixed the infobox.",  # known words
        "see http://example.org/idoit.html or mail idoit@example.org",  # addresses and files
        "McIdoit and iDoit",  # mixed case: a name or a brand, not a typo
        "Zxqvw wrote it",  # nothing common one repair away
        "an ox",  # two letters
    ],
)
def test_known_words_names_and_addresses_are_left_as_written(kept):
    assert restore_misspelt_words(kept) == kept


def test_the_word_counts_come_from_the_training_split_of_the_embedded_data():
    record = json.loads(spelling.WORD_COUNTS_FILE.read_text())
    assert record["source"]["split"] == "train" and record["source"]["sha256"] == EMBEDDED_SHA256
    counts = record["counts"]
    assert min(counts.values()) >= spelling.KNOWN_COUNT and list(counts)[0] == "the"
    assert counts["idiot"] >= spelling.TARGET_COUNT and "dsigusting" not in counts
