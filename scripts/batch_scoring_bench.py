"""Corpus scoring, local CLI against Ray Data, in one run on this machine -> results/batch_scoring.json.

    python scripts/batch_scoring_bench.py                 # 200,000 comments (validation texts repeated)
    python scripts/batch_scoring_bench.py --rows 40000    # shorter

Each engine scores the same Parquet file in a fresh process, as a user runs it: the local CLI on all cores
(`toxiclf-predict`), and `--engine ray` with 1 and 2 single-threaded actors, each on a local Ray that it starts.
Each is run twice, on the corpus and on its first `--small-rows` rows: the small run is almost all start-up
(Python, Ray, the model load), so that start-up = its wall time and the steady rate = the extra rows over the
extra seconds. Peak memory is the largest resident set of a scoring process (the CLI, or each Ray actor),
sampled every 0.2 s. Every engine's output is checked against the local CLI's, row by row.
Texts are the validation split's (the test split is read by run_eval.py alone); only speed is measured here.
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the lab (research/) lives beside the package

from research.report import replace_doc_section
from toxiclf.data.splits import TEXT_COLUMN, load_splits
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR, shown_path
from toxiclf.provenance import cpu_name, git_commit, library_versions

ENGINES = {  # name -> extra arguments of toxiclf-predict
    "local CLI (2 threads)": [],
    "ray, 1 actor x 1 thread": ["--engine", "ray", "--actors", "1", "--threads-per-actor", "1"],
    "ray, 2 actors x 1 thread": ["--engine", "ray", "--actors", "2", "--threads-per-actor", "1"],
}


def write_corpus(path: Path, rows: int) -> None:
    texts = load_splits()["validation"][TEXT_COLUMN]
    repeated = [texts[i % len(texts)] for i in range(rows)]
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()), TEXT_COLUMN: repeated}), path)


def scoring_processes(root: psutil.Process) -> list[psutil.Process]:
    """The CLI itself, or Ray's scoring actors (found by name: Ray starts them outside the CLI's process tree)."""
    found = [root]
    for process in psutil.process_iter(["cmdline"]):
        if "CorpusScorer" in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def run(arguments: list[str]) -> dict:
    """Wall seconds and the peak RSS (MiB) of the CLI and of each actor."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "toxiclf.batch.cli", *arguments], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    peaks: dict[int, int] = {}
    root = psutil.Process(process.pid)

    def sample():
        while process.poll() is None:
            for each in scoring_processes(root):
                try:
                    peaks[each.pid] = max(peaks.get(each.pid, 0), each.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{stderr[-2000:]}")
    actors = [rss for pid, rss in peaks.items() if pid != process.pid]
    return {"seconds": seconds, "cli_peak_mib": peaks.get(process.pid, 0) / 2**20,
            "actor_peak_mib": max(actors) / 2**20 if actors else None}  # fmt: skip


def rows_differing(table: pa.Table, reference: pa.Table) -> dict:
    """Per column, the rows whose value differs from the reference's (0 everywhere when the tables are equal)."""
    if table.num_rows != reference.num_rows or table.column_names != reference.column_names:
        return {"shape": f"{table.num_rows} rows {table.column_names} vs {reference.num_rows} {reference.column_names}"}
    return {name: sum(a != b for a, b in zip(table.column(name).to_pylist(), reference.column(name).to_pylist(),
                                             strict=True)) for name in table.column_names}  # fmt: skip


def read_output(path: Path) -> pa.Table:
    files = sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]
    return pa.concat_tables([pq.read_table(f) for f in files])


def markdown(report: dict) -> str:
    rows = [
        f"| {name} | {e['steady_comments_per_s']:,.0f} | {e['comments_per_s']:,.0f} | {e['startup_s']:.1f} | "
        f"{e['actor_peak_mib'] or e['cli_peak_mib']:,.0f} | {'yes' if e['same_as_local_cli'] else '**no**'} |"
        for name, e in report["engines"].items()
    ]
    ratios, goals = report["ratios"], report["goals"]
    return "\n".join(
        [
            f"{report['rows']:,} comments from one Parquet file, {report['machine']['cores']} cores "
            f"({report['machine']['cpu']}), the served model (`{report['model']}`, ONNX int8), "
            f"{report['measured_at'][:10]}:",
            "",
            "| engine | comments/s (steady) | comments/s (end to end) | start-up s | peak MiB per scoring process "
            "| rows equal to the local CLI's |",
            "|---|---:|---:|---:|---:|---|",
            *rows,
            "",
            f"Ray with 2 actors ÷ the local CLI: **{ratios['ray_2_actors_over_local_cli']:.2f}** (goal ≥ "
            f"{goals['ray_2_actors_over_local_cli']}); 2 actors ÷ 1 actor: "
            f"**{ratios['ray_2_actors_over_1_actor']:.2f}** "
            f"(goal ≥ {goals['ray_2_actors_over_1_actor']}), steady rates. Start-up is the wall time of a "
            f"{report['startup_rows']}-row run (Python, Ray, the model load).",
            "",
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="comments in the corpus")
    parser.add_argument("--small-rows", type=int, default=500, help="rows of the start-up run")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR, help="model folder")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "batch_scoring.json")
    parser.add_argument("--update-readme", action="store_true", help="rewrite the table in docs/batch-scoring.md")
    args = parser.parse_args(argv)
    if args.small_rows >= args.rows:
        parser.error("--small-rows must be below --rows")

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, rows in (("corpus", args.rows), ("small", args.small_rows)):
            write_corpus(folder / f"{name}.parquet", rows)
        reference = None
        for engine, extra in ENGINES.items():
            measured = {}
            for name in ("small", "corpus"):
                output = folder / f"{len(results)}-{name}.parquet"
                measured[name] = run(["--input", str(folder / f"{name}.parquet"), "--output", str(output),
                                      "--model", str(args.model), "--no-progress", *extra])  # fmt: skip
            scored = read_output(folder / f"{len(results)}-corpus.parquet")
            reference = reference if reference is not None else scored
            steady = (args.rows - args.small_rows) / (measured["corpus"]["seconds"] - measured["small"]["seconds"])
            results[engine] = {
                "comments_per_s": args.rows / measured["corpus"]["seconds"],
                "steady_comments_per_s": steady,
                "startup_s": measured["small"]["seconds"],
                "wall_s": measured["corpus"]["seconds"],
                "cli_peak_mib": measured["corpus"]["cli_peak_mib"],
                "actor_peak_mib": measured["corpus"]["actor_peak_mib"],
                "same_as_local_cli": scored.equals(reference),
                "rows_differing_from_local_cli": rows_differing(scored, reference),
            }
            print(f"{engine}: {results[engine]['comments_per_s']:.0f} comments/s end to end, steady {steady:.0f}/s,"
                  f" start-up {measured['small']['seconds']:.1f} s", flush=True)  # fmt: skip
    local, one, two = (results[name]["steady_comments_per_s"] for name in ENGINES)
    report = {
        "what": f"{args.rows:,} validation comments (repeated) scored from Parquet to Parquet by each engine",
        "rows": args.rows,
        "startup_rows": args.small_rows,
        "model": shown_path(args.model),
        "engines": results,
        "ratios": {
            "ray_2_actors_over_local_cli": two / local,
            "ray_2_actors_over_1_actor": two / one,
        },
        "goals": {"ray_2_actors_over_local_cli": 0.9, "ray_2_actors_over_1_actor": 1.7},
        "rates": "over all rows of one run per engine, each in a fresh process; steady = without the start-up run",
        "machine": {"cpu": cpu_name(), "cores": psutil.cpu_count(), "platform": platform.platform()},
        "versions": library_versions(),
        "git_commit": git_commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python scripts/batch_scoring_bench.py" + (f" --rows {args.rows}" if args.rows != 200_000 else ""),
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    if args.update_readme:
        replace_doc_section("batch-scoring", markdown(report))
    print(f"Wrote {args.output}: 2 actors / local CLI {two / local:.2f}, 2 actors / 1 actor {two / one:.2f}")
    return report


if __name__ == "__main__":
    main()
