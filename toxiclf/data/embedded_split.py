"""The embedded data's clean split, computed once and shipped, so that every run trains and tests on the same rows.

Finding near-duplicate groups among 159k comments takes minutes, and a TF-IDF vocabulary or a scikit-learn
release could move a few rows; the shipped assignment cannot. `resources/embedded_split.tsv.gz` lists
`split<TAB>id` in each split's order; `resources/embedded_split.json` records the seed, the inputs' checksums and
what each cleaning rule removed or grouped. Rebuild both (after regenerating the tweet mask, say) with:

    python -m toxiclf.data.splits --rebuild-split
"""

import gzip
import json
import logging
from pathlib import Path

from ..paths import RESOURCES, sha256_file
from ..schema import EMBEDDED_SHA256, ID_COLUMN, DataError
from .tweets import TWEET_ROWS_FILE

logger = logging.getLogger(__name__)

SPLIT_FILE = RESOURCES / "embedded_split.tsv.gz"
REPORT_FILE = RESOURCES / "embedded_split.json"


def load_shipped_split(seed: int, split_file: Path = SPLIT_FILE, report_file: Path = REPORT_FILE):
    """(ids per split, cleaning report) of the shipped split for this seed; None for another seed."""
    report = json.loads(report_file.read_text())
    if report["seed"] != seed:
        logger.warning("No shipped split for seed %d: computing one (near-duplicate search, minutes)", seed)
        return None
    if report["tweet_rows_sha256"] != sha256_file(TWEET_ROWS_FILE) or report["data_sha256"] != EMBEDDED_SHA256:
        raise DataError(
            f"{split_file.name} was built from other data; rebuild it: python -m toxiclf.data.splits --rebuild-split"
        )
    ids = {"train": [], "validation": [], "test": []}
    with gzip.open(split_file, "rt") as lines:
        for line in lines:
            split, row_id = line.rstrip("\n").split("\t")
            ids[split].append(row_id)
    return ids, report["cleaning"]


def save_split(frames: dict, cleaning: dict, seed: int, split_file: Path = SPLIT_FILE, report_file: Path = REPORT_FILE):
    # mtime=0: the same split gives the same bytes, so rebuilding changes nothing in git.
    with open(split_file, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        for split, frame in frames.items():
            out.write("".join(f"{split}\t{row_id}\n" for row_id in frame[ID_COLUMN]).encode())
    report = {
        "seed": seed,
        "data_sha256": EMBEDDED_SHA256,
        "tweet_rows_sha256": sha256_file(TWEET_ROWS_FILE),
        "cleaning": cleaning,
        "split_sizes": {split: len(frame) for split, frame in frames.items()},
    }
    report_file.write_text(json.dumps(report, indent=2) + "\n")
