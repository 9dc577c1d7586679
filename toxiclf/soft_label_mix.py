"""Soft labels for distillation without forgetting: one set of teachers for the comments, another for added rows.

    python -m toxiclf.soft_label_mix --comments results/soft_labels/pre-robustness-model.npz \
        results/soft_labels/round-eight-model.npz --added-rows results/soft_labels/round-eight-model.npz \
        --output outputs/soft_labels_round_ten.npz

A model fine-tuned round after round on templated sentences learns what they teach and slowly forgets how to rank
the comments themselves. Learning without forgetting (Li & Hoiem, 2017) keeps an earlier model's outputs as the
target on the old data while the new data keeps its own: here the training comments (and the validation split)
get the ensemble of the `--comments` files, and the rows a run adds (identity sentences, templated sentences,
tweets) the ensemble of the `--added-rows` files. Every file must have been made for the same data, length and
added rows (`python -m toxiclf.soft_labels` with the same flags); the result is refused by a run that differs,
like any soft-label file.
"""

import argparse
from pathlib import Path

import numpy as np

from .paths import sha256_file
from .soft_labels import SPLITS, SoftLabels, ensemble_logits, save_soft_labels

# What every file must share: the rows are the same only if these are.
_SAME_ROWS_KEYS = ("data", "max_length", "extra_train_rows")


def check_same_rows(files: dict[Path, SoftLabels]) -> None:
    """ValueError unless every file was made for the same data, length, added rows and row ids."""
    (first_path, first), *others = files.items()
    for path, stored in others:
        for key in _SAME_ROWS_KEYS:
            if stored.provenance.get(key) != first.provenance.get(key):
                raise ValueError(f"{path} and {first_path} were made for different rows ({key} differs)")
        for split in SPLITS:
            if not np.array_equal(stored.ids[split], first.ids[split]):
                raise ValueError(f"{path} and {first_path} hold different {split} rows")


def mix(files: dict[Path, SoftLabels], comments: list[Path], added_rows: list[Path]) -> dict[str, np.ndarray]:
    """Per split, the comments' ensemble where a row is a comment, the added rows' ensemble where it was added.
    The first `base_rows` training rows are the comments: added rows follow them (toxiclf.training.with_added_rows)."""
    provenance = files[comments[0]].provenance
    base_rows = (provenance.get("extra_train_rows") or {}).get("base_rows", provenance["data"]["split_sizes"]["train"])
    mixed = {}
    for split in SPLITS:
        logits = ensemble_logits([files[path].logits[split].astype(np.float32) for path in comments])
        if split == "train":
            logits[base_rows:] = ensemble_logits([files[path].logits[split][base_rows:].astype(np.float32)
                                                  for path in added_rows])  # fmt: skip
        mixed[f"{split}_ids"] = files[comments[0]].ids[split]
        mixed[f"{split}_ensemble"] = logits
    return mixed


def write_mix(output: Path, comments: list[Path], added_rows: list[Path]) -> dict:
    files = {path: SoftLabels(path) for path in dict.fromkeys([*comments, *added_rows])}
    check_same_rows(files)
    arrays = mix(files, comments, added_rows)
    # half precision where an input was stored so: the mix is no more precise than its least precise part
    float16 = any(stored.provenance.get("float16") for stored in files.values())
    for split in SPLITS:
        arrays[f"{split}_ensemble"] = arrays[f"{split}_ensemble"].astype(np.float16 if float16 else np.float32)
    first = files[comments[0]].provenance
    sources = {str(path): {"sha256": sha256_file(path), "teachers": stored.provenance["teachers"]}
               for path, stored in files.items()}  # fmt: skip
    record = {
        **{key: first.get(key) for key in _SAME_ROWS_KEYS},
        "teachers": [teacher for source in sources.values() for teacher in source["teachers"]],
        "combination": "comments: mean log-probabilities of the --comments files; added rows: of --added-rows",
        "comments": [str(path) for path in comments],
        "added_rows": [str(path) for path in added_rows],
        "sources": sources,
        "float16": float16,
    }
    save_soft_labels(output, arrays, record)
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=Path, nargs="+", required=True,
                        help="soft-label files whose ensemble the comments (and validation rows) get")  # fmt: skip
    parser.add_argument("--added-rows", type=Path, nargs="+", required=True,
                        help="soft-label files whose ensemble the added rows get (identity, templates...)")  # fmt: skip
    parser.add_argument("--output", type=Path, required=True, help="file to write")
    args = parser.parse_args(argv)
    if args.output.exists():
        parser.error(f"{args.output} exists; choose a new file")
    try:
        write_mix(args.output, args.comments, args.added_rows)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"Wrote {args.output}: comments from {len(args.comments)} file(s), added rows from {len(args.added_rows)}")


if __name__ == "__main__":
    main()
