"""The sealed suite: a second functional suite, written by other hands, scored once per shipped model.

    python -m toxiclf.evaluation.sealed_suite --model model --name shipped-round-14

The project's own suite (toxiclf.evaluation.functional_suite) chose fourteen rounds of models and its last
templates were written after reading its misses, so it measures how well a model fits this team's writing. This
suite was written in one go on 2026-12-07 by another author, who never read the training templates, the
augmentation files or the own suite's misses, from a brief naming only the definition of toxic, the
functionalities, the groups and the topics (docs/sealed-suite.md; the generator is scripts/make_sealed_suite.py).
Most toxic cases have a benign twin in the same frame (a minimal pair), and 42 % of it is everyday sentences that
name a group.

It is **sealed**: never used to choose a candidate, a threshold, a recipe or a template. Its CSV is frozen by the
sha256 in `results/sealed_suite.json` (refused if it changes), and a model is scored on it once: scoring the same
weights again is refused, so that the file holds one row per shipped model, in the order they were shipped. It
may veto a release; it never picks between candidates.
"""

import argparse
import datetime
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..paths import RESOURCES, RESULTS_DIR, sha256_file, shown_path

SUITE_FILE = RESOURCES / "sealed_suite.csv"
SPEC_FILE = RESOURCES / "sealed_suite_spec.json"
RESULTS_FILE = RESULTS_DIR / "sealed_suite.json"
# What a training sentence on a reserved topic would say: the suite keeps these topics to itself, so that its
# rates on them measure sentences of a kind no template showed. Written after the suite, from its topic names only.
RESERVED_TOPIC_WORDS = {
    "gardening": r"garden|allotment|\bplant(s|ed|ing)?\b|flower|seedling|compost",
    "weddings": r"wedding|\bbride|\bgroom\b|best man|bridesmaid",
    "pets": r"\bpets?\b|puppy|kitten|my (dog|cat)\b|walk(s|ed|ing)? the dog|\bvet\b",
    "weather": r"weather|\brain(s|ed|ing|y)?\b|snow|sunny|storm|forecast|heatwave",
    "military": r"military|\barmy\b|soldier|\bnavy\b|troops|veteran|barracks",
    "fashion": r"fashion|clothes|\bdress(es)?\b|outfit|catwalk",
    "emergencies": r"emergency|ambulance|fire brigade|firefighter|paramedic|\bflood",
    "reading": r"\bbooks?\b|\breading\b|\bnovels?\b|library|\bauthors?\b",
    "art": r"\bart\b|painting|gallery|museum|sculpt",
    "moving_house": r"moving house|moved house|removal van|\bmoving in\b|new flat",
    "language_learning": r"learn(s|ed|ing)? (a |the )?\w* ?language|language (class|lesson|course)s?",
    "sports_clubs": r"sports? club|football club|rugby club|cricket club|\bleague\b|\bsquad\b",
}
# The goals of the issue that asked for it: on the sealed suite, for the shipped model.
GOALS = {"toxic_caught": (">=", 0.90), "benign_flagged": ("<=", 0.05), "pair_accuracy": (">=", 0.85)}


class SealedSuiteError(Exception):
    """The suite's file is not the frozen one, or a model was scored twice."""


def frozen_record(results_file: Path = RESULTS_FILE) -> dict:
    return json.loads(results_file.read_text())


def load_sealed_suite(suite_file: Path = SUITE_FILE, results_file: Path = RESULTS_FILE) -> pd.DataFrame:
    """The cases, after checking the file against the sha256 frozen in the results file."""
    expected = frozen_record(results_file)["suite"]["sha256"]
    actual = sha256_file(suite_file)
    if actual != expected:
        raise SealedSuiteError(f"{shown_path(suite_file)} is not the frozen sealed suite (sha256 {actual[:12]}, "
                               f"frozen {expected[:12]}): it must not change")  # fmt: skip
    return pd.read_csv(suite_file, keep_default_na=False, dtype={"pair_id": str, "label": int})


def _rates(cases: pd.DataFrame) -> dict:
    toxic, benign = cases[cases["label"] == 1], cases[cases["label"] == 0]
    rates = {"cases": len(cases)}
    if len(toxic):
        rates["toxic_caught"] = round(float(toxic["flagged"].mean()), 4)
    if len(benign):
        rates["benign_flagged"] = round(float(benign["flagged"].mean()), 4)
    return rates


def pair_accuracy(cases: pd.DataFrame) -> tuple[float, int]:
    """(share of minimal pairs with both halves right, number of pairs)."""
    paired = cases[cases["pair_id"] != ""]
    both_right = paired.groupby("pair_id")["right"].all()
    return float(both_right.mean()) if len(both_right) else float("nan"), len(both_right)


def sealed_report(cases: pd.DataFrame, scores, threshold: float, reserved_topics: list[str]) -> dict:
    """Toxic caught, benign flagged and pair accuracy overall; the same per functionality, topic, group and group
    kind; the goals."""
    cases = cases.assign(score=np.asarray(scores, dtype=float))
    cases["flagged"] = cases["score"] >= threshold
    cases["right"] = cases["flagged"] == cases["label"].astype(bool)
    accuracy, pairs = pair_accuracy(cases)
    report = {"threshold": float(threshold), **_rates(cases), "pair_accuracy": round(accuracy, 4), "pairs": pairs}
    report["goals"] = {
        name: {"goal": f"{op} {bound:.0%}", "value": report[name],
               "met": report[name] >= bound if op == ">=" else report[name] <= bound}
        for name, (op, bound) in GOALS.items()
    }  # fmt: skip
    report["benign_flagged_at_0.98"] = round(float(cases[cases["label"] == 0]["score"].ge(0.98).mean()), 4)
    for column in ("functionality", "group_kind", "topic", "group"):
        breakdown = {}
        for value, part in cases.groupby(column, sort=True):
            entry = _rates(part)
            if (part["pair_id"] != "").any():
                entry["pair_accuracy"], entry["pairs"] = (round(x, 4) if isinstance(x, float) else x
                                                          for x in pair_accuracy(part))  # fmt: skip
            breakdown[value or "(none)"] = entry
        report[f"by_{column}"] = breakdown
    reserved = cases[cases["topic"].isin(reserved_topics)]
    report["reserved_topics"] = {"topics": sorted(reserved_topics), **_rates(reserved)}
    return report


def reserved_topics(spec_file: Path = SPEC_FILE) -> list[str]:
    return json.loads(spec_file.read_text())["reserved_topics"]


def score_once(model_dir: Path, name: str, backend: str = "auto", results_file: Path = RESULTS_FILE,
               note: str = "") -> dict:  # fmt: skip
    """Score a model folder as served (its preprocessing, calibration and threshold) and append its row; a model
    whose weights were scored before is refused."""
    from ..inference.classifier import load_classifier, read_preprocessing
    from ..provenance import command_line, git_commit

    record = frozen_record(results_file)
    weights = sha256_file(Path(model_dir) / "model.safetensors")
    for row in record["models"]:
        if row["weights_sha256"] == weights or row["name"] == name:
            raise SealedSuiteError(f"{row['name']} (weights {weights[:12]}) was scored on the sealed suite on "
                                   f"{row['scored_at']}: a model is scored once")  # fmt: skip
    cases = load_sealed_suite(results_file=results_file)
    classifier = load_classifier(model_dir, backend=backend)
    scores = classifier.scores(list(cases["text"]))
    row = {"name": name, "model": shown_path(Path(model_dir)), "weights_sha256": weights,
           "backend": classifier.backend, "preprocessing": read_preprocessing(model_dir),
           "scored_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
           "git_commit": git_commit(), "command": command_line("toxiclf.evaluation.sealed_suite"),
           **({"note": note} if note else {}),
           **sealed_report(cases, scores, classifier.threshold, reserved_topics())}  # fmt: skip
    record["models"].append(row)
    results_file.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="a shipped model folder")
    parser.add_argument("--name", required=True, help="the name its row gets (once per model)")
    parser.add_argument("--backend", default="auto", help="as served (default: auto)")
    parser.add_argument("--note", default="", help="a sentence recorded with the row")
    args = parser.parse_args(argv)
    try:
        row = score_once(args.model, args.name, args.backend, note=args.note)
    except SealedSuiteError as error:
        raise SystemExit(f"error: {error}") from None
    print(
        f"{row['name']}: toxic caught {row['toxic_caught']:.1%}, benign flagged {row['benign_flagged']:.1%}, "
        f"pair accuracy {row['pair_accuracy']:.1%} ({row['pairs']} pairs) at threshold {row['threshold']:.3f}"
    )


if __name__ == "__main__":
    main()
