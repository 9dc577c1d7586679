"""Do the smaller students' answers replicate? The same recipe trained twice, once by the CPU queue and once by the
GPU phase `small` (other kernels and dropout draws; the same rows, order, initialisation and steps), compared model
by model and verdict by verdict.

    python -m research.replicates --update-readme     # results vs results/gpu-small -> gpu-small/replicates.json

For each smaller student scored in PyTorch in both folders on the same test rows: its test ROC-AUC in each, and the
paired difference (second − first, with the 95 % interval of toxiclf.evaluation.comparisons). For each paired
comparison of
the students (research.experiments.STUDENT_PAIRS) in both folders' comparisons.json: its verdict in each (above 0,
below 0, or not established) and whether they agree. How far a retrained model moves is the noise floor under every
difference the tables report.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from research.experiments import SMALL_PLAN, STUDENT_PAIRS
from toxiclf.evaluation.comparisons import (
    COMPARISONS_FILE,
    METRICS,
    ids_checksum,
    load_scores,
    paired_bootstrap,
    scores_sha256,
)
from toxiclf.evaluation.results_files import read_result
from toxiclf.paths import GPU_SMALL_RESULTS_DIR, RESULTS_DIR, shown_path
from toxiclf.provenance import command_line

REPLICATES_FILE = "replicates.json"


def verdict(entry: dict) -> str:
    if not entry["established"]:
        return "not established"
    return "above 0" if entry["difference"] > 0 else "below 0"


def _comparisons(results_dir: Path) -> dict[tuple[str, str], dict]:
    path = Path(results_dir) / COMPARISONS_FILE
    found = json.loads(path.read_text())["comparisons"] if path.exists() else []
    return {(c["model"], c["against"]): c for c in found}


def compare_replicates(first: Path, second: Path, labels, test_ids_sha256: str, resamples: int = 1000) -> dict:
    scores = [load_scores(folder, test_ids_sha256) for folder in (first, second)]
    models = []
    for name in (n for n in SMALL_PLAN if n in scores[0] and n in scores[1]):
        rocs = [read_result(folder, name)["metrics"]["threshold_validation"]["roc_auc"] for folder in (first, second)]
        models.append({"model": name, "first_roc_auc": rocs[0], "second_roc_auc": rocs[1],
                       **paired_bootstrap(labels, scores[1][name], scores[0][name], resamples)})  # fmt: skip
    pairs = [_comparisons(first), _comparisons(second)]
    in_both = [(model, against) for model, against in STUDENT_PAIRS if (model, against) in pairs[0]
               and (model, against) in pairs[1]]  # fmt: skip
    # A reference that is not one of the replicated students (the shipped model) must be the same scores in both
    # folders: once a newer model is shipped, one table compares with it and the other with the model before.
    references = {against for _, against in in_both if against not in SMALL_PLAN}
    other_reference = sorted(name for name in references if name not in scores[0] or name not in scores[1]
                             or scores_sha256(scores[0][name]) != scores_sha256(scores[1][name]))  # fmt: skip
    verdicts = [
        {"model": model, "against": against, "metric": metric,
         "first": verdict(pairs[0][(model, against)][metric]), "second": verdict(pairs[1][(model, against)][metric]),
         "first_difference": pairs[0][(model, against)][metric]["difference"],
         "second_difference": pairs[1][(model, against)][metric]["difference"]}
        for model, against in in_both if against not in other_reference
        for metric in METRICS
    ]  # fmt: skip
    for entry in verdicts:
        entry["agree"] = entry["first"] == entry["second"]
    return {"first": shown_path(first), "second": shown_path(second), "rows": len(labels), "resamples": resamples,
            "models": models, "verdicts": verdicts, "not_compared_references": other_reference}  # fmt: skip


def replicates_markdown(record: dict) -> str:
    first, second = record["first"], record["second"]
    lines = [
        f"| model | test ROC-AUC ({first}) | ({second}) | Δ ROC-AUC, second − first [95 % CI] | Δ PR-AUC |",
        "|---|---:|---:|---|---|",
    ]
    for m in record["models"]:
        cells = [f"{m[k]['difference']:+.4f} [{m[k]['ci95'][0]:+.4f}, {m[k]['ci95'][1]:+.4f}]"
                 + ("" if m[k]["established"] else " (n.e.)") for k in ("roc_auc", "pr_auc")]  # fmt: skip
        lines.append(
            f"| {m['model']} | {m['first_roc_auc']:.4f} | {m['second_roc_auc']:.4f} | {cells[0]} | {cells[1]} |"
        )
    verdicts = record["verdicts"]
    not_compared = record.get("not_compared_references")
    left_out = (f" Not compared: the verdicts against {', '.join(not_compared)}, whose scores differ between the two "
                "folders (a newer model was shipped since one of them ran)." if not_compared else "")  # fmt: skip
    if not verdicts:
        return "\n".join(lines) + "\n\nNo paired comparison is in both folders yet." + left_out + "\n"
    lines += ["", f"| comparison | metric | {first} | {second} | agree |", "|---|---|---|---|---|"]
    for v in verdicts:
        said = [f"{v[k]} ({v[k + '_difference']:+.4f})" for k in ("first", "second")]
        agree = "yes" if v["agree"] else "**no**"
        lines.append(f"| {v['model']} − {v['against']} | {v['metric']} | {said[0]} | {said[1]} | {agree} |")
    disagree = [f"{v['model']} − {v['against']} ({v['metric']})" for v in verdicts if not v["agree"]]
    moved = max((abs(m["roc_auc"]["difference"]) for m in record["models"]), default=0.0)
    lines += ["", f"**What it says** (generated from `{record['second']}/{REPLICATES_FILE}`): "
              f"{len(verdicts) - len(disagree)} of {len(verdicts)} verdicts agree between the two trainings"
              + (f"; they differ on {', '.join(disagree)}" if disagree else "")
              + f". A retrained student's test ROC-AUC moved by at most {moved:.4f} (students trained on both: "
              f"{len(record['models'])})." + left_out]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first", type=Path, default=RESULTS_DIR, help="one training's results folder")
    parser.add_argument("--second", type=Path, default=GPU_SMALL_RESULTS_DIR, help="the other's; the record goes here")
    parser.add_argument("--update-readme", action="store_true", help="regenerate the `replicates` doc section")
    args = parser.parse_args(argv)
    from research.report import replace_doc_section
    from toxiclf.data.splits import DEFAULT_SEED, EMBEDDED, ID_COLUMN, LABEL_COLUMN, DataError, load_splits

    try:
        test = load_splits(EMBEDDED, DEFAULT_SEED)["test"]
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    record = compare_replicates(args.first, args.second, np.array(test[LABEL_COLUMN]), ids_checksum(test[ID_COLUMN]))
    record["command"] = command_line("research.replicates", argv)
    (args.second / REPLICATES_FILE).write_text(json.dumps(record, indent=2) + "\n")
    text = replicates_markdown(record)
    if args.update_readme:
        replace_doc_section("replicates", text)
    print(text)


if __name__ == "__main__":
    main()
