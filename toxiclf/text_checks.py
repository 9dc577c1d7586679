"""What makes a text unscorable, in one place: the API, the batch CLI and `Classifier.predict` refuse the same texts.

A lone surrogate ("\\ud800", which JSON and Python strings can hold) is not Unicode text: no tokenizer can encode it.
"""

_SURROGATES = range(0xD800, 0xE000)


def text_problem(value) -> str | None:
    """Why a text cannot be scored (one short phrase), or None."""
    if value is None:
        return "missing text"
    if not isinstance(value, str):
        return f"text is a {type(value).__name__}, not a string"
    if not value.strip():
        return "empty text"
    surrogate = next((i for i, char in enumerate(value) if ord(char) in _SURROGATES), None)
    if surrogate is not None:
        return (
            f"text holds a lone surrogate (U+{ord(value[surrogate]):04X} at character {surrogate}): not valid Unicode"
        )
    return None


def encodable_problem(value) -> str | None:
    """The problems that no scoring can get past (a non-string, a lone surrogate); an empty text is allowed."""
    if isinstance(value, str) and not value.strip():
        return None
    return text_problem(value)
