"""What makes a text unscorable, in one place: the API, the batch CLI and `Classifier.predict` refuse the same texts.

A lone surrogate ("\\ud800", which JSON and Python strings can hold) is not Unicode text: no tokenizer can encode it.
"""

import re

# A regular expression, not a loop over characters: every text of a 10,000-row file is checked, some of them more
# than once, and a Python loop over each character cost more than the spelling repair.
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_blank(value: str) -> bool:
    """Nothing a reader sees: spaces, or only zero-width, bidi, control and other invisible characters (each of
    which the classifier drops before reading, toxiclf.inference.unicode_text)."""
    if not value.strip():
        return True
    if value.isascii() and value.isprintable():  # the common case, at C speed: nothing invisible
        return False
    from .unicode_text import invisible_characters

    return not invisible_characters().sub("", value).strip()


def text_problem(value) -> str | None:
    """Why a text cannot be scored (one short phrase), or None."""
    if value is None:
        return "missing text"
    if not isinstance(value, str):
        return f"text is a {type(value).__name__}, not a string"
    if is_blank(value):
        return "empty text"
    surrogate = _SURROGATE.search(value)
    if surrogate is not None:
        return (
            f"text holds a lone surrogate (U+{ord(surrogate.group()):04X} at character {surrogate.start()}): "
            "not valid Unicode"
        )
    return None


def encodable_problem(value) -> str | None:
    """The problems that no scoring can get past (a non-string, a lone surrogate); an empty text is allowed."""
    if isinstance(value, str) and is_blank(value):
        return None
    return text_problem(value)
