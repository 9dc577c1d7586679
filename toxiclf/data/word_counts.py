"""The spelling repair's vocabulary, built from the training split alone: how often each word occurs.

    python -m toxiclf.data.word_counts  # -> toxiclf/resources/word_counts.json

A build step of the data, not of inference: toxiclf.inference.spelling only reads the file.
"""

import argparse
import json

from ..inference.spelling import KNOWN_COUNT, WORD_COUNTS_FILE, count_words
from ..schema import TEXT_COLUMN
from .splits import DEFAULT_SEED, EMBEDDED, data_provenance, load_splits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="split seed (default: the project's)")
    args = parser.parse_args(argv)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    splits = load_splits(EMBEDDED, seed)
    counts = count_words(splits["train"][TEXT_COLUMN])
    record = {
        "about": "How often each word occurs in the training comments (lower-cased, letters only, seen at least "
        f"{KNOWN_COUNT} times): toxiclf.inference.spelling's vocabulary. Only the training split is counted.",
        "command": "python -m toxiclf.data.word_counts",
        "source": {**data_provenance(EMBEDDED, seed, splits), "split": "train"},
        "counts": counts,
    }
    WORD_COUNTS_FILE.write_text(json.dumps(record, ensure_ascii=False, indent=0) + "\n")
    print(f"{len(counts):,} words seen at least {KNOWN_COUNT} times -> {WORD_COUNTS_FILE}")


if __name__ == "__main__":
    main()
