"""Score a corpus with Ray Data: the local CLI's scores, rows and error rows, from many files and many machines.

    toxiclf-predict --engine ray --input 'corpus/*.parquet' --output scored.parquet
    toxiclf-predict --engine ray --address auto --input s3://bucket/comments/ --output s3://bucket/scored.parquet

    from toxiclf.batch.ray_engine import score
    score("corpus/", "scored.parquet", actors=2)

Reads CSV, JSONL or Parquet (a file, a folder, a glob; any filesystem pyarrow reads), scores with a pool of
actors that each load the model once (`map_batches`); the driver writes a folder of part files in row order
(`part-000000.parquet`, ...): Parquet, or the input's format when the output's name ends in .csv / .jsonl. Every
input column keeps its values and types; the added `toxic_*` columns and the error rows are the local CLI's,
computed by the same function (`toxiclf.batch.cli.score_values`). CSV cells are read as the exact strings they are,
as the local CLI reads them; JSONL lines are parsed by Python's json module in the actors, so that a field of
mixed types or a big integer survives into a JSONL output unchanged.

On a local filesystem the parts are written to `OUTPUT.partial/` and renamed into place when all are written; a
failed run leaves the parts that finished there, and a rerun (`--replace`) scores everything again.
"""

import fnmatch
import itertools
import logging
import os
import posixpath
import re
import time
from dataclasses import dataclass, field

from ..schema import TEXT_COLUMN
from .row_scoring import (
    FORMATS,
    InputError,
    added_columns,
    check_input_columns,
    escaped_header,
    json_line,
    json_record,
    json_records,
    neutralize_formula,
    score_table,
    score_values,
)

logger = logging.getLogger(__name__)

BATCH_ROWS = 1024  # rows per actor call: large enough to amortise Ray's per-batch cost, small for memory
# Ray Data's listing and reading tasks ask for a CPU each: a pool of actors that holds every CPU would
# wait on them forever. One logical CPU is left to them (a local Ray gets one more than the machine has: those
# tasks mostly wait on storage), so that 2 single-threaded actors still fill 2 cores.
IO_CPUS = 1
# A block is what one actor call receives. Ray's default (128 MiB) reads a 40,000-comment file as one block, which
# one actor scores while the others wait; blocks of 512 KiB (about a thousand comments) keep every actor busy.
BLOCK_BYTES = 2**19
PART_ROWS = 1_000_000  # rows per output file
PROGRESS_EVERY = 50  # batches between an actor's progress lines
PROGRESS_SECONDS = 10  # the driver's progress lines: one per block received, at most this often
_GLOB = set("*?[")


@dataclass
class Corpus:
    """The input files, on one filesystem, all of one format."""

    filesystem: object
    paths: list[str]
    format: str
    uri_prefix: str = ""  # "s3://" and the like: what Ray needs to find the files again
    columns: list[str] = field(default_factory=list)


def _filesystem(spec: str):
    import pyarrow.fs as pafs

    if "://" in spec:
        filesystem, path = pafs.FileSystem.from_uri(spec)
        return filesystem, path, spec.split("://", 1)[0] + "://"
    return pafs.LocalFileSystem(), os.path.abspath(spec), ""


def find_corpus(spec: str) -> Corpus:
    """The files a --input names: one file, every file under a folder (not hidden, not _SUCCESS-like), or the
    files matching a glob."""
    import pyarrow.fs as pafs

    filesystem, path, prefix = _filesystem(spec)
    if _GLOB & set(path):
        base = posixpath.dirname(path[: min(path.index(c) for c in _GLOB if c in path)])
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        paths = [i.path for i in filesystem.get_file_info(selector) if i.is_file and fnmatch.fnmatch(i.path, path)]
    else:
        info = filesystem.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise InputError(f"{spec} does not exist")
        if info.type == pafs.FileType.Directory:
            selector = pafs.FileSelector(path, recursive=True)
            paths = [i.path for i in filesystem.get_file_info(selector) if i.is_file
                     and not posixpath.basename(i.path).startswith((".", "_"))]  # fmt: skip
        else:
            paths = [path]
    if not paths:
        raise InputError(f"no files match {spec}")
    formats = {FORMATS.get(posixpath.splitext(p)[1].lower()) for p in sorted(paths)}
    if None in formats or len(formats) > 1:
        found = ", ".join(sorted(map(str, formats)))
        raise InputError(f"{spec} must hold files of one format, .csv, .jsonl or .parquet; found {found}")
    return Corpus(filesystem, sorted(paths), formats.pop(), prefix)


def read_columns(corpus: Corpus) -> list[str]:
    """The columns of the first file (CSV header, Parquet schema, the fields of its first JSONL records)."""
    import csv
    import io

    import pyarrow.parquet as pq

    first = corpus.paths[0]
    if corpus.format == "parquet":
        return pq.read_schema(first, filesystem=corpus.filesystem).names
    with corpus.filesystem.open_input_stream(first) as raw:
        # utf-8-sig: a byte-order mark is no part of the first column's name (the local CLI reads files alike)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        if corpus.format == "csv":
            return next(csv.reader(text), [])
        fields = {}
        # the records of the local CLI's first chunk
        for _, record in itertools.islice(json_records(text, corpus.uri_prefix + first), 2048):
            fields.update(dict.fromkeys(record))
        return list(fields)


def check_columns(corpus: Corpus, text_column: str, added: dict) -> None:
    columns = read_columns(corpus)
    first = corpus.uri_prefix + corpus.paths[0]
    if not columns:
        raise InputError(f"{first} is empty")
    check_input_columns(first, columns, text_column, added)
    corpus.columns = columns


def read_dataset(corpus: Corpus):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import ray.data

    paths = [corpus.uri_prefix + p for p in corpus.paths] if corpus.uri_prefix else corpus.paths
    fs = None if corpus.uri_prefix else corpus.filesystem
    if corpus.format == "parquet":
        return ray.data.read_parquet(paths, filesystem=fs)
    if corpus.format == "jsonl":  # one line a row, split at "\n" only, as Python's files are; parsed in the actors
        files = ray.data.read_binary_files(paths, filesystem=fs, include_paths=True)
        return files.flat_map(jsonl_lines)
    # Every cell the exact string it was, as the local CLI reads it: no type guessing, "" and "NA" stay strings; a
    # blank line is a row (an empty text in a one-column file), as the local CLI keeps it.
    return ray.data.read_csv(
        paths,
        filesystem=fs,
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(corpus.columns, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def jsonl_lines(row: dict) -> list[dict]:
    """The non-blank lines of one JSONL file with their line numbers: split at "\n" alone, as Python's text files
    split (Ray's read_text splits at U+2028 inside a JSON string too, which cut a record in two), a byte-order mark
    and a line's "\r" dropped as the local CLI's universal newlines drop them."""
    try:
        text = row["bytes"].decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{row['path']} is not UTF-8 text (it holds the byte 0x{error.object[error.start]:02x}); "
                         "convert it first, e.g. iconv -f latin1 -t utf-8") from None  # fmt: skip
    return [{"text": line.removesuffix("\r"), "path": row["path"], "line": number}
            for number, line in enumerate(text.split("\n"), start=1) if line.strip()]  # fmt: skip


class CorpusScorer:
    """One actor: loads the classifier once, then scores batch after batch."""

    def __init__(self, model, backend, threshold, threads, input_format, output_format, text_column, prefix,
                 batch_size=64):  # fmt: skip
        from ..inference.classifier import load_classifier_for_serving

        # The local CLI's batch size: batched backends (PyTorch) pad a batch to its longest text, and other shapes
        # round the same text's score differently in the last digits
        self.classifier = load_classifier_for_serving(model, backend=backend, threshold=threshold, threads=threads,
                                                      batch_size=batch_size)  # fmt: skip
        self.input_format, self.output_format = input_format, output_format
        self.text_column, self.added = text_column, added_columns(prefix)
        self.batches = self.rows = 0

    def __call__(self, batch):
        self.batches += 1
        self.rows += batch.num_rows
        if self.batches % PROGRESS_EVERY == 0:  # Ray forwards an actor's output to the driver
            print(f"scored {self.rows:,} rows in this actor", flush=True)
        return self._score(batch)

    def _score(self, batch):
        import pyarrow as pa

        if self.input_format != "jsonl":
            return score_table(batch, self.classifier, self.text_column, self.added)
        records = []
        columns = (batch.column(name).to_pylist() for name in ("text", "path", "line"))
        for line, path, number in zip(*columns, strict=True):
            record = json_record(line, f"{path}, line {number}")
            clashing = [c for c in self.added.values() if c in record]
            if clashing:  # in any record, as the local CLI checks: never overwritten
                raise InputError(f"{path}, line {number}, already has field(s) {', '.join(clashing)}; choose "
                                 "another --prefix")  # fmt: skip
            records.append(record)
        values = score_values([r.get(self.text_column) for r in records], self.classifier)
        for record, value in zip(records, values, strict=True):
            record.update({column: value[name] for name, column in self.added.items()})
        if self.output_format == "jsonl":
            return pa.table({"line": [json_line(r) for r in records]})
        try:
            return pa.Table.from_pylist(records)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:  # one field, several types: Parquet holds one
            raise InputError(
                f"a field holds values of several types, which a Parquet column cannot ({error}); "
                "write JSONL (--output NAME.jsonl) to keep every value as it is"
            ) from None


class PartWriter:
    """Writes scored blocks, in the order Ray yields them, into part files of about PART_ROWS rows
    (part-000000.parquet, ...): Parquet through pyarrow, CSV through pandas and JSONL line by line, the bytes
    the local CLI writes for each row. A part file appears under its name only once complete."""

    def __init__(self, filesystem, folder: str, output_format: str, csv_exact: bool, added: dict):
        self.filesystem, self.folder, self.format = filesystem, folder, output_format
        self.csv_exact, self.added = csv_exact, added
        self.parts = self.rows = self.written = self.errors = 0
        self.pending: list = []
        filesystem.create_dir(folder, recursive=True)

    def add(self, table) -> None:
        self.pending.append(table)
        self.rows += table.num_rows
        if self.format != "jsonl":
            self.errors += sum(bool(e) for e in table.column(self.added["error"]).to_pylist())
        if sum(t.num_rows for t in self.pending) >= PART_ROWS:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.pending:
            return
        # A field null in one block and a string in the next is a string column (null promotes); other mixtures
        # were refused in the actors.
        table, self.pending = pa.concat_tables(self.pending, promote_options="permissive"), []
        name = posixpath.join(self.folder, f"part-{self.parts:06d}.{self.format}")
        with self.filesystem.open_output_stream(name + ".partial") as out:
            if self.format == "parquet":
                pq.write_table(table, out)
            elif self.format == "jsonl":
                out.write("".join(table.column("line").to_pylist()).encode("utf-8"))
            else:
                frame = table.to_pandas()
                names = list(frame.columns)
                if not self.csv_exact:
                    user = [c for c in frame.columns if c not in self.added.values()]
                    frame[user] = frame[user].map(neutralize_formula)
                    names = escaped_header(names)
                out.write(frame.to_csv(index=False, header=names).encode("utf-8"))
        self.filesystem.move(name + ".partial", name)
        self.parts += 1
        self.written += table.num_rows


class Progress:
    """A line per block received, at most every PROGRESS_SECONDS: rows so far and the rate."""

    def __init__(self, started: float):
        self.started, self.blocks, self.last_line = started, 0, started

    def block_done(self, rows: int) -> None:
        self.blocks += 1
        now = time.perf_counter()
        if now - self.last_line >= PROGRESS_SECONDS:
            self.last_line = now
            logger.info(
                "%s rows scored in %d blocks, %.0f rows/s", f"{rows:,}", self.blocks, rows / (now - self.started)
            )


def output_format_of(output: str, input_format: str) -> str:
    extension = posixpath.splitext(output.rstrip("/"))[1].lower()
    chosen = FORMATS.get(extension, "parquet")
    if chosen not in ("parquet", input_format):
        raise InputError(f"--output {output}: write Parquet or the input's format ({input_format})")
    return chosen


def score(
    input,
    output,
    *,
    block_bytes=BLOCK_BYTES,
    model=None,
    text_column=TEXT_COLUMN,
    prefix="toxic_",
    backend="auto",
    threshold=None,
    actors=None,
    threads_per_actor=1,
    address=None,
    replace=False,
    csv_exact=False,
    batch_size=64,
) -> dict:
    """Score every row of `input` into the folder `output`; returns a summary (rows, errors, seconds, output)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'toxiclf[ray]'") from None
    from ..paths import ModelNotFound, model_folder

    try:
        model = model_folder(model, must_exist=True).resolve()
    except ModelNotFound as error:
        raise InputError(f"--model: {error}") from None
    if threads_per_actor < 1 or (actors is not None and actors < 1):
        raise InputError("--actors and --threads-per-actor must be at least 1")
    corpus = find_corpus(str(input))
    added = added_columns(prefix)
    check_columns(corpus, text_column, added)
    output_format = output_format_of(str(output), corpus.format)
    out_fs, out_path, out_prefix = _filesystem(str(output))
    import pyarrow.fs as pafs

    if out_fs.get_file_info(out_path).type != pafs.FileType.NotFound:
        if not replace:
            raise InputError(f"{output} exists; pass --replace to replace it")
    local = isinstance(out_fs, pafs.LocalFileSystem)
    target = out_path + ".partial" if local else out_path
    if local:
        if not os.path.isdir(os.path.dirname(out_path)):
            raise InputError(f"the folder of --output, {os.path.dirname(out_path)}, does not exist")
        _remove(out_fs, target)

    started = time.perf_counter()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING,
                 **({} if address else {"num_cpus": (os.cpu_count() or 1) + IO_CPUS}))  # fmt: skip
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = actors or max(1, (cpus - IO_CPUS) // threads_per_actor)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # blocks come back in row order
    context.target_max_block_size = block_bytes
    dataset = read_dataset(corpus).map_batches(
        CorpusScorer,
        batch_size=BATCH_ROWS,
        batch_format="pyarrow",
        # A fixed pool, each actor given one block at a time: with a few blocks in flight per actor, one actor can
        # hold the last blocks while the others have finished (and are shut down as idle).
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=threads_per_actor,
        fn_constructor_args=(
            str(model),
            backend,
            threshold,
            threads_per_actor,
            corpus.format,
            output_format,
            text_column,
            prefix,
            batch_size,
        ),  # fmt: skip
        # Ray Data's default for actor pools: an actor that dies is started again and its batch retried.
    )
    writer = PartWriter(out_fs, target, output_format, csv_exact, added)
    try:
        # The driver writes: Ray's own writers name their files by write task, which does not follow the row
        # order when actors finish out of turn; iterating the dataset does (preserve_order).
        progress = Progress(started)
        for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            writer.add(block)
            progress.block_done(writer.rows)
        writer.flush()
    except ray.exceptions.RayError as error:
        # Blocks come in row order, so the failure is in a block that starts after the rows already received.
        where = f"at row {writer.rows + 1:,} of the corpus or later (rows 1-{writer.rows:,} were scored)"
        finished = f"{writer.parts} finished part(s), {writer.written:,} rows, are in {target}"
        raise InputError(f"scoring {input} failed {where}: {_one_line(error)}; {finished}") from None
    if local:
        _remove(out_fs, out_path)
        os.replace(target, out_path)
    summary = {"rows": writer.rows, "errors": writer.errors} if output_format != "jsonl" else {"rows": writer.rows}
    summary.update(seconds=time.perf_counter() - started, actors=actors, threads_per_actor=threads_per_actor,
                   files=len(corpus.paths), output=str(output))  # fmt: skip
    return summary


def _remove(filesystem, path: str) -> None:
    import pyarrow.fs as pafs

    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.Directory:
        filesystem.delete_dir(path)
    elif info.type == pafs.FileType.File:
        filesystem.delete_file(path)


_RAISED = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*(?:Error|Exception|Invalid)): (.+)$")


def _one_line(error: BaseException) -> str:
    """The user's problem behind Ray's wrapping, which carries the actor's traceback as text: an InputError's
    message, or else the last exception line that is not Ray's own (a reader's ArrowInvalid names the file)."""
    raised = []
    while error is not None:
        raised += [m.groups() for m in map(_RAISED.match, map(str.strip, str(error).splitlines())) if m]
        error = getattr(error, "cause", None) or error.__cause__
    own = [message for name, message in raised if name == "InputError"]
    if own:
        return own[0]
    others = [f"{name}: {message}" for name, message in raised if name not in ("UserCodeException", "RayTaskError")]
    return (others or ["the engine stopped; see the log above"])[-1][:300]


def main(args) -> int:
    """toxiclf-predict --engine ray: the arguments parsed by toxiclf.batch.cli."""
    if args.explain:
        raise SystemExit("error: --explain is not available with --engine ray; score, then explain the rows you need")
    try:
        summary = score(args.input, args.output, model=args.model, text_column=args.text_column, prefix=args.prefix,
                        backend=args.backend, threshold=args.threshold, actors=args.actors,
                        threads_per_actor=args.threads_per_actor, address=args.address, replace=args.replace,
                        csv_exact=args.csv_exact, batch_size=args.batch_size)  # fmt: skip
    except InputError as error:
        raise SystemExit(f"error: {error}") from None
    errors = f" ({summary['errors']:,} not scored)" if "errors" in summary else ""
    rows = f"{summary['rows']:,} rows{errors}, "
    logger.info("Scored %s%d files with %d actors x %d threads in %.1f s; wrote %s", rows, summary["files"],
                summary["actors"], summary["threads_per_actor"], summary["seconds"], summary["output"])  # fmt: skip
    return 0
