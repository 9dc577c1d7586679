"""Soft labels for distillation without forgetting: one set of teachers for the comments, another for added rows.

    python -m research.soft_label_mix --comments results/soft_labels/pre-robustness-model.npz \
        results/soft_labels/round-eight-model.npz --added-rows results/soft_labels/round-eight-model.npz \
        --output outputs/soft_labels_round_ten.npz

A model fine-tuned round after round on templated sentences learns what they teach and slowly forgets how to rank
the comments themselves. Learning without forgetting (Li & Hoiem, 2017) keeps an earlier model's outputs as the
target on the old data while the new data keeps its own: here the training comments (and the validation split)
get the ensemble of the `--comments` files, and the rows a run adds (identity sentences, templated sentences,
tweets) the ensemble of the `--added-rows` files. Every file must have been made for the same data and length, the
`--added-rows` files for the same added rows (`python -m toxiclf.training.soft_labels` with the run's flags); the
result is
refused by a run that differs, like any soft-label file. When the templates change, only the added rows need
scoring again: `python -m toxiclf.training.soft_labels --added-rows-only ...` scores them alone (minutes, not the
half hour
of the comments), and the comments keep the logits of the files made before.
"""

import argparse
from pathlib import Path

import numpy as np

from toxiclf.paths import sha256_file
from toxiclf.training.soft_labels import SPLITS, SoftLabels, ensemble_logits, save_soft_labels

# What every file must share: the data and the length; the added-rows files also the rows they add.
_SAME_DATA_KEYS = ("data", "max_length")


def base_rows(stored: SoftLabels) -> int:
    """How many training rows are comments: added rows follow them (toxiclf.training.common.with_added_rows)."""
    provenance = stored.provenance
    return (provenance.get("extra_train_rows") or {}).get("base_rows", provenance["data"]["split_sizes"]["train"])


def _added_ids(stored: SoftLabels) -> np.ndarray:
    """The ids of a file's added training rows (all of them in a file made with --added-rows-only)."""
    return stored.ids["train"] if stored.provenance.get("added_rows_only") else stored.ids["train"][base_rows(stored) :]


def check_same_rows(files: dict[Path, SoftLabels], comments: list[Path], added_rows: list[Path]) -> None:
    """ValueError unless the files agree on what the mix takes from them: every file the data, length and number
    of comments; the comments files their comment and validation ids; the added-rows files the rows they add. A
    comments file may have been made for other added rows (a round whose templates changed): only its comments
    are used."""
    first_path, first = next(iter(files.items()))
    for path, stored in files.items():
        for key in _SAME_DATA_KEYS:
            if stored.provenance.get(key) != first.provenance.get(key):
                raise ValueError(f"{path} and {first_path} were made for different rows ({key} differs)")
        if base_rows(stored) != base_rows(first):
            raise ValueError(f"{path} and {first_path} were made for different rows (base_rows differs)")
    rows = base_rows(first)
    for path in comments:
        if files[path].provenance.get("added_rows_only"):
            raise ValueError(f"{path} holds added rows only; it cannot give the comments theirs")
        for split, ids in (("train", files[path].ids["train"][:rows]), ("validation", files[path].ids["validation"])):
            reference = files[comments[0]].ids[split][:rows] if split == "train" else files[comments[0]].ids[split]
            if not np.array_equal(ids, reference):
                raise ValueError(f"{path} and {comments[0]} hold different {split} rows")
    reference_path, reference = added_rows[0], files[added_rows[0]]
    for path in added_rows[1:]:
        if files[path].provenance.get("extra_train_rows") != reference.provenance.get("extra_train_rows"):
            raise ValueError(f"{path} and {reference_path} were made for different rows (extra_train_rows differs)")
        if not np.array_equal(_added_ids(files[path]), _added_ids(reference)):
            raise ValueError(f"{path} and {reference_path} hold different train rows")


def mix(files: dict[Path, SoftLabels], comments: list[Path], added_rows: list[Path]) -> dict[str, np.ndarray]:
    """Per split, the comments' ensemble where a row is a comment, the added rows' ensemble where it was added:
    the training ids are the comments' followed by the added-rows files' own."""
    rows = base_rows(files[comments[0]])

    def added(stored: SoftLabels) -> np.ndarray:
        logits = stored.logits["train"].astype(np.float32)
        return logits if stored.provenance.get("added_rows_only") else logits[rows:]

    mixed = {}
    for split in SPLITS:
        end = rows if split == "train" else None
        logits = [files[path].logits[split][:end].astype(np.float32) for path in comments]
        mixed[f"{split}_ids"] = files[comments[0]].ids[split][:end]
        mixed[f"{split}_ensemble"] = ensemble_logits(logits)
    if len(_added_ids(files[added_rows[0]])):
        added_logits = ensemble_logits([added(files[path]) for path in added_rows])
        mixed["train_ids"] = np.concatenate([mixed["train_ids"], _added_ids(files[added_rows[0]])])
        mixed["train_ensemble"] = np.concatenate([mixed["train_ensemble"], added_logits])
    return mixed


def write_mix(output: Path, comments: list[Path], added_rows: list[Path]) -> dict:
    files = {path: SoftLabels(path) for path in dict.fromkeys([*comments, *added_rows])}
    check_same_rows(files, comments, added_rows)
    arrays = mix(files, comments, added_rows)
    # half precision where an input was stored so: the mix is no more precise than its least precise part
    float16 = any(stored.provenance.get("float16") for stored in files.values())
    for split in SPLITS:
        arrays[f"{split}_ensemble"] = arrays[f"{split}_ensemble"].astype(np.float16 if float16 else np.float32)
    first = files[comments[0]].provenance
    sources = {str(path): {"sha256": sha256_file(path), "teachers": stored.provenance["teachers"]}
               for path, stored in files.items()}  # fmt: skip
    record = {
        **{key: first.get(key) for key in _SAME_DATA_KEYS},
        # the rows of the mix: the comments, then the added rows of the --added-rows files
        "extra_train_rows": files[added_rows[0]].provenance.get("extra_train_rows"),
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
