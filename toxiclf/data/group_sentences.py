"""Benign training rows that name a group, cut from real non-toxic comments and balanced by term *and* length.

In the training comments, a short comment that names a group is far more often toxic than a long one ("gay" in
comments of at most 15 words: 85 % toxic; over 40 words: about a third as often), and far more often than a short
comment in general (16 %). A model learns the shortcut "short + group word = toxic", and flags "my Sikh neighbour
baked bread" at 0.99. Dixon et al. (2018) add non-toxic text naming each term until its toxic share falls to the
base rate; here the balance is kept per term *and* per length bucket, and the added text is real:

- **cut sentences**: sentences of non-toxic training comments that name a group, as rows of their own (a benign
  comment's sentence is benign, and it is written as people write, not by this team);
- **counterfactual swaps** (Garg et al., 2019): the same sentences with the group word swapped for another group or
  a neutral word ("my Muslim neighbour" -> "my Sikh neighbour", "my local neighbour"), so that no group word carries
  the label.

`group_sentences(texts, labels, seed)` returns the rows, drawn per (term, bucket) until that cell's toxic share is
the base rate of its bucket, and at least `minimum` short rows per term. Only non-toxic comments are read for
sentences; nothing is written by hand but the word lists (`resources/group_terms.json`).
"""

import json
import math
import re
from dataclasses import dataclass

import numpy as np

from ..paths import RESOURCES

GROUP_TERMS_FILE = RESOURCES / "group_terms.json"
BUCKETS = ((0, 15), (16, 40), (41, 10**9))  # words, inclusive
BUCKET_NAMES = ("short", "medium", "long")
MIN_SHORT_PER_TERM = 40
MAX_PER_CELL = 1500  # a cell's rows at most: a rare term must not flood the split with swaps of one sentence
MAX_SENTENCE_WORDS = 40
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\S+")
_URLISH = re.compile(r"https?://|www\.|\.com\b|\{\{|\[\[|==", re.IGNORECASE)


@dataclass(frozen=True)
class Lexicon:
    adjectives: list[str]  # every group adjective (swap targets)
    plurals: list[str]
    swap_from_adjectives: list[str]
    swap_from_plurals: list[str]
    neutral_adjectives: list[str]
    neutral_plurals: list[str]

    @classmethod
    def load(cls, path=GROUP_TERMS_FILE) -> "Lexicon":
        spec = json.loads(path.read_text())
        return cls(
            adjectives=[t for terms in spec["adjectives"].values() for t in terms],
            plurals=[t for terms in spec["plurals"].values() for t in terms],
            swap_from_adjectives=spec["swap_from"]["adjectives"],
            swap_from_plurals=spec["swap_from"]["plurals"],
            neutral_adjectives=spec["neutral"]["adjectives"],
            neutral_plurals=spec["neutral"]["plurals"],
        )

    def terms(self) -> list[str]:
        return self.adjectives + self.plurals


def term_pattern(term: str) -> re.Pattern:
    """The term as a whole word, any case ('Sikh' in "a Sikh's", not in 'Sikhism')."""
    return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def bucket_of(words: int) -> int:
    return next(i for i, (low, high) in enumerate(BUCKETS) if low <= words <= high)


def sentences_of(text: str) -> list[str]:
    """A comment's sentences that could stand as a comment: 3 to MAX_SENTENCE_WORDS words, no markup or link."""
    kept = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip(" \t\"'*:#-=")
        if 3 <= word_count(sentence) <= MAX_SENTENCE_WORDS and not _URLISH.search(sentence):
            kept.append(sentence)
    return kept


_ARTICLE = re.compile(r"\b([Aa])n?(\s+)$")


def _cased_like(original: str, replacement: str, starts_sentence: bool) -> str:
    """'MUSLIMS' -> 'SIKHS'; 'Muslims' at the start -> 'Nurses'; else the replacement as spelt ('Sikh', 'nurse')."""
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if starts_sentence:
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _article(match: re.Match, word: str) -> str:
    """'a' or 'an' as the next word asks, in the case the text had."""
    article = "an" if word[:1].casefold() in "aeiou" else "a"
    return (article.capitalize() if match.group(1) == "A" else article) + match.group(2)


def swapped(sentence: str, pattern: re.Pattern, replacement: str) -> str:
    """The sentence with each match of `pattern` replaced, 'a'/'an' before it agreeing with the new word."""
    pieces, last = [], 0
    for match in pattern.finditer(sentence):
        before = sentence[last : match.start()]
        new = _cased_like(match.group(0), replacement, not sentence[: match.start()].strip())
        before = _ARTICLE.sub(lambda m, new=new: _article(m, new), before)
        pieces += [before, new]
        last = match.end()
    return "".join(pieces) + sentence[last:]


def _donors(texts, labels, lexicon: Lexicon):
    """(sentence, source term, is a cut sentence) for each non-toxic comment's sentences that name exactly one
    swappable term. A comment that is one sentence is already a training row: it donates swaps only."""
    sources = [(t, term_pattern(t), "adjective") for t in lexicon.swap_from_adjectives]
    sources += [(t, term_pattern(t), "plural") for t in lexicon.swap_from_plurals]
    needles = [(term, pattern, kind, term.casefold()) for term, pattern, kind in sources]
    donors = []
    for text, label in zip(texts, labels, strict=True):
        if label:
            continue
        sentences = sentences_of(text)
        for sentence in sentences:
            folded = sentence.casefold()
            named = [(term, pattern, kind) for term, pattern, kind, needle in needles
                     if needle in folded and pattern.search(sentence)]  # fmt: skip
            if len(named) == 1:
                donors.append((sentence, *named[0], len(sentences) > 1 or sentence != text.strip()))
    return donors


def balance_needs(texts, labels, terms: list[str], minimum: int = MIN_SHORT_PER_TERM) -> dict:
    """Per (term, bucket): the benign rows that bring the toxic share of the comments naming the term in that
    length bucket down to the bucket's base rate; short buckets get at least `minimum`."""
    labels = np.asarray(labels)
    buckets = np.array([bucket_of(word_count(text)) for text in texts])
    folded = [text.casefold() for text in texts]
    needs = {}
    for term in terms:
        pattern, needle = term_pattern(term), term.casefold()
        named = np.array([needle in f and bool(pattern.search(t)) for f, t in zip(folded, texts, strict=True)])
        for bucket in range(len(BUCKETS)):
            in_bucket = buckets == bucket
            base_rate = labels[in_bucket].mean() if in_bucket.any() else 0
            cell = named & in_bucket
            toxic = int(labels[cell].sum())
            need = math.ceil(toxic / base_rate - cell.sum()) if base_rate else 0
            floor = minimum if bucket == 0 else 0
            needs[(term, bucket)] = min(MAX_PER_CELL, max(need, floor, 0))
    return needs


def group_sentences(texts, labels, seed: int, lexicon: Lexicon | None = None, minimum: int = MIN_SHORT_PER_TERM):
    """(sentences, per-cell counts): benign rows naming each group, real sentences first, then swaps into the
    term from other terms' sentences (and, for a term the comments never use, from neutral words), seeded."""
    lexicon = lexicon or Lexicon.load()
    rng = np.random.default_rng(seed)
    donors = _donors(texts, labels, lexicon)
    needs = balance_needs(texts, labels, lexicon.terms(), minimum)
    by_kind = {kind: [d for d in donors if d[3] == kind] for kind in ("adjective", "plural")}
    chosen, counts, seen = [], {}, set(text.casefold() for text in texts)
    for (term, bucket), need in needs.items():
        if not need:
            continue
        kind = "adjective" if term in lexicon.adjectives else "plural"
        low, high = BUCKETS[bucket]
        fits = [d for d in by_kind[kind] if low <= word_count(d[0]) <= high]
        own = [d[0] for d in fits if d[1].casefold() == term.casefold() and d[4]]
        others = [d for d in fits if d[1].casefold() != term.casefold()]
        picked = []
        for index in rng.permutation(len(own)):
            if len(picked) == need:
                break
            if own[index].casefold() not in seen:
                picked.append(own[index])
                seen.add(own[index].casefold())
        for index in rng.permutation(len(others)):
            if len(picked) == need:
                break
            sentence, _, pattern, _, _ = others[index]
            candidate = swapped(sentence, pattern, term)
            if candidate.casefold() not in seen:
                picked.append(candidate)
                seen.add(candidate.casefold())
        chosen += picked
        counts[f"{term}|{BUCKET_NAMES[bucket]}"] = len(picked)
    neutral = neutral_swaps(donors, lexicon, rng, seen, count=max(minimum, len(chosen) // 10))
    counts["neutral"] = len(neutral)
    return chosen + neutral, counts


def neutral_swaps(donors, lexicon: Lexicon, rng, seen: set, count: int) -> list[str]:
    """Donor sentences with the group word swapped for a neutral one ("my Muslim neighbour" -> "my local
    neighbour"): the same sentence without any group, so that its label visibly does not hang on the group."""
    rows = []
    short = [donor for donor in donors if word_count(donor[0]) <= BUCKETS[0][1]]
    for index in rng.permutation(len(short)):
        if len(rows) == count:
            break
        sentence, _, pattern, kind, _ = short[index]
        pool = lexicon.neutral_adjectives if kind == "adjective" else lexicon.neutral_plurals
        candidate = swapped(sentence, pattern, pool[rng.integers(len(pool))])
        if candidate.casefold() not in seen:
            rows.append(candidate)
            seen.add(candidate.casefold())
    return rows


def counterfactual_pairs(texts, labels, seed: int, count: int, lexicon: Lexicon | None = None):
    """Up to `count` (sentence, twin) pairs for counterfactual logit pairing (Garg et al., 2019): a sentence of a
    non-toxic comment that names exactly one group, and the same sentence naming another group or a neutral word
    (one in four). Neither half is a training row and neither gets a label: the loss asks only that the model score
    them alike, so the pair teaches that the group word does not decide, without adding rows whose label is all one
    way. Distinct sentences, seeded; only non-toxic comments are read."""
    lexicon = lexicon or Lexicon.load()
    rng = np.random.default_rng(seed)
    donors = _donors(texts, labels, lexicon)
    pairs, seen = [], set()
    for index in rng.permutation(len(donors)):
        if len(pairs) == count:
            break
        sentence, term, pattern, kind, _ = donors[index]
        if sentence.casefold() in seen:
            continue
        groups = lexicon.adjectives if kind == "adjective" else lexicon.plurals
        neutral = lexicon.neutral_adjectives if kind == "adjective" else lexicon.neutral_plurals
        pool = neutral if rng.random() < 0.25 else [g for g in groups if g.casefold() != term.casefold()]
        twin = swapped(sentence, pattern, pool[rng.integers(len(pool))])
        if twin.casefold() != sentence.casefold():
            pairs.append((sentence, twin))
            seen.add(sentence.casefold())
    return pairs
