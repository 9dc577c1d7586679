"""Turn results/*.json into the summary table, the README's results section, and the plots."""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .methods_report import methods_markdown, plot_methods  # noqa: E402


def load_results(results_dir: Path) -> list[dict]:
    """The per-model results run_eval.py wrote (other JSON files there, e.g. serving.json, are skipped)."""
    results = [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))]
    results = [r for r in results if "model" in r and "metrics" in r]
    return sorted(results, key=lambda r: -r["metrics"]["threshold_validation"]["roc_auc"])


def _ci(values) -> str:
    return f"[{values[0]:.3f}, {values[1]:.3f}]"


def _params(n) -> str:
    if n is None:
        return "–"
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n:,}"


def _rows(n) -> str:
    return "–" if n is None else f"{n:,}"


def _epochs(result: dict) -> str:
    epochs = result.get("train_epochs")
    return "–" if epochs is None else f"{epochs:g}"


def _scale(result: dict) -> tuple:
    return result.get("train_rows") or 0, result["provenance"]["eval_rows"]["test"]


def summary_markdown(results: list[dict]) -> str:
    """One comparison table per scale (training rows, test rows), best validation-threshold ROC-AUC first."""
    scales = sorted({_scale(r) for r in results}, reverse=True)
    tables = []
    for train_rows, test_rows in scales:
        group = [r for r in results if _scale(r) == (train_rows, test_rows)]
        title = f"### Trained on {train_rows:,} comments, scored on {test_rows:,} test comments"
        tables.append(title + "\n\n" + _table(group))
    notes = [
        "Each table holds one scale; models of different tables are not comparable."
        if len(scales) > 1
        else "All models share one scale.",
        "F1, accuracy and the CIs are at each model's threshold chosen on the validation split (max F1), with the "
        "backend named; 'F1 @ 0.5' is at the default threshold.",
        _cost_note(results),
    ]
    return "\n\n".join(tables) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def _table(results: list[dict]) -> str:
    header = (
        "| model | method | backend | train rows | epochs | params | F1 (95 % CI) | ROC-AUC (95 % CI) | PR-AUC | "
        "accuracy | threshold | F1 @ 0.5 | latency b=1 median / p95 (ms) | comments/s b=32 | flags |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        m, v, cost = r["metrics"], r["metrics"]["threshold_validation"], r.get("cost", {})
        ci = m["bootstrap_95ci"]
        latency = (f"{cost['latency_ms_batch1_median']:.1f} / {cost['latency_ms_batch1_p95']:.1f}"
                   if "latency_ms_batch1_median" in cost else "–")  # fmt: skip
        rows.append(
            f"| {r['model']} | {r['method']} | {r.get('backend') or '–'} | {_rows(r.get('train_rows'))} | "
            f"{_epochs(r)} | {_params(cost.get('parameters'))} | "
            f"{v['f1']:.3f} {_ci(ci['f1'])} | {v['roc_auc']:.4f} {_ci(ci['roc_auc'])} | {v['pr_auc']:.3f} | "
            f"{v['accuracy']:.3f} | {m['validation_threshold']:.2f} | {m['threshold_0.5']['f1']:.3f} | {latency} | "
            f"{_throughput(cost)} | {_flag_names(m['flags'])} |"
        )
    return header + "\n".join(rows)


def _throughput(cost: dict) -> str:
    value = cost.get("throughput_comments_per_s_batch32")
    return "–" if value is None else f"{value:,.0f}"


def _flag_names(flags: list[str]) -> str:
    """The kinds of flag ('degenerate', 'inverted'), once each; the JSON keeps the full sentences."""
    return "; ".join(dict.fromkeys(flag.split(":")[0] for flag in flags)) or "ok"


def _cost_note(results: list[dict]) -> str:
    measured = [r["cost"]["device"] for r in results if "device" in r.get("cost", {})]
    if not measured:
        return "Cost not measured (--no-cost)."
    devices, threads = {d["cpu"] for d in measured}, {d["torch_threads"] for d in measured}
    runs = {r["provenance"]["evaluated_at"] for r in results if "device" in r.get("cost", {})}
    return (f"Cost measured on {', '.join(sorted(devices))} ({', '.join(map(str, sorted(threads)))} threads) in "
            f"{len(runs)} run(s) of run_eval.py; compare latency and throughput within one run "
            "(`provenance.evaluated_at` in each JSON).")  # fmt: skip


def _comparisons(results_dir: Path) -> str:
    from .comparisons import comparisons_markdown

    table = comparisons_markdown(results_dir)
    return (
        f"\n{table}\n\nAn interval that contains 0: the difference is not established on this test split.\n"
        if table
        else ""
    )


def write_summary(results_dir: Path) -> Path:
    results = load_results(results_dir)
    path = Path(results_dir) / "summary.md"
    path.write_text("# Results\n\nGenerated by `python run_eval.py` from `results/*.json`; do not edit.\n\n"
                    + summary_markdown(results) + _comparisons(results_dir)
                    + "\n## Odd, even or LoRA?\n\n" + methods_markdown(results_dir))  # fmt: skip
    return path


def replace_readme_section(readme: Path, name: str, content: str) -> bool:
    """Replace the text between `<!-- name:start -->` and `<!-- name:end -->`; False if the markers are missing."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        return False
    block = f"{start}\n{content}{end}"
    readme.write_text(re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.DOTALL))
    return True


def update_readme(readme: Path, results_dir: Path, section: str = "results") -> bool:
    """Regenerate a results table of the README (section `section`) from results_dir/*.json."""
    content = summary_markdown(load_results(results_dir)) + _comparisons(results_dir)
    if section == "results":  # the seed's question has its own table, from the same files
        replace_readme_section(readme, "methods", methods_markdown(results_dir))
    return replace_readme_section(readme, section, content)


def plot_curves(results: list[dict], results_dir: Path) -> list[Path]:
    """ROC and precision-recall curves of all models (from their results files), one plot each."""
    paths = []
    for kind, (x_key, y_key) in (("roc", ("fpr", "tpr")), ("pr", ("recall", "precision"))):
        fig, ax = plt.subplots(figsize=(6.5, 5.5))
        for r in results:
            curve = r["metrics"].get("curves", {}).get(kind)
            if curve:
                ax.plot(curve[x_key], curve[y_key], label=r["model"], linewidth=1.4)
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
            ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curves (test split)")
        else:
            ax.set(xlabel="recall (toxic)", ylabel="precision (toxic)", title="Precision–recall curves (test split)")
        ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize=8)
        ax.grid(alpha=0.3)
        path = Path(results_dir) / f"{kind}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(results_dir: Path) -> Path:
    """summary.md and the plots, all from results/*.json."""
    results = load_results(results_dir)
    plot_curves(results, results_dir)
    plot_confusion_matrices(results, results_dir)
    write_calibration(results, results_dir)
    plot_methods(results_dir)
    return write_summary(results_dir)


def write_calibration(results: list[dict], results_dir: Path) -> Path | None:
    """results/calibration.json and calibration.png: before and after, for every model that has a calibration."""
    calibrated = [r for r in results if "before" in r["metrics"].get("calibration", {})]
    if not calibrated:
        return None
    summary = {
        r["model"]: {"backend": r.get("backend"), "test_rows": r["provenance"]["eval_rows"]["test"],
                     **r["metrics"]["calibration"]}
        for r in calibrated
    }  # fmt: skip
    Path(results_dir, "calibration.json").write_text(json.dumps(summary, indent=2) + "\n")
    fig, axes = plt.subplots(1, len(calibrated), figsize=(5 * len(calibrated), 4.6), squeeze=False)
    for ax, r in zip(axes[0], calibrated, strict=True):
        report = r["metrics"]["calibration"]
        ax.plot([0, 1], [0, 1], color="#999", linestyle=":", label="perfect")
        for when, style in (("before", "o--"), ("after", "s-")):
            points = report[when]["points"]
            ax.plot([p["mean_score"] for p in points], [p["toxic_share"] for p in points], style,
                    label=f"{when}: ECE {report[when]['ece']:.3f}, Brier {report[when]['brier']:.4f}")  # fmt: skip
        ax.set(xlabel="mean P(toxic) in the bin", ylabel="share toxic", xlim=(0, 1), ylim=(0, 1),
               title=f"{r['model']} ({r.get('backend')}), {report['map']['method']} scaling")  # fmt: skip
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(results_dir, "calibration.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion_matrices(results: list[dict], results_dir: Path) -> Path:
    """Confusion matrices at each model's validation-chosen threshold, in one grid."""
    n = len(results)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax, r in zip(axes.flat, results, strict=False):  # the grid may have more cells than models
        matrix = np.array(r["metrics"]["threshold_validation"]["confusion_matrix"])
        ax.imshow(matrix, cmap="Blues")
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:,}", ha="center", va="center",
                    color="white" if value > matrix.max() / 2 else "black")  # fmt: skip
        ax.set(
            xticks=[0, 1],
            yticks=[0, 1],
            xticklabels=["non-toxic", "toxic"],
            yticklabels=["non-toxic", "toxic"],
            xlabel="predicted",
            ylabel="true",
            title=f"{r['model']} (t={r['metrics']['validation_threshold']:.2f})",
        )
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(results_dir) / "confusion_matrices.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bias(audits: dict, results_dir: Path, worst: int = 12) -> Path:
    """Neutral-sentence false-positive rate of the worst terms, and toxic recall, per audited model."""
    fig, axes = plt.subplots(1, len(audits), figsize=(6 * len(audits), 4.8), squeeze=False)
    for ax, (name, audit) in zip(axes[0], audits.items(), strict=True):
        terms = sorted(audit["templates"]["terms"].items(), key=lambda t: -t[1]["neutral_false_positive_rate"])
        terms = terms[:worst][::-1]
        ax.barh([t for t, _ in terms], [v["neutral_false_positive_rate"] for _, v in terms], color="#c0392b")
        overall = audit["templates"]["overall"]
        ax.axvline(overall["neutral_false_positive_rate"], color="#333", linestyle=":", label="all terms")
        ax.set(xlim=(0, 1), xlabel="false-positive rate on neutral sentences",
               title=f"{name} ({audit['backend']}): toxic recall {overall['toxic_recall']:.2f}")  # fmt: skip
        ax.legend(loc="lower right")
    fig.tight_layout()
    path = Path(results_dir, "bias.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
