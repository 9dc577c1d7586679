"""The identity terms (resources/identity_terms.json) and how a text is found to mention one: shared by the data
that balances them (augment_identity, group sentences) and the audit that measures them."""

import re

import numpy as np

from ..paths import RESOURCES

TERMS_FILE = RESOURCES / "identity_terms.json"


def mentions(texts: list[str], term: str, context: str | None = None) -> np.ndarray:
    """Whether each text holds the term as a whole word, any case; or the regex `context` with {term} in it."""
    pattern = (context or r"\b{term}\b").replace("{term}", re.escape(term))
    pattern, needle = re.compile(pattern, re.IGNORECASE), term.casefold()
    # the substring test first: ten times faster than the regex, which then runs on the few texts that pass
    return np.array([needle in text.casefold() and bool(pattern.search(text)) for text in texts])
