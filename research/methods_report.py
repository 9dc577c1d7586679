"""The seed's question, answered from results/: odd or even layers, or LoRA? -> a table and results/methods.png.

`run_eval.py` writes it into results/summary.md (and the README's `methods` section with --update-readme) from
the per-model JSON files and the paired comparisons; models not scored yet are listed as such, never guessed.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from research.experiments import TABLE_MODELS  # noqa: E402

METHODS = (*TABLE_MODELS, "tfidf-logreg")  # and the bar every model must clear
# The seed's own results (accuracy only, 6,000 training rows of another split): quoted, not comparable.
SEED_ACCURACY = {"student-odd": 0.9548, "student-even": 0.1160, "lora": 0.9472}
# odd minus each of these, from the comparisons against the odd student (whose sign is reversed here)
ODD_AGAINST = ("student-even", "lora", "student-odd-ce")
LABELS = {"student-even": "the even student", "lora": "LoRA", "student-odd-ce": "the CE-only odd student"}


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


def _against_odd(results_dir: Path) -> dict[str, dict | None]:
    """The paired comparison of each model of ODD_AGAINST with the odd student (None: not scored yet)."""
    path = Path(results_dir) / "comparisons.json"
    comparisons = json.loads(path.read_text())["comparisons"] if path.exists() else []
    return {other: next((c for c in comparisons if c["model"] == other and c["against"] == "student-odd"), None)
            for other in ODD_AGAINST}  # fmt: skip


def _odd_minus(entry: dict) -> tuple[float, float, float]:
    """odd − other, with its interval, from a comparison stored as other − odd."""
    return 0.0 - entry["difference"], 0.0 - entry["ci95"][1], 0.0 - entry["ci95"][0]  # 0.0 - x: no "-0.0000"


def _differences(results_dir: Path) -> list[str]:
    lines = []
    for other, found in _against_odd(results_dir).items():
        if found is None:
            lines.append(f"| student-odd − {other} | not scored yet | |")
            continue
        cells = []
        for metric in ("roc_auc", "pr_auc"):
            difference, low, high = _odd_minus(found[metric])
            verdict = "" if found[metric]["established"] else " (not established)"
            cells.append(f"{difference:+.4f} [{low:+.4f}, {high:+.4f}]{verdict}")
        lines.append(f"| student-odd − {other} | {cells[0]} | {cells[1]} |")
    return lines


def _verdict(results: dict[str, dict], results_dir: Path) -> str:
    """What the table answers, in words, from the same comparisons (nothing here is written by hand)."""
    sentences, against_odd = [], _against_odd(results_dir)
    for other, found in against_odd.items():
        label = LABELS[other]
        if found is None:
            sentences.append(f"{label[0].upper()}{label[1:]} is not scored yet.")
            continue
        parts = []
        for metric, name in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC")):
            difference, low, high = _odd_minus(found[metric])
            interval = f"{difference:+.4f} [{low:+.4f}, {high:+.4f}]"
            if not found[metric]["established"]:
                parts.append(f"{name} ties ({interval}, not established)")
            else:
                winner = "the odd student" if difference > 0 else label
                parts.append(f"{name} favours {winner} ({interval})")
        sentences.append(f"Odd − {label}: {'; '.join(parts)}.")
    even = results.get("student-even")
    if even is not None:
        (tn, fp), (fn, tp) = even["metrics"]["threshold_validation"]["confusion_matrix"]
        toxic_share, accuracy = (fn + tp) / (tn + fp + fn + tp), even["metrics"]["threshold_validation"]["accuracy"]
        sentences.append(
            f"The seed's even student scored {SEED_ACCURACY['student-even']:.2%} accuracy, about the share of toxic "
            f"comments ({toxic_share:.1%} of this test split): what a model that calls every comment toxic scores, a "
            f"collapsed run. Ours scores {accuracy:.2%}: "
            + ("the failure is not reproduced." if accuracy > 1 - toxic_share else "it fails too.")
        )
    sentences.extend(_bottom_line(results, against_odd))
    return "**What the table says** (generated from `results/comparisons.json`): " + " ".join(sentences)


def _bottom_line(results: dict[str, dict], against_odd: dict[str, dict | None]) -> list[str]:
    """Once every comparison is scored: whether any method is better, and if none is, what is left to choose on."""
    if any(found is None for found in against_odd.values()) or "student-odd" not in results:
        return []
    established = [LABELS[other] for other, found in against_odd.items()
                   if found["roc_auc"]["established"] or found["pr_auc"]["established"]]  # fmt: skip
    if established:
        return [f"Established differences: odd against {', '.join(established)}."]
    parameters = {name: results[name]["cost"]["parameters"] for name in ("student-odd", "lora") if name in results}
    cost = ""
    if len(parameters) == 2:
        cost = (
            f" The choice is then one of cost: a 6-layer student has {parameters['student-odd'] / 1e6:.1f} M "
            f"parameters and half the layers to run, LoRA's merged model {parameters['lora'] / 1e6:.1f} M."
        )
    return [
        "No difference is established: at this scale odd, even, LoRA and CE-only rank the test comments equally "
        "well, and the teacher's signal adds nothing measurable to a 6-layer student over plain cross-entropy." + cost
    ]


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
        "",
        _verdict(results, results_dir),
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
