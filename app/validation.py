"""Checks on what a client sends; each failure is one clear sentence and a status code."""

from dataclasses import dataclass

from toxiclf.inference.text_checks import text_problem


@dataclass
class InvalidInput(Exception):
    message: str
    status: int = 400


def texts_from_json(body, max_texts: int, max_chars: int, max_total_chars: int | None = None) -> list[str]:
    """The texts of a `{"text": str}` or `{"texts": [str, ...]}` body, within the per-request budget."""
    if not isinstance(body, dict):
        raise InvalidInput('the body must be a JSON object: {"text": "..."} or {"texts": ["...", ...]}')
    if ("text" in body) == ("texts" in body):
        raise InvalidInput('give exactly one of "text" (a string) or "texts" (a list of strings)')
    if "text" in body:
        if not isinstance(body["text"], str):
            raise InvalidInput('"text" must be a string')
        texts = [body["text"]]
    else:
        texts = body["texts"]
        if not isinstance(texts, list):
            raise InvalidInput('"texts" must be a list of strings')
        if not texts:
            raise InvalidInput('"texts" is empty')
        if len(texts) > max_texts:
            raise InvalidInput(f'"texts" has {len(texts)} items; at most {max_texts} per request', status=413)
    for i, text in enumerate(texts):
        check_text(text, max_chars, where=f"texts[{i}]" if "texts" in body else "text")
    total = sum(map(len, texts))
    if max_total_chars is not None and total > max_total_chars:
        raise InvalidInput(f"the texts have {total:,} characters in all; at most {max_total_chars:,} per request",
                           status=413)  # fmt: skip
    return texts


def explanation_passes(texts: list[str]) -> int:
    """What explaining costs: one model pass per text and one per word (each word is left out in turn)."""
    from toxiclf.inference.explain import count_words

    return sum(count_words(text) + 1 for text in texts)


def check_explainable(texts: list[str], max_passes: int) -> None:
    """Explanations are bounded by their cost in model passes, not by texts or words."""
    passes = explanation_passes(texts)
    if passes > max_passes:
        raise InvalidInput(f"explaining these texts takes {passes:,} model passes (one per text and one per word); "
                           f"at most {max_passes:,} per request", status=413)  # fmt: skip


def check_text(text, max_chars: int, where: str = "text") -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{where} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise InvalidInput(f"{where} is empty")
    problem = text_problem(text)  # what the batch CLI and Python refuse too (a lone surrogate)
    if problem:
        raise InvalidInput(f"{where}: {problem}")
    if len(text) > max_chars:
        raise InvalidInput(f"{where} has {len(text):,} characters; at most {max_chars:,}")
    return text
