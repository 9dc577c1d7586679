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

    offensive = spelling.offensive_words()

    def by_trying_every_repair(word):  # the definition: the most frequent common word one repair away, insults first
        if word in spelling.english_words() or counts.get(word, 0) >= spelling.KNOWN_COUNT:
            return word
        common = [fixed for fixed in set(repairs(word)) if counts.get(fixed, 0) >= spelling.TARGET_COUNT]
        return max(common, key=lambda fixed: (fixed in offensive, counts[fixed], fixed)) if common else word

    rng = random.Random(0)
    words = rng.sample(sorted(counts), 300)
    probes = words + [disguise for word in words for disguise in disguises(word)]
    probes += ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(300)]
    assert sum(by_trying_every_repair(p) != p for p in probes) > 100  # the probes do exercise repairs
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


# The cases: English words and names that the repair once made into insults, and a disguise it once made
# harmless.
@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("Can you lend me two pens?", "Can you lend me two pens?"),  # was "penis"
        ("Good morn to you", "Good morn to you"),  # was "moron"
        ("the early waker", "the early waker"),  # was "wanker"
        ("King Cnut and Dik Browne", "King Cnut and Dik Browne"),  # names
        ("what a rearded idea", "what a retarded idea"),  # was "regarded"
    ],
)
def test_the_repair_never_makes_a_word_or_a_name_an_insult_and_reads_disguises_as_insults(text, read):
    assert restore_misspelt_words(text) == read


def test_the_lexicon_is_better_profanitys_word_list():
    record = json.loads(spelling.OFFENSIVE_WORDS_FILE.read_text())
    assert record["command"] == "python -m toxiclf.data.offensive_words" and "better-profanity" in record["source"]
    assert {"retarded", "penis", "wanker", "cunt"} <= set(record["words"]) == spelling.offensive_words()


def _rewritten_into_offensive(words, frame="{}"):
    """The words that the repair rewrites into an offensive word of the lexicon, each read inside `frame`."""
    offensive = spelling.offensive_words()
    found = []
    for word in words:
        before, after = frame.format(word), restore_misspelt_words(frame.format(word))
        if before != after:
            new = set(after.lower().replace(".", " ").split()) - set(before.lower().replace(".", " ").split())
            if new & offensive:
                found.append((word, after))
    return found


def test_no_common_english_word_is_rewritten_into_an_offensive_word():
    wordfreq = pytest.importorskip("wordfreq")
    words = wordfreq.top_n_list("en", 50_000)
    assert len(words) == 50_000
    for frame in ("{}", "I saw the {} today.", "{}"):
        assert _rewritten_into_offensive(words, frame) == []
    assert _rewritten_into_offensive([w.upper() for w in words]) == []
    assert _rewritten_into_offensive([w.title() for w in words]) == []
    # and no English word is rewritten at all
    assert [w for w in words if w.isalpha() and w.isascii() and restore_misspelt_words(w) != w] == []


@pytest.mark.slow  # names-dataset loads its whole table (about 20 s, 2 GB)
def test_no_first_name_or_surname_is_rewritten_into_an_offensive_word():
    names_dataset = pytest.importorskip("names_dataset")
    table = names_dataset.NameDataset()
    countries = ("US", "GB", "IN", "NG", "DE", "FR", "ES", "IT", "PH", "ZA", "IE", "PK", "EG", "MX", "BR")
    names = set()
    for country in countries:
        for first in table.get_top_names(n=1000, country_alpha2=country).get(country, {}).values():
            names.update(first)
        names.update(table.get_top_names(n=1000, use_first_names=False, country_alpha2=country).get(country, []))
    names = sorted(n for n in names if n.isalpha() and n.isascii())
    assert len(names) > 10_000
    # Capitalised inside a sentence, a name is kept as written; anywhere else it may be repaired, never into an insult
    assert [n for n in names if restore_misspelt_words(f"I met {n} today.") != f"I met {n} today."] == []
    assert _rewritten_into_offensive(names) == []
    assert _rewritten_into_offensive([n.lower() for n in names]) == []
    assert _rewritten_into_offensive([n.upper() for n in names]) == []
