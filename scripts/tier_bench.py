"""The served tiers side by side, in one run on this machine -> results/tier_bench.json.

    python scripts/tier_bench.py --models default=model fast=model-fast candidate=outputs/cand/student-4l
    python scripts/tier_bench.py --models ... --rounds 5 --texts 600 --cli-rows 8000

Each model folder is measured as a user meets it, each measurement in a fresh process (so memory is its own):
- **served**: `load_classifier(folder)` (the served backend, its preprocessing), one comment per call as the web
  app scores a request: batch-1 latency p50 / p95 and comments/s (calls / their total time);
- **batched**: the same comments scored as one list (`scores`, batches of 32): comments/s;
- **bulk CLI**: `toxiclf-predict` on a CSV of `--cli-rows` comments, and on its first 100 rows: the steady rate is
  the extra rows over the extra seconds (start-up, mostly Python and the model load, cancels out);
- **memory**: the peak resident set of the served process; **size**: the weights and the served graph on disk.
Models take turns within each round (A B C, A B C, ...), so that a machine that slows down mid-run slows all
alike; each figure is the median over rounds, and each model's ratio to the first is taken from those medians.
Texts are validation comments (the test split is read by run_eval.py alone); only speed is measured here.
"""

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from toxiclf.paths import RESULTS_DIR, shown_path  # noqa: E402
from toxiclf.provenance import cpu_name  # noqa: E402

SMALL_CLI_ROWS = 100


def validation_texts(count: int, seed: int = 0) -> list[str]:
    from toxiclf.data.splits import DEFAULT_SEED, EMBEDDED, TEXT_COLUMN, load_splits

    texts = load_splits(EMBEDDED, DEFAULT_SEED)["validation"][TEXT_COLUMN]
    chosen = np.random.default_rng(seed).choice(len(texts), size=min(count, len(texts)), replace=False)
    return [texts[int(i)] for i in chosen]


def measure_served(folder: str, texts: list[str]) -> dict:
    """In this (fresh) process: load, then one comment per call, then the list at once."""
    from toxiclf import load_classifier

    started = time.perf_counter()
    classifier = load_classifier(folder)
    load_seconds = time.perf_counter() - started
    for text in texts[:16]:  # warm-up: the first calls allocate and pick kernels
        classifier.predict(text)
    latencies = []
    for text in texts:
        started = time.perf_counter()
        classifier.predict(text)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    classifier.scores(texts, batch_size=32)
    batched = len(texts) / (time.perf_counter() - started)
    return {"backend": classifier.backend, "load_s": round(load_seconds, 3),
            "p50_ms": 1000 * float(np.percentile(latencies, 50)), "p95_ms": 1000 * float(np.percentile(latencies, 95)),
            "served_comments_per_s": len(texts) / sum(latencies), "batched_comments_per_s": batched,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def cli_seconds(folder: str, csv_path: Path, workdir: Path) -> float:
    output = workdir / f"scored-{time.monotonic_ns()}.csv"
    started = time.perf_counter()
    command = [sys.executable, "-m", "toxiclf.batch.cli", "--input", str(csv_path), "--output", str(output),
               "--text-column", "text", "--model", folder, "--no-progress"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    output.unlink()
    return seconds


def folder_size_mib(folder: Path) -> dict:
    weights = folder / "model.safetensors"
    graph = folder / "onnx" / "model.int8.onnx"
    size = {"weights_mib": weights.stat().st_size / 2**20 if weights.exists() else None,
            "int8_graph_mib": graph.stat().st_size / 2**20 if graph.exists() else None}  # fmt: skip
    size["folder_mib"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
    return size


def layers(folder: Path) -> int | None:
    return json.loads((folder / "config.json").read_text()).get("num_hidden_layers")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", metavar="NAME=FOLDER", help="the first is the baseline of the ratios")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=int, default=400, help="validation comments per served measurement")
    parser.add_argument("--cli-rows", type=int, default=4000, help="rows of the bulk CLI's CSV")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "tier_bench.json")
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "TEXTS_JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.child and not args.models:
        parser.error("give --models NAME=FOLDER ...")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        folder, texts_file = args.child
        print(json.dumps(measure_served(folder, json.loads(Path(texts_file).read_text()))))
        return
    import pandas as pd

    models = dict(item.split("=", 1) for item in args.models)
    for name, folder in models.items():
        if not (Path(folder) / "config.json").exists():
            raise SystemExit(f"error: {name}: {folder} is not a model folder")
    texts = validation_texts(max(args.texts, args.cli_rows))
    runs = {name: [] for name in models}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "texts.json").write_text(json.dumps(texts[: args.texts]))
        big, small = workdir / "big.csv", workdir / "small.csv"
        pd.DataFrame({"text": texts[: args.cli_rows]}).to_csv(big, index=False)
        pd.DataFrame({"text": texts[:SMALL_CLI_ROWS]}).to_csv(small, index=False)
        for round_ in range(args.rounds):
            for name, folder in models.items():
                child = subprocess.run([sys.executable, __file__, "--child", folder, str(workdir / "texts.json")],
                                       check=True, capture_output=True, text=True)  # fmt: skip
                served = json.loads(child.stdout.strip().splitlines()[-1])
                big_s, small_s = cli_seconds(folder, big, workdir), cli_seconds(folder, small, workdir)
                served["cli_comments_per_s"] = (args.cli_rows - SMALL_CLI_ROWS) / max(big_s - small_s, 1e-9)
                served["cli_start_s"] = small_s
                runs[name].append(served)
                rates = f"{served['served_comments_per_s']:.0f}/s served, CLI {served['cli_comments_per_s']:.0f}/s"
                print(f"round {round_ + 1}: {name}: {rates}, p50 {served['p50_ms']:.1f} ms", flush=True)
    keys = ["p50_ms", "p95_ms", "served_comments_per_s", "batched_comments_per_s", "cli_comments_per_s",
            "cli_start_s", "load_s", "peak_rss_mib"]  # fmt: skip
    baseline = next(iter(models))
    medians = {name: {key: statistics.median(run[key] for run in rs) for key in keys} for name, rs in runs.items()}
    command = shlex.join(["python", "scripts/tier_bench.py", *(argv if argv is not None else sys.argv[1:])])
    report = {"models": [], "baseline": baseline, "rounds": args.rounds, "texts": args.texts,
              "cli_rows": args.cli_rows, "machine": {"cpu": cpu_name()}, "command": command}  # fmt: skip
    for name, folder in models.items():
        row = {"model": name, "path": shown_path(Path(folder)), "layers": layers(Path(folder)),
               "backend": runs[name][0]["backend"], **{k: round(v, 2) for k, v in medians[name].items()},
               **{k: round(v, 1) if v else v for k, v in folder_size_mib(Path(folder)).items()}}  # fmt: skip
        for key in ("served_comments_per_s", "batched_comments_per_s", "cli_comments_per_s"):
            row[key.replace("comments_per_s", "speedup")] = round(medians[name][key] / medians[baseline][key], 2)
        report["models"].append(row)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {shown_path(args.output)}")


if __name__ == "__main__":
    main()
