"""Soft labels, stored once: the logits of one or more fine-tuned teachers on the training (and validation) rows.

    python -m toxiclf.training.soft_labels --teachers outputs/teacher outputs/minilm-l6 --output outputs/soft_labels.npz

Each teacher scores the rows with its own tokenizer, in length-sorted batches, on a GPU or the CPU (bf16 where
the CPU computes it natively). The ensemble's logits are the mean of the teachers' log-probabilities (a
geometric mean of their probabilities, renormalised): a teacher that is sure and right pulls harder than one that
hesitates, and the result is again a pair of logits. `run_distill.py --soft-labels FILE` then trains on them
without running a teacher; the file is refused for rows, data, seed or length other than the run's.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from ..data.splits import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_SEED,
    EMBEDDED,
    ID_COLUMN,
    TEXT_COLUMN,
    data_provenance,
    load_splits,
)
from ..paths import OUTPUTS_DIR, sha256_file
from .arguments import RowArguments, from_namespace
from .common import cpu_has_native_bf16, identity_augmentation, with_added_rows

SPLITS = ("train", "validation")


def ensemble_logits(per_teacher: list[np.ndarray]) -> np.ndarray:
    """Mean log-probabilities of the teachers: logits of the normalised geometric mean of their probabilities."""
    log_probabilities = [logits - np.logaddexp(logits[:, :1], logits[:, 1:]) for logits in per_teacher]
    return np.mean(log_probabilities, axis=0)


def score_teachers(teachers, texts: list[str], max_length: int, batch_size: int, bf16: bool) -> list[np.ndarray]:
    from ..inference.classifier import Classifier

    logits = []
    for teacher in teachers:
        classifier = Classifier(teacher, max_length=max_length, batch_size=batch_size, bf16_on_cpu=bf16)
        logits.append(classifier.logits(texts, progress=True).astype(np.float32))
        del classifier
    return logits


def write_soft_labels(path: Path, teachers: list[str], splits, provenance: dict, max_length: int, batch_size: int,
                      bf16: bool = False, float16: bool = False, extra_rows: dict | None = None,
                added_rows_only: bool = False):  # fmt: skip
    """Score `splits` with each teacher and store the logits by row id. `float16`: the ensemble alone, in half
    precision (a file small enough to commit); `extra_rows` records which augmentation rows the train split holds;
    `added_rows_only`: the splits hold those rows alone (for research.soft_label_mix)."""
    arrays, record = {}, {"teachers": [], "data": provenance, "max_length": max_length, "bf16": bf16,
                          "combination": "mean of the teachers' log-probabilities",
                          "extra_train_rows": extra_rows or {}, "float16": float16}  # fmt: skip
    if added_rows_only:
        record["added_rows_only"] = True
    for teacher in teachers:
        weights = Path(teacher) / "model.safetensors"
        record["teachers"].append({"path": teacher, "sha256": sha256_file(weights) if weights.exists() else None})
    for split in SPLITS:
        if not len(splits[split]):  # --added-rows-only: no validation rows
            arrays[f"{split}_ids"], arrays[f"{split}_ensemble"] = np.array([], dtype=str), np.zeros((0, 2), np.float32)
            continue
        per_teacher = score_teachers(teachers, splits[split][TEXT_COLUMN], max_length, batch_size, bf16)
        arrays[f"{split}_ids"] = np.array(splits[split][ID_COLUMN])
        arrays[f"{split}_ensemble"] = ensemble_logits(per_teacher).astype(np.float16 if float16 else np.float32)
        if not float16:
            for i, logits in enumerate(per_teacher):
                arrays[f"{split}_teacher{i}"] = logits
    save_soft_labels(path, arrays, record)
    return record


def save_soft_labels(path: Path, arrays: dict[str, np.ndarray], record: dict) -> None:
    """Write the arrays and their provenance record; a killed run leaves no file that looks finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, **arrays, provenance=np.array(json.dumps(record)))
    partial.rename(path)


class SoftLabels:
    """Stored ensemble logits, looked up by row id, checked against the run that wants them."""

    def __init__(self, path: Path):
        try:
            with np.load(path, allow_pickle=False) as stored:
                self.provenance = json.loads(str(stored["provenance"]))
                # in the file's row order too, for tools that combine files (research.soft_label_mix)
                self.ids = {split: stored[f"{split}_ids"] for split in SPLITS}
                self.logits = {split: stored[f"{split}_ensemble"] for split in SPLITS}
            self.by_split = {
                split: dict(zip(self.ids[split].tolist(), self.logits[split], strict=True)) for split in SPLITS
            }
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"{path} is not a soft-label file ({type(error).__name__}: {error})") from None
        self.path = path

    def check_matches(self, data_source: dict, max_length: int, extra_rows: dict | None = None) -> None:
        """A ValueError unless the file was made for this data, length and (where it records them) these added
        rows: an identity or templated sentence is known by its number, which names another sentence elsewhere, so
        the flags, the rows they were balanced against and the sentences' fingerprint must all be the same."""
        if self.provenance.get("added_rows_only"):
            raise ValueError(f"{self.path} holds the added rows only; mix it with the comments' logits first "
                             "(python -m research.soft_label_mix)")  # fmt: skip
        stored = self.provenance["data"]
        for key in ("dataset", "seed", "split_sizes", "sha256"):
            if stored.get(key) != data_source.get(key):
                ours, theirs = data_source.get(key), stored.get(key)
                raise ValueError(f"{self.path} was made for other data ({key}: {theirs} vs {ours})")
        if self.provenance["max_length"] != max_length:
            made_with = self.provenance["max_length"]
            raise ValueError(f"{self.path} was made with --max-seq-length {made_with}, not {max_length}")
        recorded = self.provenance.get("extra_train_rows")
        if recorded and "base_rows" not in recorded:  # the first such files: made on the whole training split
            recorded = {**recorded, "base_rows": stored["split_sizes"]["train"]}
        if recorded and extra_rows is not None and any(recorded.get(k) != v for k, v in extra_rows.items()):
            raise ValueError(f"{self.path} was made for other added rows ({recorded}, this run: {extra_rows})")

    def logits_for(self, split: str, ids: list[str]) -> np.ndarray:
        table = self.by_split[split]
        missing = [row_id for row_id in ids if row_id not in table]
        if missing:
            raise ValueError(f"{self.path} has no soft labels for {len(missing)} {split} rows (e.g. {missing[0]})")
        return np.stack([table[row_id] for row_id in ids])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", required=True, help="fine-tuned classifier folders")
    parser.add_argument("--output", type=Path, default=OUTPUTS_DIR / "soft_labels.npz", help="file to write")
    parser.add_argument("--dataset", default=EMBEDDED, help="'embedded' (default) or a local folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split seed, as in training")
    parser.add_argument("--max-seq-length", type=int, default=DEFAULT_MAX_LENGTH, help="as in training")
    parser.add_argument("--batch-size", type=int, default=64, help="rows per forward pass")
    parser.add_argument("--no-bf16", action="store_true", help="fp32 even where the CPU computes bf16 natively")
    parser.add_argument("--float16", action="store_true", help="store the ensemble alone in half precision (~1 MB)")
    parser.add_argument(
        "--identity-augmentation",
        type=identity_augmentation,
        default=0,
        help="score the identity sentences a student run with this flag adds, too",
    )
    parser.add_argument("--group-sentences", choices=("none", "balanced"), default="none",
                        help="score the group sentences a student run with this flag adds, too")  # fmt: skip
    parser.add_argument("--robustness-augmentation", type=int, default=0,
                        help="score the templated sentences a student run with this flag adds, too")  # fmt: skip
    parser.add_argument("--davidson", type=Path, help="score the Davidson tweets a student run with this flag adds")
    parser.add_argument("--davidson-samples", type=int, help="with --davidson: how many tweets, as in the run")
    parser.add_argument(
        "--max-rows", type=int,
        help="score the first N rows of each split only (quick runs; a run on other rows is refused)",
    )  # fmt: skip
    parser.add_argument(
        "--added-rows-only", action="store_true",
        help="score only the rows the flags add, for research.soft_label_mix --added-rows (not a file to train on)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.davidson_samples is not None and (args.davidson_samples < 1 or not args.davidson):
        parser.error("--davidson-samples takes a positive number, with --davidson")
    for teacher in args.teachers:
        if not (Path(teacher) / "config.json").exists():
            raise SystemExit(f"error: {teacher} holds no model (no config.json)")
    splits = load_splits(args.dataset, args.seed)
    provenance = data_provenance(args.dataset, args.seed, splits)  # all three splits, as training records it
    splits.pop("test")  # soft labels are for training and validation only
    if args.max_rows:
        splits = {split: rows.select(range(min(args.max_rows, len(rows)))) for split, rows in splits.items()}
    # The rows a student run adds with the same flags (and seed), under the same ids. Disguised spellings
    # (--noise-share) keep their row's id: the student then learns the teacher's reading of the plain text.
    splits["train"], extra, _, _ = with_added_rows(splits["train"], from_namespace(RowArguments, args))
    if args.added_rows_only:
        if len(splits["train"]) == extra["base_rows"]:
            parser.error("--added-rows-only needs the flags of the rows to add (--robustness-augmentation ...)")
        splits = {"train": splits["train"].select(range(extra["base_rows"], len(splits["train"]))),
                  "validation": splits["validation"].select([])}  # fmt: skip

    bf16 = not args.no_bf16 and cpu_has_native_bf16()  # a GPU autocasts to bf16 in any case
    record = write_soft_labels(args.output, args.teachers, splits, provenance, args.max_seq_length, args.batch_size,
                               bf16, args.float16, extra, args.added_rows_only)  # fmt: skip
    print(f"Wrote {args.output}: {len(args.teachers)} teacher(s), {record['combination']}")


if __name__ == "__main__":
    main()
