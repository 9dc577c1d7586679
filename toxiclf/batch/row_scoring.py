"""What the batch CLI and the corpus engine add to each row, and how they read and write values exactly."""

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..inference.text_checks import text_problem

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
ADDED = ("score", "label", "flagged", "error")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class InputError(ValueError):
    """A problem with the user's file or flags; one line, raised before or instead of writing anything."""


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputError(f"{path} must end in .csv, .jsonl or .parquet") from None


def added_columns(prefix: str, explain: bool = False) -> dict[str, str]:
    return {name: f"{prefix}{name}" for name in ADDED + (("top_words",) if explain else ())}


def check_input_columns(where, columns: list[str], text_column: str, added: dict) -> None:
    """The input's columns, checked before any scoring (the batch CLI's file, the Ray engine's first file): unique
    names, the text column among them, none of the columns the run adds (a user's column is never replaced).
    InputError naming `where`."""
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise InputError(f"{where} has duplicate column names: {', '.join(duplicated)}")
    if text_column not in columns:
        raise InputError(f"{where} has no column '{text_column}' (found: {', '.join(columns)})")
    clashing = [c for c in added.values() if c in columns]
    if clashing:
        raise InputError(f"{where} already has column(s) {', '.join(clashing)}; choose another --prefix")


def score_table(table, classifier, text_column: str, added: dict, explain: bool = False):
    """An Arrow table with the added columns appended; the input's columns and their types untouched (the
    Parquet path of this CLI and of the Ray engine)."""
    import pyarrow as pa

    types = {"score": pa.float64(), "label": pa.string(), "flagged": pa.bool_(), "error": pa.string(),
             "top_words": pa.string()}  # fmt: skip
    # Checked on every table, not only on the first file's schema: a later file of a corpus may differ.
    if text_column not in table.column_names:
        raise InputError(f"no column '{text_column}' (found: {', '.join(table.column_names)})")
    clashing = [c for c in added.values() if c in table.column_names]
    if clashing:
        raise InputError(f"the input already has column(s) {', '.join(clashing)}; choose another --prefix")
    values = score_values(table.column(text_column).to_pylist(), classifier, explain)
    for name, column in added.items():
        table = table.append_column(column, pa.array([v[name] for v in values], type=types[name]))
    return table


def neutralize_formula(value):
    """A cell a spreadsheet would evaluate, made inert with a leading apostrophe (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def json_line(record: dict) -> str:
    """The record as one JSON line, non-ASCII kept as written; a lone surrogate (no UTF-8 can hold it) escaped as
    \\uXXXX, as it came in, so that the user's value is written back unchanged rather than lost."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line + "\n"


def score_values(texts: list, classifier, explain: bool = False) -> list[dict]:
    """One dict of the added values per text; texts that cannot be scored get only an error."""
    problems = [text_problem(t) for t in texts]
    valid = [t for t, p in zip(texts, problems, strict=True) if p is None]
    predictions = iter(classifier.predict(valid) if valid else [])
    if explain:
        from ..inference.explain import explain as word_contributions
        from ..inference.explain import top_words

        predictions = iter(
            {**prediction, "top_words": top_words(spans)}
            for prediction, spans in zip(predictions, word_contributions(classifier, valid), strict=True)
        )
    empty = {"score": None, "label": None, "flagged": None, **({"top_words": None} if explain else {})}
    return [{**empty, "error": problem} if problem else {**next(predictions), "error": ""} for problem in problems]


def json_record(line: str, where: str) -> dict:
    """One JSONL line as its record; InputError naming `where` for a line that is no JSON object, holds a number
    Python will not convert (more than 4,300 digits) or nests deeper than Python's parser recurses."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply to read") from None
    except ValueError as error:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise InputError(f"{where}: a value cannot be read ({str(error).splitlines()[0]})") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    return record


def json_records(lines: Iterable[str], source) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line; a line that is not a JSON object is an InputError naming
    `source` and the line. JSON's own parser keeps every value's type (big ints stay ints)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        yield number, json_record(line, f"{source}, line {number}")


def escaped_header(columns) -> list:
    """Column names as a CSV header writes them safely: a name a spreadsheet would run as a formula gets the leading
    apostrophe its cells get (`neutralize_formula`)."""
    return [neutralize_formula(column) for column in columns]
