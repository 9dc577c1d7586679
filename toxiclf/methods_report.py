"""The seed's question, answered from results/: odd or even layers, or LoRA? -> a table and results/methods.png.

`run_eval.py` writes it into results/summary.md (and the README's `methods` section with --update-readme) from
the per-model JSON files and the paired comparisons; models not scored yet are listed as such, never guessed.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .experiments import SEED_TABLE  # noqa: E402

METHODS = (*SEED_TABLE, "minilm-l6", "tfidf-logreg")  # beside them: the small model fine-tuned directly, TF-IDF
# The seed's own results (accuracy only, 6,000 training rows of another split): quoted, not comparable.
SEED_ACCURACY = {"student-odd": 0.9548, "student-even": 0.1160, "lora": 0.9472}
# odd minus each of these, from the comparisons against the odd student (whose sign is reversed here)
ODD_AGAINST = ("student-even", "lora", "student-odd-ce")


def _load(results_dir: Path) -> dict[str, dict]:
    results = {}
    for name in METHODS:
        path = Path(results_dir) / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    return results


def _row(name: str, result: dict | None) -> str:
    seed = f"{SEED_ACCURACY[name]:.2%}" if name in SEED_ACCURACY else "–"
    if result is None:
        return f"| {name} | not scored yet | | | | | | | | {seed} |"
    v, ci, cost = result["metrics"]["threshold_validation"], result["metrics"]["bootstrap_95ci"], result["cost"]
    training = (result.get("provenance") or {}).get("training") or {}
    loss = training.get("train_loss")
    seconds = training.get("train_seconds")
    throughput = cost.get("throughput_comments_per_s_batch32")
    params = cost.get("parameters")
    trainable = cost.get("trainable_parameters")
    return (
        f"| {name} | {'–' if loss is None else f'{loss:.4f}'} | {v['accuracy']:.2%} | "
        f"{v['roc_auc']:.4f} [{ci['roc_auc'][0]:.4f}, {ci['roc_auc'][1]:.4f}] | {v['pr_auc']:.3f} | {v['f1']:.3f} | "
        f"{'–' if params is None else f'{params / 1e6:.1f} M'} / "
        f"{'–' if trainable is None else f'{trainable / 1e6:.2f} M'} | "
        f"{'–' if seconds is None else f'{seconds:,.0f}'} | {'–' if throughput is None else f'{throughput:,.0f}'} | "
        f"{seed} |"
    )


def _differences(results_dir: Path) -> list[str]:
    path = Path(results_dir) / "comparisons.json"
    comparisons = json.loads(path.read_text())["comparisons"] if path.exists() else []
    lines = []
    for other in ODD_AGAINST:
        found = next((c for c in comparisons if c["model"] == other and c["against"] == "student-odd"), None)
        if found is None:
            lines.append(f"| student-odd − {other} | not scored yet | |")
            continue
        cells = []
        for metric in ("roc_auc", "pr_auc"):
            entry = found[metric]
            low, high = -entry["ci95"][1], -entry["ci95"][0]
            verdict = "" if entry["established"] else " (not established)"
            cells.append(f"{-entry['difference']:+.4f} [{low:+.4f}, {high:+.4f}]{verdict}")
        lines.append(f"| student-odd − {other} | {cells[0]} | {cells[1]} |")
    return lines


def methods_markdown(results_dir: Path) -> str:
    results = _load(results_dir)
    rows = [_row(name, results.get(name)) for name in METHODS]
    return "\n".join([
        "| model | avg training loss | test accuracy | ROC-AUC [95 % CI] | PR-AUC | F1 | params / trainable | "
        "training s | comments/s (b=32, CPU) | the seed's accuracy |",
        "|---|---:|---:|---|---:|---:|---|---:|---:|---:|",
        *rows,
        "",
        "| paired difference (same resamples) | Δ ROC-AUC [95 % CI] | Δ PR-AUC [95 % CI] |",
        "|---|---|---|",
        *_differences(results_dir),
    ]) + "\n"  # fmt: skip


def plot_methods(results_dir: Path) -> Path | None:
    """Test ROC-AUC with its interval against comments/s, one point per scored method."""
    results = {name: r for name, r in _load(results_dir).items() if "throughput_comments_per_s_batch32" in r["cost"]}
    if not results:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, result in results.items():
        auc, ci = result["metrics"]["threshold_validation"]["roc_auc"], result["metrics"]["bootstrap_95ci"]["roc_auc"]
        speed = result["cost"]["throughput_comments_per_s_batch32"]
        ax.errorbar(speed, auc, yerr=[[auc - ci[0]], [ci[1] - auc]], fmt="o", capsize=3)
        ax.annotate(f"{name} ({result.get('backend') or 'sklearn'})", (speed, auc), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)  # fmt: skip
    ax.set(xscale="log", xlabel="comments/s on CPU (batch 32; log scale)", ylabel="test ROC-AUC (95 % CI)",
           title="Odd, even or LoRA: quality against speed")  # fmt: skip
    fig.tight_layout()
    path = Path(results_dir) / "methods.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
