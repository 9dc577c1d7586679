"""The speed–quality frontier: each model's test ROC-AUC against its served comments/s, speeds measured in one run.

    python -m research.frontier --checkpoints shipped=model student-3l-135-kd=outputs/student-3l-135-kd \
        --update-readme          # -> results/frontier.json, results/frontier.png, the `frontier` doc section

Quality comes from what run_eval.py recorded for these very weights on the test split: as served where it was scored
so (`results/NAME-int8.json`, what the CPU queue writes for the smaller students), else `results/NAME.json`, with
the backend named; speed is measured here, every model in the same process on the same validation comments (never
the test split), the way the model is served: ONNX Runtime int8, one comment per pass, `--threads` intra-op
threads; TF-IDF (refitted on the training split) is measured beside them. A model is on the frontier when no
other is at least as good on both axes and better on one.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from toxiclf.evaluation.results_files import measured_on, served_result
from toxiclf.paths import RESULTS_DIR, shown_path
from toxiclf.provenance import command_line, cpu_name

TFIDF = "tfidf-logreg"


def on_frontier(points: dict[str, tuple[float, float]]) -> set[str]:
    """The names whose (quality, speed) no other point matches on both and beats on one (the Pareto set)."""
    return {
        name
        for name, (quality, speed) in points.items()
        if not any(q >= quality and s >= speed and (q, s) != (quality, speed) for q, s in points.values())
    }


def comments_per_second(score, texts: list[str], repeats: int = 3) -> float:
    """Median over `repeats` passes over `texts`, after a warm-up (first calls allocate and pick kernels)."""
    score(texts[:16])
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        score(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    return statistics.median(rates)


def recorded_quality(name: str, path: Path | None, results_dir: Path) -> dict:
    """Test ROC-AUC and PR-AUC that run_eval.py recorded for `name` in `results_dir` (for a folder: measured on its
    weights): its served scoring (NAME-int8) where there is one."""
    result = served_result(results_dir, name)
    if result is None:
        raise SystemExit(f"error: no results/{name}.json: score it first (python run_eval.py --checkpoints {name}=...)")
    if path is not None and not measured_on(result, path):
        where = results_dir / f"{result['model']}.json"
        raise SystemExit(f"error: {where} was measured on other weights than {path}")
    metrics = result["metrics"]["threshold_validation"]
    rows = result.get("provenance", {}).get("eval_rows", {}).get("test")
    return {"roc_auc": metrics["roc_auc"], "pr_auc": metrics["pr_auc"], "quality_backend": result.get("backend"),
            "test_rows": rows}  # fmt: skip


def measure(checkpoints: dict[str, Path], texts: list[str], threads: int, results_dir: Path, tfidf=None) -> list:
    from toxiclf.inference.classifier import load_classifier

    rows = []
    for name, path in checkpoints.items():
        classifier = load_classifier(path, "onnx-int8", need_threshold=False, threads=threads)
        config = json.loads((Path(path) / "config.json").read_text())
        quality = recorded_quality(name, Path(path), results_dir)
        rows.append({"model": name, "path": shown_path(path), "layers": config.get("num_hidden_layers"),
                     "parameters": classifier.num_parameters, **quality,
                     "comments_per_s": round(comments_per_second(classifier.scores, texts), 1)})  # fmt: skip
    if tfidf is not None:
        rows.append({"model": TFIDF, "path": None, "layers": None, "parameters": tfidf.num_parameters,
                     **recorded_quality(TFIDF, None, results_dir),
                     "comments_per_s": round(comments_per_second(tfidf.scores, texts), 1)})  # fmt: skip
    best = on_frontier({row["model"]: (row["roc_auc"], row["comments_per_s"]) for row in rows})
    for row in rows:
        row["on_frontier"] = row["model"] in best
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        axes.scatter(row["comments_per_s"], row["roc_auc"], color="tab:red" if row["on_frontier"] else "tab:gray")
        axes.annotate(row["model"], (row["comments_per_s"], row["roc_auc"]), fontsize=8, xytext=(4, 4),
                      textcoords="offset points")  # fmt: skip
    front = sorted((r for r in rows if r["on_frontier"]), key=lambda r: r["comments_per_s"])
    axes.plot([r["comments_per_s"] for r in front], [r["roc_auc"] for r in front], color="tab:red", linewidth=1)
    axes.set_xscale("log")
    axes.set_xlabel("served comments/s (ONNX int8, one per pass; TF-IDF: scikit-learn)")
    axes.set_ylabel("test ROC-AUC")
    axes.set_title("Speed and quality: the frontier in red")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def frontier_markdown(result: dict, output: str) -> str:
    lines = ["| model | layers | params | test ROC-AUC | PR-AUC | scored with | served comments/s | on the frontier |",
             "|---|---:|---:|---:|---:|---|---:|---|"]  # fmt: skip
    for r in sorted(result["models"], key=lambda r: -r["comments_per_s"]):
        front = "yes" if r["on_frontier"] else ""
        lines.append(f"| {r['model']} | {r['layers'] or '–'} | {r['parameters'] / 1e6:.1f} M | "
                     f"{r['roc_auc']:.4f} | {r['pr_auc']:.3f} | {r['quality_backend'] or 'scikit-learn'} | "
                     f"{r['comments_per_s']:,.0f} | {front} |")  # fmt: skip
    m = result["machine"]
    return ("\n".join(lines) + f"\n\nSpeeds measured in one run on {m['cpu']}, {result['threads']} threads, "
            f"{result['texts']:,} validation comments, median of 3 passes; written by `{result['command']}` to "
            f"`{output}`.\n")  # fmt: skip


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", required=True, metavar="NAME=DIR", help="the models to place")
    parser.add_argument("--texts", type=int, default=1000, help="validation comments timed per pass")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads, as served")
    parser.add_argument("--no-tfidf", action="store_true", help="leave TF-IDF out (it is refitted: about a minute)")
    parser.add_argument("--dataset", default="embedded", help="where the validation (and training) comments are")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--update-readme", action="store_true", help="rewrite the `frontier` doc section")
    args = parser.parse_args(argv)
    checkpoints = {}
    for item in args.checkpoints:
        name, _, path = item.partition("=")
        if not path or not (Path(path) / "config.json").exists():
            raise SystemExit(f"error: {item}: expected NAME=DIR with a model folder")
        checkpoints[name] = Path(path)
    from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN, load_splits

    splits = load_splits(args.dataset)
    texts = list(splits["validation"][TEXT_COLUMN][: args.texts])
    tfidf = None
    if not args.no_tfidf:
        from toxiclf.evaluation.baselines import TfidfBaseline

        tfidf = TfidfBaseline().fit(splits["train"][TEXT_COLUMN], splits["train"][LABEL_COLUMN])
    command = command_line("research.frontier", argv)
    result = {"models": measure(checkpoints, texts, args.threads, args.results_dir, tfidf), "threads": args.threads,
              "texts": len(texts), "machine": {"cpu": cpu_name()}, "command": command}  # fmt: skip
    output = args.results_dir / "frontier.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    plot(result["models"], args.results_dir / "frontier.png")
    if args.update_readme:
        from research.report import replace_doc_section

        replace_doc_section("frontier", frontier_markdown(result, shown_path(output)))
    return result


if __name__ == "__main__":
    main()
