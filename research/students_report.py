"""Where distillation pays, answered from results/: the smaller students' table and what it says, in words.

`run_eval.py` writes it into results/summary.md and the `students` section of the docs (with --update-readme) from
the per-model JSON files and the paired comparisons (research.experiments.STUDENT_PAIRS): for each layer choice, the
distilled student (KD) and its CE-only twin (same init, rows and steps), what distillation adds (KD − CE-only),
the layer choice against the alternate one, and the students as served (ONNX int8) against the shipped model.
Models not scored yet are listed as such, never guessed.
"""

import json
from pathlib import Path

from research.experiments import LAYER_CHOICES, SHIPPED, SMALL_STUDENT_LAYERS, student_name
from toxiclf.evaluation.results_files import SERVED_SUFFIX, read_result
from toxiclf.paths import shown_path

FAST_TIER_MIN_ROC_AUC = 0.985  # the fast tier's bar on the whole test split, as served (int8)
# The fast tier has at most half the default model's 6 layers: about twice its comments/s per core is its reason to
# exist, so a better but slower 4-layer student is not a fast tier.
FAST_TIER_MAX_LAYERS = 3


def _results(results_dir: Path) -> dict[str, dict]:
    names = [student_name(layers, kind) + suffix for layers in SMALL_STUDENT_LAYERS for kind in ("kd", "ce")
             for suffix in ("", SERVED_SUFFIX)]  # fmt: skip
    return {name: result for name in names if (result := read_result(results_dir, name)) is not None}


def _twins(layers: str) -> tuple[str, str]:
    return student_name(layers, "kd"), student_name(layers, "ce")


def _comparisons(results_dir: Path) -> dict[tuple[str, str], dict]:
    path = Path(results_dir) / "comparisons.json"
    comparisons = json.loads(path.read_text())["comparisons"] if path.exists() else []
    return {(c["model"], c["against"]): c for c in comparisons}


def _roc(result: dict | None) -> str:
    if result is None:
        return "not scored yet"
    roc, ci = result["metrics"]["threshold_validation"]["roc_auc"], result["metrics"]["bootstrap_95ci"]["roc_auc"]
    return f"{roc:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]"


def _difference(found: dict | None, metric: str) -> str:
    if found is None:
        return "–"
    entry = found[metric]
    low, high = entry["ci95"]
    return f"{entry['difference']:+.4f} [{low:+.4f}, {high:+.4f}]" + ("" if entry["established"] else " (n.e.)")


def students_markdown(results_dir: Path) -> str:
    results, pairs = _results(results_dir), _comparisons(results_dir)
    alternate = student_name(LAYER_CHOICES[0], "kd")
    rows = []
    for layers in SMALL_STUDENT_LAYERS:
        kd, ce = _twins(layers)
        choice = "(the reference)" if kd == alternate else _difference(pairs.get((kd, alternate)), "roc_auc")
        served = results.get(kd + SERVED_SUFFIX) or results.get(ce + SERVED_SUFFIX)
        kind = None if served is None else served["model"].removeprefix(kd.removesuffix("kd"))  # kd-int8 or ce-int8
        served_cell = "–" if served is None else f"{kind}: {_roc(served)}"
        rows.append(
            f"| {layers.count(',') + 1} | {layers} | {_roc(results.get(kd))} | {_roc(results.get(ce))} | "
            f"{_difference(pairs.get((kd, ce)), 'roc_auc')} | {_difference(pairs.get((kd, ce)), 'pr_auc')} | "
            f"{choice} | {served_cell} |"
        )
    return "\n".join([
        "| layers | kept (of 6) | KD: test ROC-AUC [95 % CI] | CE-only | KD − CE-only Δ ROC-AUC | Δ PR-AUC | "
        f"KD − KD {LAYER_CHOICES[0]} Δ ROC-AUC | served (ONNX int8) |",
        "|---:|---|---|---|---|---|---|---|",
        *rows,
        "",
        _verdict(results, pairs, Path(results_dir) / "comparisons.json"),
    ]) + "\n"  # fmt: skip


def _verdict(results: dict[str, dict], pairs: dict, source: Path) -> str:
    """What the table answers, in words, from the same files (nothing here is written by hand)."""
    sentences = []
    twins = [(layers, pairs.get(_twins(layers))) for layers in SMALL_STUDENT_LAYERS]
    scored = [(layers, found) for layers, found in twins if found is not None]
    if not scored:
        return "**What the table says**: no KD student and its CE-only twin are both scored yet."
    for layers, found in scored:
        gains = [name for metric, name in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"))
                 if found[metric]["established"] and found[metric]["difference"] > 0]  # fmt: skip
        losses = [name for metric, name in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"))
                  if found[metric]["established"] and found[metric]["difference"] < 0]  # fmt: skip
        if gains:
            sentences.append(f"At layers {layers} distillation pays: KD − CE-only is established above 0 in "
                             f"{' and '.join(gains)} ({_difference(found, 'roc_auc')} ROC-AUC).")  # fmt: skip
        elif losses:
            sentences.append(f"At layers {layers} the CE-only twin is better in {' and '.join(losses)}.")
        else:
            sentences.append(f"At layers {layers} KD and CE-only tie ({_difference(found, 'roc_auc')} ROC-AUC, "
                             f"{_difference(found, 'pr_auc')} PR-AUC).")  # fmt: skip
    missing = [layers for layers, found in twins if found is None]
    if missing:
        sentences.append(f"Not scored yet as a pair: layers {' and '.join(missing)}.")
    sentences.extend(_layer_choice(pairs))
    sentences.extend(_closest_to_shipped(pairs))
    sentences.extend(_served(results, pairs))
    return f"**What the table says** (generated from `{shown_path(source)}`): " + " ".join(sentences)


def _layer_choice(pairs: dict) -> list[str]:
    alternate = student_name(LAYER_CHOICES[0], "kd")
    found = [(layers, pairs.get((student_name(layers, "kd"), alternate))) for layers in LAYER_CHOICES[1:]]
    found = [(layers, entry) for layers, entry in found if entry is not None]
    if not found:
        return []
    worse = [layers for layers, e in found if e["roc_auc"]["established"] and e["roc_auc"]["difference"] < 0]
    better = [layers for layers, e in found if e["roc_auc"]["established"] and e["roc_auc"]["difference"] > 0]
    ties = [layers for layers, _ in found if layers not in worse and layers not in better]
    said = []
    if better:
        said.append(f"better than the alternate layers {LAYER_CHOICES[0]}: {' and '.join(better)}")
    if worse:
        said.append(f"worse: {' and '.join(worse)}")
    if ties:
        said.append(f"no difference established: {' and '.join(ties)}")
    return [f"Which layers to keep at {LAYER_CHOICES[0].count(',') + 1} (distilled alike, ROC-AUC): {'; '.join(said)}."]


def _closest_to_shipped(pairs: dict) -> list[str]:
    """The student (in PyTorch) whose paired ROC-AUC difference to the shipped 6-layer model is the smallest loss."""
    found = {name: (layers, pairs[(name, SHIPPED)]) for layers in SMALL_STUDENT_LAYERS for name in _twins(layers)
             if (name, SHIPPED) in pairs}  # fmt: skip
    if not found:
        return []
    name = max(found, key=lambda n: found[n][1]["roc_auc"]["difference"])
    layers, compared = found[name]
    entry = compared["roc_auc"]
    verdict = "a tie" if not entry["established"] else "above it" if entry["difference"] > 0 else "below it"
    return [f"Closest to the shipped 6-layer model: {name} ({layers.count(',') + 1} layers), "
            f"{_difference(compared, 'roc_auc')} ROC-AUC against it ({verdict})."]  # fmt: skip


def _served(results: dict[str, dict], pairs: dict) -> list[str]:
    fast_enough = [layers for layers in SMALL_STUDENT_LAYERS if layers.count(",") < FAST_TIER_MAX_LAYERS]
    names = [student + SERVED_SUFFIX for layers in fast_enough for student in _twins(layers)]
    served = {name: results[name] for name in names if name in results}
    if not served:
        return []
    best = max(served, key=lambda n: served[n]["metrics"]["validation_roc_auc"])  # chosen on validation
    roc = served[best]["metrics"]["threshold_validation"]["roc_auc"]
    against = pairs.get((best, SHIPPED))
    bar = "clears" if roc >= FAST_TIER_MIN_ROC_AUC else "misses"
    versus = f", {_difference(against, 'roc_auc')} against the shipped model" if against else ""
    return [f"As served (ONNX int8) the best student of at most {FAST_TIER_MAX_LAYERS} layers by validation ROC-AUC, "
            f"{best.removesuffix(SERVED_SUFFIX)}, "
            f"scores test ROC-AUC "
            f"{roc:.4f}{versus}: it {bar} the fast tier's bar of {FAST_TIER_MIN_ROC_AUC}; its speed is in the "
            "frontier below."]  # fmt: skip
