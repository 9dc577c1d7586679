"""Score a CSV, JSONL or Parquet file of comments, streaming it in chunks.

    toxiclf-predict --input comments.csv --text-column comment_text --output scored.csv
    python -m toxiclf.batch.cli --input comments.jsonl --output scored.jsonl --model outputs/student-odd
    toxiclf-predict --engine ray --input 'corpus/*.parquet' --output scored.parquet   # a corpus: Ray Data

Every input row comes back exactly as given, in order, with four columns added: `toxic_score`, `toxic_label`,
`toxic_flagged` and `toxic_error` (`--prefix` changes `toxic_`). An input that already has one of them is refused
before any work: a user's `label` or `score` column is never replaced. Rows whose text is missing, null, not a
string or empty are error rows, never scored. The output appears only when complete.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return, and not a
plain number) are written with a leading apostrophe unless `--csv-exact` is given; JSONL is always exact.
"""

import argparse
import csv
import logging
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..inference.classifier import BACKENDS
from ..paths import ModelNotFound, model_folder
from ..schema import TEXT_COLUMN
from .row_scoring import (  # noqa: F401 - json_line and score_values are this CLI's public helpers too
    InputError,
    added_columns,
    check_input_columns,
    escaped_header,
    file_format,
    json_line,
    json_records,
    neutralize_formula,
    score_table,
    score_values,
)

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2048  # rows read, scored and written at a time: memory stays bounded whatever the file size


def csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each CSV record (a quoted cell may span lines), read as UTF-8 with or without a
    byte-order mark; a file in another encoding is one line naming the first byte that is not UTF-8."""
    with open(path, newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        try:
            for fields in reader:
                yield reader.line_num, fields
        except UnicodeDecodeError as error:
            raise not_utf8(path, error) from None
        except csv.Error as error:
            raise InputError(f"cannot read {path}, line {reader.line_num}: {error}") from None


def not_utf8(path: Path, error: UnicodeDecodeError) -> InputError:
    byte = error.object[error.start]
    return InputError(f"{path} is not UTF-8 text (it holds the byte 0x{byte:02x}); convert it first, "
                      "e.g. iconv -f latin1 -t utf-8")  # fmt: skip


def check_csv(path: Path, text_column: str, added: dict) -> None:
    """In one pass before any scoring: the header has the text column and no added column, and every record has
    the header's number of fields, so that no value moves to another column (pandas would make an extra first
    field the index and shift the rest); a blank line is an empty row, kept."""
    records = csv_records(path)
    header = next(records, (1, None))[1]
    if not header:
        raise InputError(f"{path} is empty")
    check_input_columns(path, header, text_column, added)
    for line, fields in records:
        if fields and len(fields) != len(header):
            raise InputError(
                f"{path}, line {line}: {len(fields)} fields where the header has {len(header)}; "
                "quote cells that hold commas"
            )


def csv_chunks(path: Path) -> Iterator[pd.DataFrame]:
    # Every cell as the exact string it was: no type guessing, "NA" and "" stay what they are.
    # A blank line is a row (an empty text in a one-column file), not nothing: no row is dropped.
    reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS, encoding="utf-8-sig",
                         skip_blank_lines=False, index_col=False)  # fmt: skip
    try:
        yield from reader
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {str(error).strip().splitlines()[-1]}") from None


def jsonl_chunks(path: Path) -> Iterator[list[tuple[int, dict]]]:
    """Lists of (line number, record), CHUNK_ROWS at a time."""
    chunk = []
    with open(path, encoding="utf-8-sig") as source:
        try:
            for numbered in json_records(source, path):
                chunk.append(numbered)
                if len(chunk) == CHUNK_ROWS:
                    yield chunk
                    chunk = []
        except UnicodeDecodeError as error:
            raise not_utf8(path, error) from None
    if chunk:
        yield chunk


class ScoringRun:
    """Streams one input file into a temporary output next to the target; `finish` renames it into place."""

    def __init__(self, args, classifier):
        self.args, self.classifier = args, classifier
        self.added = added_columns(args.prefix, args.explain)
        self.rows = self.errors = self.neutralized = 0
        self.error_lines: list[int] = []
        descriptor, temporary = tempfile.mkstemp(dir=args.output.parent, prefix=f".{args.output.name}.",
                                                 suffix=".partial")  # fmt: skip
        os.close(descriptor)
        self.temporary = Path(temporary)
        # mkstemp makes the file private (0600); the output gets what any new file of the user's would
        umask = os.umask(0)
        os.umask(umask)
        self.temporary.chmod(0o666 & ~umask)

    def _note(self, values: list[dict], lines: list[int]) -> None:
        for value, line in zip(values, lines, strict=True):
            if value["error"]:
                self.errors += 1
                self.error_lines.append(line)
        self.rows += len(values)

    def run_csv(self, progress) -> None:
        header = True
        for chunk in progress(csv_chunks(self.args.input)):
            values = score_values(chunk[self.args.text_column].tolist(), self.classifier, self.args.explain)
            start = self.rows + 2  # line 1 is the header (multi-line cells make this approximate)
            self._note(values, list(range(start, start + len(chunk))))
            for name, column in self.added.items():
                chunk[column] = [v[name] for v in values]
            if not self.args.csv_exact:
                user_columns = [c for c in chunk.columns if c not in self.added.values()]
                inert = chunk[user_columns].map(neutralize_formula)
                self.neutralized += int((inert.to_numpy() != chunk[user_columns].to_numpy()).sum())
                chunk[user_columns] = inert
            names = list(chunk.columns) if self.args.csv_exact else escaped_header(chunk.columns)
            chunk.to_csv(self.temporary, mode="w" if header else "a", header=names if header else False, index=False)
            header = False
        if header:
            raise InputError(f"{self.args.input} has a header but no rows")

    def run_jsonl(self, progress) -> None:
        first, fields = True, {}
        with open(self.temporary, "w", encoding="utf-8") as out:
            for chunk in progress(jsonl_chunks(self.args.input)):
                records = [record for _, record in chunk]
                first = False
                self._check_fields(chunk, fields)
                values = score_values([r.get(self.args.text_column) for r in records], self.classifier,
                                      self.args.explain)  # fmt: skip
                self._note(values, [number for number, _ in chunk])
                for record, value in zip(records, values, strict=True):
                    record.update({column: value[name] for name, column in self.added.items()})
                    out.write(json_line(record))
        if first:
            raise InputError(f"{self.args.input} holds no JSON records")
        if self.args.text_column not in fields:  # checked over every record: a late text field is not missed
            found = ", ".join(fields)
            raise InputError(f"{self.args.input} has no field '{self.args.text_column}' (found: {found})")

    def run_parquet(self, progress) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            source = pq.ParquetFile(self.args.input)
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"cannot read {self.args.input}: {error}") from None
        check_input_columns(self.args.input, source.schema_arrow.names, self.args.text_column, self.added)
        writer = None
        try:
            for batch in progress(source.iter_batches(batch_size=CHUNK_ROWS)):
                table = score_table(pa.Table.from_batches([batch]), self.classifier, self.args.text_column,
                                    self.added, self.args.explain)  # fmt: skip
                errors = table.column(self.added["error"]).to_pylist()
                self._note([{"error": e} for e in errors], list(range(self.rows + 1, self.rows + 1 + len(errors))))
                writer = writer or pq.ParquetWriter(self.temporary, table.schema)
                writer.write_table(table)
        finally:
            if writer:
                writer.close()
        if writer is None:
            raise InputError(f"{self.args.input} holds no rows")

    def _check_fields(self, chunk: list[tuple[int, dict]], fields: dict) -> None:
        """Every record's fields, not the first chunk's only: a `toxic_*` field of the user's anywhere in the file
        refuses the run (nothing is written), rather than being overwritten at record 2,049."""
        for line, record in chunk:
            clashing = [c for c in self.added.values() if c in record]
            if clashing:
                raise InputError(f"{self.args.input}, line {line}, already has field(s) {', '.join(clashing)}; "
                                 "choose another --prefix")  # fmt: skip
            fields.update(dict.fromkeys(record))

    def finish(self) -> None:
        os.replace(self.temporary, self.args.output)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--input",
        required=True,
        help=".csv, .jsonl or .parquet file of comments (--engine ray: also a folder, a glob or a URI)",
    )
    parser.add_argument(
        "--output",
        required=True,
        help="file to write, in the input's format (--engine ray: a folder of part files, .parquet or the input's "
        "format)",
    )
    parser.add_argument("--text-column", default=TEXT_COLUMN, help="column holding the comment text")
    parser.add_argument("--prefix", default="toxic_", help="prefix of the added columns (default: toxic_)")
    parser.add_argument("--model", help="a model folder, or a shipped model by name: default, fast")
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="auto: ONNX int8 on CPU, torch on GPU")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass")
    parser.add_argument("--threshold", type=float, help="flag at this score (default: the model's own)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    parser.add_argument(
        "--csv-exact",
        action="store_true",
        help="write CSV cells exactly as read, formula-like ones included (unsafe in spreadsheets)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    corpus = parser.add_argument_group("corpus scale (toxiclf.batch.ray_engine; needs the [ray] extra)")
    corpus.add_argument("--engine", choices=("local", "ray"), default="local", help="local: one process, one file")
    corpus.add_argument("--address", help="--engine ray: a running cluster (ray.init(address=...)); default: local")
    corpus.add_argument("--actors", type=int, help="--engine ray: scoring actors (default: CPUs / threads)")
    corpus.add_argument("--threads-per-actor", type=int, default=1, help="--engine ray: CPU threads of each actor")
    corpus.add_argument("--replace", action="store_true", help="--engine ray: replace an existing output")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="add <prefix>top_words: the words that raise P(toxic) most (one pass per word: slower)",
    )
    return parser.parse_args(argv)


def check_args(args) -> None:
    """Everything that can be checked before the model loads or a row is scored."""
    if args.address or args.actors or args.replace or args.threads_per_actor != 1:
        raise InputError("--address, --actors, --threads-per-actor and --replace go with --engine ray")
    if file_format(args.input) != file_format(args.output):
        raise InputError("--input and --output must have the same format (.csv, .jsonl or .parquet)")
    if not args.input.is_file():
        raise InputError(f"{args.input} does not exist")
    if args.input.resolve() == args.output.resolve():
        raise InputError("--output must differ from --input")
    if args.output.is_dir():  # checked before scoring: the rename at the end would fail after all the work
        raise InputError(f"--output {args.output} is a folder; name the file to write")
    if not args.output.parent.is_dir():
        raise InputError(f"the folder of --output, {args.output.parent}, does not exist")
    if not os.access(args.output.parent, os.W_OK):
        raise InputError(f"cannot write to {args.output.parent}")
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise InputError("--threshold must be in [0, 1]")
    if not args.prefix:
        raise InputError("--prefix must not be empty")
    try:
        args.model = model_folder(args.model, must_exist=True)
    except ModelNotFound as error:
        raise InputError(f"--model: {error}") from None
    if file_format(args.input) == "csv":
        check_csv(args.input, args.text_column, added_columns(args.prefix, args.explain))


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if args.engine == "ray":
        from .ray_engine import main as score_corpus

        return score_corpus(args)
    args.input, args.output = Path(args.input), Path(args.output)
    try:
        check_args(args)
    except InputError as error:
        raise SystemExit(f"error: {error}") from None
    from ..inference.classifier import load_classifier_for_serving

    try:
        classifier = load_classifier_for_serving(args.model, backend=args.backend, batch_size=args.batch_size,
                                                 device=args.device, threshold=args.threshold)  # fmt: skip
    except ValueError as error:  # a broken model folder: its one line, naming the file, no traceback
        raise SystemExit(f"error: {error}") from None
    run = ScoringRun(args, classifier)
    # SIGTERM (a scheduler's stop, `kill`) ends the run as Ctrl-C does: through the cleanup below, not around it
    previous_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def progress(chunks):
        if args.no_progress:
            return chunks
        from tqdm.auto import tqdm

        return tqdm(chunks, desc="Scoring", unit=f" chunk of {CHUNK_ROWS}")

    try:
        {"csv": run.run_csv, "jsonl": run.run_jsonl, "parquet": run.run_parquet}[file_format(args.input)](progress)
        run.finish()
    except InputError as error:
        run.discard()
        raise SystemExit(f"error: {error}") from None
    except BaseException:  # including KeyboardInterrupt: never leave the partial file behind
        run.discard()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    logger.info("Scored %d of %d rows with %s (%s); wrote %s", run.rows - run.errors, run.rows, args.model,
                classifier.backend, args.output)  # fmt: skip
    if run.errors:
        shown = ", ".join(map(str, run.error_lines[:20])) + (" …" if run.errors > 20 else "")
        logger.warning("%d rows not scored (see %s): lines %s", run.errors, run.added["error"], shown)
    if run.neutralized:
        logger.info("%d formula-like CSV cells written with a leading apostrophe (--csv-exact keeps them as read)",
                    run.neutralized)  # fmt: skip
    return 0  # the console script's exit status: what a shell and a scheduler read as success


if __name__ == "__main__":
    main()
