"""Score a CSV or JSONL file of comments in batches.

    python -m toxiclf.predict --input comments.csv --text-column comment_text --output scored.csv
    python -m toxiclf.predict --input comments.jsonl --output scored.jsonl --model outputs/student-odd

Every input row is written back with `score`, `label`, `flagged` and `error` columns; rows that cannot be scored
(empty text) keep an empty score and say why in `error`. The output appears only when complete.
"""

import argparse
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from .classifier import BACKENDS
from .data import TEXT_COLUMN
from .paths import SHIPPED_MODEL_DIR

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}
CHUNK_ROWS = 4096  # rows per progress step; the classifier batches within


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise SystemExit(f"error: {path} must end in .csv or .jsonl")


def read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SystemExit(f"error: {path} does not exist")
    try:
        if file_format(path) == "csv":
            return pd.read_csv(path, keep_default_na=False, dtype=str)
        return pd.read_json(path, lines=True, dtype=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SystemExit(f"error: cannot read {path}: {str(error).splitlines()[0]}")


def write_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write next to the target, then rename: an interrupted run leaves no half-written file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(descriptor)
    try:
        if file_format(path) == "csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_json(temporary, orient="records", lines=True, force_ascii=False)
        os.replace(temporary, path)
    except BaseException:  # including KeyboardInterrupt: never leave the partial file behind
        Path(temporary).unlink(missing_ok=True)
        raise


def score_frame(frame: pd.DataFrame, text_column: str, classifier, progress: bool = True) -> pd.DataFrame:
    """The frame with score / label / flagged / error columns; empty texts are reported, not dropped."""
    texts = frame[text_column].map(lambda v: v if isinstance(v, str) else ("" if v is None else str(v)))
    valid = texts.str.strip() != ""
    scored = frame.copy()
    scored["score"], scored["label"], scored["flagged"], scored["error"] = None, None, None, ""
    scored.loc[~valid, "error"] = "empty text"

    valid_index = texts.index[valid]
    starts = range(0, len(valid_index), CHUNK_ROWS)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="Scoring", unit="chunk")
    for start in starts:
        index = valid_index[start : start + CHUNK_ROWS]
        predictions = classifier.predict(texts.loc[index].tolist())
        for column in ("score", "label", "flagged"):
            scored.loc[index, column] = [p[column] for p in predictions]
    return scored


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True, help=".csv or .jsonl file of comments")
    parser.add_argument("--output", type=Path, required=True, help=".csv or .jsonl file to write")
    parser.add_argument("--text-column", default=TEXT_COLUMN, help="column holding the comment text")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR, help="model folder (default: model/)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="auto: ONNX int8 on CPU, torch on GPU")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass")
    parser.add_argument("--threshold", type=float, help="flag at this score (default: the model's own)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    args = parser.parse_args(argv)
    file_format(args.input), file_format(args.output)
    if args.input.resolve() == args.output.resolve():
        parser.error("--output must differ from --input")
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        parser.error("--threshold must be in [0, 1]")
    return args


def main(argv=None):
    from .classifier import load_classifier_for_serving

    args = parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    frame = read_table(args.input)
    if args.text_column not in frame.columns:
        found = ", ".join(map(str, frame.columns))
        raise SystemExit(f"error: {args.input} has no column '{args.text_column}' (found: {found})")
    if not (args.model / "config.json").exists():
        raise SystemExit(f"error: no model at {args.model}; pass --model with a trained checkpoint folder")
    classifier = load_classifier_for_serving(args.model, backend=args.backend, batch_size=args.batch_size,
                                             device=args.device, threshold=args.threshold)  # fmt: skip
    scored = score_frame(frame, args.text_column, classifier)
    write_atomically(scored, args.output)
    bad = scored.index[scored["error"] != ""]
    logger.info("Scored %d of %d rows with %s; wrote %s", len(scored) - len(bad), len(scored), args.model, args.output)
    if len(bad):
        shown = ", ".join(str(i + 1) for i in bad[:20]) + (" …" if len(bad) > 20 else "")
        logger.warning("%d rows not scored (empty text): data rows %s", len(bad), shown)
    return scored


if __name__ == "__main__":
    main()
