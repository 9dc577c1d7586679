"""Why a comment was flagged: each word's contribution to P(toxic), by occlusion through the serving backend.

A word's score is P(toxic | comment) − P(toxic | comment without that word): positive words push the comment
towards toxic. All variants of a comment (the comment, and the comment without each word in turn) are scored in
one call of the classifier, so it works with any backend, ONNX int8 included, and explains the very scores that
are served. Integrated Gradients (captum) would need gradients, so PyTorch only, and dozens of forward and
backward passes per comment on a CPU; occlusion needs one forward pass per word and nothing but `scores`.

Words are runs of letters, digits and apostrophes (any script); `start` and `end` are offsets into the original
string in code points (Python `str` indices), so `text[start:end]` is the word, whatever the whitespace,
punctuation or emoji around it.
"""

import re

WORD = re.compile(r"\w+(?:['’]\w+)*")
MAX_WORDS = 200  # words explained per text: one forward pass each


def word_spans(text: str, max_words: int = MAX_WORDS) -> list[tuple[int, int]]:
    """(start, end) of the first `max_words` words of `text`."""
    spans = []
    for match in WORD.finditer(text):
        if len(spans) == max_words:
            break
        spans.append(match.span())
    return spans


def count_words(text: str) -> int:
    return sum(1 for _ in WORD.finditer(text))


def without_span(text: str, start: int, end: int) -> str:
    """The text with one word deleted, and one of the spaces around it, so no double space is left behind."""
    if start > 0 and end < len(text) and text[start - 1] == " " and text[end] == " ":
        end += 1
    return text[:start] + text[end:]


def occlusion_variants(text: str, max_words: int = MAX_WORDS) -> tuple[list[tuple[int, int]], list[str]]:
    """The spans of the words explained, and the texts to score: the text itself, then the text without each word.
    Explaining a text costs `len(variants)` model passes."""
    spans = word_spans(text, max_words)
    return spans, [text, *(without_span(text, start, end) for start, end in spans)]


def contributions(text: str, spans: list[tuple[int, int]], variant_scores) -> list[dict]:
    """`{"start", "end", "text", "score"}` per word, in text order, from the scores of `occlusion_variants`."""
    base = variant_scores[0]
    return [
        {"start": start, "end": end, "text": text[start:end], "score": float(base - variant_scores[1 + i])}
        for i, (start, end) in enumerate(spans)
    ]


def explain(classifier, texts: list[str], max_words: int = MAX_WORDS) -> list[list[dict]]:
    """Per text, its words in text order with their contributions; all variants scored in one call."""
    plans = [occlusion_variants(text, max_words) for text in texts]
    scores = classifier.scores([variant for _, variants in plans for variant in variants])
    explained, first = [], 0
    for text, (spans, variants) in zip(texts, plans, strict=True):
        explained.append(contributions(text, spans, scores[first : first + len(variants)]))
        first += len(variants)
    return explained


def top_words(spans: list[dict], k: int = 5) -> str:
    """The k words that raise P(toxic) most, as 'word (+0.31); other (+0.12)': the CLI's column."""
    rising = sorted((s for s in spans if s["score"] > 0), key=lambda s: -s["score"])[:k]
    return "; ".join(f"{s['text']} ({s['score']:+.2f})" for s in rising)
