"""Which trained experiment ships: the lab's choice among its contenders, handed to the shipping CLI.

    python scripts/ship_model.py --best        # the best 6-layer contender by validation ROC-AUC
    python scripts/ship_model.py --best-fast   # the best smaller student as served, as the fast tier

The contenders are the lab's plans (research.experiments: SMALL_MODELS, MITIGATIONS, SMALL_PLAN); shipping itself
(toxiclf.shipping.ship) only turns a chosen checkpoint into a verified model folder.
"""

import json
from pathlib import Path

from research.experiments import MITIGATIONS, SMALL_MODELS, SMALL_PLAN
from research.students_report import FAST_TIER_MAX_LAYERS
from toxiclf.evaluation.results_files import SERVED_SUFFIX, measured_on, read_result
from toxiclf.paths import GPU_RESULTS_DIR, REPO_ROOT, RESULTS_DIR, shown_path
from toxiclf.shipping.ship import ShipError

# The 6-layer contenders for shipping, and the bias-mitigated models (research.experiments): a mitigated model takes
# its base model's place among the contenders when the identity audit says it is better and validation agrees.
MITIGATION_MAX_ROC_AUC_COST = 0.001  # validation ROC-AUC the mitigation may cost
MITIGATION_MAX_RECALL_COST = 0.01  # toxic templated sentences it may miss more (5 of 510)


def best_small_model(results_dirs=(RESULTS_DIR, GPU_RESULTS_DIR), full_data_only: bool = True) -> tuple[Path, Path]:
    """(checkpoint, results file) of the 6-layer model with the best validation ROC-AUC among full-data runs, from
    the CPU run's results and the GPU run's (the same validation split; a model's epochs do not matter here)."""
    candidates = []
    for results_dir in map(Path, results_dirs):
        candidates += contenders(results_dir, full_data_only)
    if not candidates:
        raise ShipError(
            f"no full-data results of {', '.join(SMALL_MODELS)} in {', '.join(map(shown_path, results_dirs))}; "
            "run run_eval.py first"
        )
    score, name, path, result = max(candidates)
    considered = ", ".join(shown_path(c[2]) for c in candidates)
    print(f"Best by validation ROC-AUC: {shown_path(path)} ({score:.4f}) of {considered}")
    return REPO_ROOT / result["path"], path


def best_fast_student(results_dir: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """(checkpoint, PyTorch results file) of the smaller student (research.experiments.SMALL_PLAN) of at most
    FAST_TIER_MAX_LAYERS layers with the best validation ROC-AUC as served (its NAME-int8 results), among those whose
    checkpoint is still the one scored."""
    candidates = []
    for name in SMALL_PLAN:
        torch_result, served = read_result(results_dir, name), read_result(results_dir, name + SERVED_SUFFIX)
        if torch_result is None or served is None:
            continue
        checkpoint = REPO_ROOT / served["path"]
        if not (checkpoint / "config.json").exists():
            continue
        if json.loads((checkpoint / "config.json").read_text())["num_hidden_layers"] > FAST_TIER_MAX_LAYERS:
            continue
        if measured_on(served, checkpoint) and measured_on(torch_result, checkpoint):
            candidates.append((served["metrics"]["validation_roc_auc"], name, checkpoint, results_dir / f"{name}.json"))
    if not candidates:
        raise ShipError(f"no student of at most {FAST_TIER_MAX_LAYERS} layers scored as served whose checkpoint is "
                        f"here ({', '.join(SMALL_PLAN)})")  # fmt: skip
    score, name, checkpoint, torch_file = max(candidates)
    considered = ", ".join(f"{n} {s:.4f}" for s, n, _, _ in sorted(candidates, reverse=True))
    print(f"Best by validation ROC-AUC as served: {name} ({considered})")
    return checkpoint, torch_file


def contenders(results_dir: Path, full_data_only: bool) -> list[tuple]:
    """(validation ROC-AUC, name, results file, result) of each small model in one results folder."""
    candidates = {}
    for name in (*SMALL_MODELS, *MITIGATIONS):
        path = results_dir / f"{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        if full_data_only and result.get("train_rows") != result["provenance"]["data"]["split_sizes"]["train"]:
            continue  # a subset run: not a candidate for shipping
        candidates[name] = (result["metrics"]["validation_roc_auc"], name, path, result)
    for mitigated, base in MITIGATIONS.items():
        if mitigated in candidates:
            if base in candidates and mitigation_pays(results_dir, candidates[mitigated], candidates[base]):
                candidates[base] = candidates[mitigated]
            del candidates[mitigated]
    return list(candidates.values())


def mitigation_pays(results_dir: Path, mitigated: tuple, base: tuple) -> bool:
    """Whether the mitigated model flags fewer neutral identity sentences than its base, on the whole and for the
    worst term, misses few more toxic ones, and costs at most MITIGATION_MAX_ROC_AUC_COST of validation ROC-AUC."""
    path = results_dir / "bias.json"
    audits = json.loads(path.read_text())["models"] if path.exists() else {}
    (m_roc, m_name, _, m_result), (b_roc, b_name, _, b_result) = mitigated, base
    m_audit, b_audit = audits.get(m_name), audits.get(b_name)
    if not (m_audit and b_audit and m_audit["path"] == m_result["path"] and b_audit["path"] == b_result["path"]):
        print(f"{m_name} is not a contender: {path} has no audit of both it and {b_name}")
        return False
    m_overall, b_overall = m_audit["templates"]["overall"], b_audit["templates"]["overall"]

    def worst(audit):
        return max(term["neutral_false_positive_rate"] for term in audit["templates"]["terms"].values())

    reasons = [
        f"neutral sentences flagged {m_overall['neutral_false_positive_rate']:.1%} against "
        f"{b_overall['neutral_false_positive_rate']:.1%}",
        f"worst term {worst(m_audit):.0%} against {worst(b_audit):.0%}",
        f"toxic sentences caught {m_overall['toxic_recall']:.1%} against {b_overall['toxic_recall']:.1%}",
        f"validation ROC-AUC {m_roc:.4f} against {b_roc:.4f}",
    ]
    pays = (
        m_overall["neutral_false_positive_rate"] < b_overall["neutral_false_positive_rate"]
        and worst(m_audit) <= worst(b_audit)
        and m_overall["toxic_recall"] >= b_overall["toxic_recall"] - MITIGATION_MAX_RECALL_COST
        and m_roc >= b_roc - MITIGATION_MAX_ROC_AUC_COST
    )
    print(f"{m_name} {'replaces' if pays else 'does not replace'} {b_name}: {'; '.join(reasons)}")
    return pays
