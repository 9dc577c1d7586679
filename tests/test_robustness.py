"""Training-time robustness data: disguised spellings, their undoing at inference, and the contrastive sentences."""

import datasets
import numpy as np
import pandas as pd
import pytest

from toxiclf.data.augment_templates import noisy_texts, robustness_sentences
from toxiclf.inference.obfuscation import (
    WORD_NOISE,
    drop_letter,
    join_words,
    leet,
    noisy,
    normalise,
    segment_joined_words,
    space_letters,
    swap_letters,
)
from toxiclf.training.common import with_disguises, with_templated_sentences


def test_each_disguise_keeps_the_word_readable():
    rng = np.random.default_rng(0)
    assert space_letters("idiot") == "i d i o t"
    dropped = drop_letter("idiot", rng)
    assert len(dropped) == 4 and dropped[0] == "i" and dropped[-1] == "t"
    swapped = swap_letters("stupid", rng)
    assert sorted(swapped) == sorted("stupid") and swapped != "stupid" and swapped[0] == "s" and swapped[-1] == "d"
    assert swap_letters("aaaa", rng) == "aaaa" and swap_letters("ok", rng) == "ok"  # nothing to swap
    disguised = leet("idiot", rng)
    assert disguised != "idiot" and normalise(disguised) == "idiot"


def test_normalise_undoes_spaced_and_leet_words_and_leaves_numbers_and_codes():
    assert normalise("you are an 1d10t") == "you are an idiot"
    assert normalise("what an s t u p i d edit") == "what an stupid edit"
    assert normalise("what a s t u p i d edit") == "what astupid edit"  # a one-letter word before it joins it
    kept = "In 1999 I bought an mp3 player, a win10 laptop and a 401k plan; I'm 2nd. A B testing"
    assert normalise(kept) == kept


def test_joined_words_are_split_and_names_addresses_and_markup_are_left_alone():
    assert segment_joined_words("I willkillevery one of you.") == "I will kill every one of you."
    assert segment_joined_words("youarestupid, fuckoff") == "you are stupid, fuck off"
    assert segment_joined_words(normalise("what a s t u p i d edit")) == "what a stupid edit"  # joined, then split
    kept = (
        "Hal Siemer wrote on Freemasonry at www.example.com/watchthisvideo, see User:Raysonho and "
        "WP:PRIMARYTOPIC; habeas corpus, Batallion"
    )  # a name, a word, an address, wiki markup, rare words
    assert segment_joined_words(kept) == kept


def test_noise_is_seeded_and_changes_about_the_asked_share_of_texts():
    texts = [f"this comment number {i} is written plainly by someone" for i in range(2000)]
    changed_texts, changed = noisy_texts(texts, 0.2, seed=3)
    assert changed_texts == noisy_texts(texts, 0.2, seed=3)[0]
    assert 0.17 < changed.mean() < 0.23
    assert all((a != b) == bool(c) or a == b for a, b, c in zip(texts, changed_texts, changed, strict=True))
    assert sum(a != b for a, b in zip(texts, changed_texts, strict=True)) > 0.9 * changed.sum()
    with pytest.raises(ValueError, match="between 0 and 1"):
        noisy_texts(texts, 1.5, seed=0)
    assert noisy("ok", np.random.default_rng(0)) == "ok" and set(WORD_NOISE) == {
        "leet",
        "swapped_letters",
        "dropped_letter",
        "spaces_added",
    }


def test_a_joined_phrase_keeps_every_letter_and_joins_only_neighbours():
    rng = np.random.default_rng(0)
    joined = [join_words("you are such an idiot", rng) for _ in range(200)]
    assert all(text.replace(" ", "") == "youaresuchanidiot" for text in joined)
    assert {len(text.split(" ")) for text in joined} == {2, 3, 4}  # runs of two to four words out of five
    assert "youaresuchan idiot" in joined and "you aresuchanidiot" in joined and "youaresuchanidiot" not in joined
    assert join_words("idiot", rng) == "idiot"


def test_joined_phrases_are_drawn_only_when_asked_for():
    texts = [f"this comment number {i} is written plainly by someone" for i in range(400)]
    assert noisy_texts(texts, 0.5, seed=1, phrase_rate=0.0)[0] == noisy_texts(texts, 0.5, seed=1)[0]  # as before
    short_words = ["so it is up to me to go on"] * 400  # no word long enough for a word disguise
    phrased, changed = noisy_texts(short_words, 0.5, seed=1, phrase_rate=1.0)
    assert all(text.replace(" ", "") == "soitisuptometogoon" for text in phrased)
    assert all(len(text.split()) < 9 for text, chosen in zip(phrased, changed, strict=True) if chosen)
    assert all(text == short_words[0] for text, chosen in zip(phrased, changed, strict=True) if not chosen)


def test_robustness_sentences_are_distinct_seeded_half_toxic_and_spread_over_every_kind():
    texts, labels, kinds = robustness_sentences(3000, seed=0)
    assert len(texts) == 3000 and len({t.casefold().rstrip(".") for t in texts}) == 3000
    assert (texts, labels) == robustness_sentences(3000, seed=0)[:2]
    by_kind = {kind: {label for label, k in zip(labels, kinds, strict=True) if k == kind} for kind in set(kinds)}
    assert len(by_kind) == 15 and all(len(values) == 1 for values in by_kind.values())
    assert by_kind["counter_speech"] == {0} and by_kind["threat"] == {1}
    assert np.mean(labels) == 0.5  # both labels, for the same words, in equal numbers
    counts = {kind: kinds.count(kind) for kind in set(kinds)}
    assert counts["swearing_at_no_one"] == 200  # a small pool gives all it has ...
    assert counts["negated_hate"] == counts["counter_speech"] > counts["threat"]  # ... and its label's others share
    with pytest.raises(ValueError, match="distinct sentences"):
        robustness_sentences(10**6, seed=0)


def test_training_rows_get_the_noise_and_the_sentences_with_their_labels():
    train = datasets.Dataset.from_dict({"id": [f"r{i}" for i in range(400)],
                                        "comment_text": ["a perfectly ordinary sentence about editing"] * 400,
                                        "label": [i % 2 for i in range(400)]})  # fmt: skip
    augmented = with_templated_sentences(train, 100, seed=0)
    assert len(augmented) == 500 and augmented.features == train.features
    assert augmented["id"][400:] == [f"robustness-{i}" for i in range(100)]
    assert augmented["label"][400:] == robustness_sentences(100, seed=0)[1]
    disguised = with_disguises(augmented, 0.5, seed=0, rows=range(400))
    noisy_rows = [t != "a perfectly ordinary sentence about editing" for t in disguised["comment_text"][:400]]
    assert 120 < sum(noisy_rows) < 250  # half chosen; a chosen row may draw no disguise
    assert disguised["comment_text"][400:] == augmented["comment_text"][400:]  # templated sentences stay as written
    assert disguised["comment_text"][:400] == noisy_texts(train["comment_text"], 0.5, seed=0)[0]
    templated = with_disguises(disguised, 0.5, seed=1, rows=range(400, 500))  # --template-noise-share
    assert templated["comment_text"][:400] == disguised["comment_text"][:400]
    assert templated["comment_text"][400:] == noisy_texts(augmented["comment_text"][400:], 0.5, seed=1)[0]
    assert templated["comment_text"][400:] != augmented["comment_text"][400:]
    assert templated["label"] == augmented["label"]


def test_davidson_tweets_are_cleaned_labelled_and_sampled(tmp_path):
    from toxiclf.data.augment_templates import davidson_tweets

    source = tmp_path / "labeled_data.csv"
    pd.DataFrame({
        "count": [3] * 4, "class": [0, 1, 2, 2],
        "tweet": ["RT @a: you are trash &amp; worse http://t.co/x", "@b what a dumb take!!!", "lovely day @c", "@d"],
    }).to_csv(source)  # fmt: skip
    texts, labels = davidson_tweets(source, 3, seed=0)
    assert sorted(zip(texts, labels, strict=True)) == [
        ("lovely day", 0),
        ("what a dumb take", 1),
        ("you are trash & worse", 1),
    ]  # the empty one is dropped
    with pytest.raises(ValueError, match="holds 3 usable tweets, asked for 4"):
        davidson_tweets(source, 4, seed=0)
    (tmp_path / "other.csv").write_text("text,label\nhi,0\n")
    with pytest.raises(ValueError, match="is not Davidson et al.'s labelled tweets CSV"):
        davidson_tweets(tmp_path / "other.csv", 1, seed=0)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("my grades this term: F A G", "my grades this term: F A G"),  # a list of grades
        ("take the N I G night bus", "take the N I G night bus"),  # a bus line
        ("I got a F A G in maths", "I got a F A G in maths"),
        ("you are a F A G", "you are a FAG"),  # a word of address: a disguise
        ("shut up you F A G", "shut up you FAG"),
        ("YOU ARE SUCH A F A G", "YOU ARE SUCH AFAG"),  # shouted (with the "A" before, as in lower case)
        ("you are a f a g", "you are afag"),  # lower case: a disguise, as before
    ],
)
def test_spaced_capitals_stay_a_list_unless_the_context_makes_them_a_disguise(text, read):
    assert normalise(text) == read
