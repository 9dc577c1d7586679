"""This project's functional test suite: does the model read meaning, or words?

Each case is a short sentence that checks one phenomenon (a *functionality*): derogation stated outright, by
dehumanising comparison or by implication; threats; slurs used and slurs mentioned; profanity aimed at a group and
profanity aimed at no one; negation both ways; questions, opinions and pronoun references; identity statements,
neutral and positive; counter-speech that quotes or names hate; abuse of individuals and of unprotected groups;
and toxic sentences spelt five ways to get past a filter. The templates, targets and the definition of toxic that
the gold labels follow are data (`resources/functional_suite.json`), written for this project from scratch;
`python -m toxiclf.evaluation.functional_suite` writes every case to `resources/functional_suite.csv`.

`functional_report(cases, scores, threshold)` is the pass rate per functionality (a toxic case passes when it is
flagged, a non-toxic one when it is not) and the goals below; `run_eval.py functional` writes it for every model.
"""

import argparse
import json
import re

import numpy as np
import pandas as pd

from ..inference.obfuscation import WORD_NOISE
from ..paths import RESOURCES

SUITE_SPEC = RESOURCES / "functional_suite.json"
SUITE_FILE = RESOURCES / "functional_suite.csv"
OBFUSCATION_SEED = 0
# The goals the shipped model is held to (issue: robust to how people really write).
TOXIC_CAUGHT_GOAL = 0.90  # in every toxic functionality, plain and obfuscated
NON_TOXIC_FLAGGED_GOAL = {"identity_neutral": 0.10, "identity_positive": 0.10, "negated_hate": 0.10,
                          "counter_speech_quote": 0.40, "counter_speech_reference": 0.40}  # fmt: skip
_MARKED = re.compile(r"\[([^\]]+)\]")


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fillings(target: str, spec: dict) -> list[dict]:
    """The values a template's placeholders take, one dict per target."""
    if target == "group":
        return [{"group": g["plural"], "Group": _capitalised(g["plural"]), "singular": g["singular"],
                 "being": g["being"], "target": g["plural"]} for g in spec["groups"]]  # fmt: skip
    if target == "unprotected":
        return [{"group": g, "Group": _capitalised(g), "target": g} for g in spec["unprotected_groups"]]
    if target == "person":
        return [{"person": name, "target": "individual"} for name in spec["people"]]
    if target == "slur":
        return [{"slur": slur, "target": f"slur: {slur}"} for slur in spec["slurs"]]
    return [{"target": "none"}]


def _fill(template: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], template)


def _base_target(base: str) -> str:
    for placeholder, target in (("{slur}", "slur"), ("{person}", "person"), ("{Group}", "group"),
                                ("{group}", "group"), ("{singular}", "group")):  # fmt: skip
        if placeholder in base:
            return target
    return "none"


def _obfuscated(sentence: str, kind: str, rng: np.random.Generator) -> str:
    """The sentence with its [marked] words disguised; `spaces_removed` joins each marked word to its neighbours."""
    if kind == "spaces_removed":
        return re.sub(r"\s*\[([^\]]+)\]\s*", r"\1", sentence)
    return _MARKED.sub(lambda match: WORD_NOISE[kind](match.group(1), rng), sentence)


def suite_cases(spec_file=SUITE_SPEC) -> pd.DataFrame:
    """Every case: columns case_id, functionality, text, label, target, template (index within its functionality)."""
    spec = json.loads(spec_file.read_text())
    rows = []
    for functionality, entry in spec["functionalities"].items():
        for index, template in enumerate(entry["templates"]):
            for values in _fillings(entry["target"], spec):
                rows.append({"functionality": functionality, "text": _fill(template, values),
                             "label": entry["label"], "target": values["target"], "template": index})  # fmt: skip
    obfuscation = spec["obfuscation"]
    rng = np.random.default_rng(OBFUSCATION_SEED)
    for functionality in obfuscation["kinds"]:
        kind = functionality.removeprefix("obfuscation_")
        for index, base in enumerate(obfuscation["bases"]):
            for values in _fillings(_base_target(base), spec):
                text = _obfuscated(_fill(base, values), kind, rng)
                rows.append({"functionality": functionality, "text": text, "label": obfuscation["label"],
                             "target": values["target"], "template": index})  # fmt: skip
    cases = pd.DataFrame(rows)
    cases.insert(0, "case_id", [f"fs-{i:04d}" for i in range(len(cases))])
    return cases


def plain_bases(spec_file=SUITE_SPEC) -> list[str]:
    """The obfuscation bases filled and left plain: what the disjointness check compares too."""
    spec = json.loads(spec_file.read_text())
    return [_MARKED.sub(r"\1", _fill(base, values))
            for base in spec["obfuscation"]["bases"] for values in _fillings(_base_target(base), spec)]  # fmt: skip


def load_suite() -> pd.DataFrame:
    return pd.read_csv(SUITE_FILE, keep_default_na=False)


def functional_report(cases: pd.DataFrame, scores, threshold: float) -> dict:
    """Pass rate per functionality at `threshold`, the overall rates, and which goals are met."""
    cases = cases.assign(flagged=np.asarray(scores) >= threshold)
    cases["passed"] = cases["flagged"] == cases["label"].astype(bool)
    per_functionality = {}
    for functionality, group in cases.groupby("functionality", sort=False):
        label = int(group["label"].iloc[0])
        entry = {"label": label, "cases": len(group), "pass_rate": float(group["passed"].mean()),
                 "flagged_rate": float(group["flagged"].mean())}  # fmt: skip
        if label == 1:
            entry["goal"] = f"caught >= {TOXIC_CAUGHT_GOAL:.0%}"
            entry["meets_goal"] = entry["flagged_rate"] >= TOXIC_CAUGHT_GOAL
        elif functionality in NON_TOXIC_FLAGGED_GOAL:
            entry["goal"] = f"flagged <= {NON_TOXIC_FLAGGED_GOAL[functionality]:.0%}"
            entry["meets_goal"] = entry["flagged_rate"] <= NON_TOXIC_FLAGGED_GOAL[functionality]
        per_functionality[functionality] = entry
    toxic, non_toxic = cases[cases["label"] == 1], cases[cases["label"] == 0]
    with_goal = [entry for entry in per_functionality.values() if "meets_goal" in entry]
    return {
        "threshold": float(threshold),
        "cases": len(cases),
        "toxic_caught": float(toxic["flagged"].mean()),
        "non_toxic_flagged": float(non_toxic["flagged"].mean()),
        "pass_rate": float(cases["passed"].mean()),
        "goals_met": sum(entry["meets_goal"] for entry in with_goal),
        "goals": len(with_goal),
        "functionalities": per_functionality,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write every case of the functional test suite to a CSV.")
    parser.add_argument("--output", default=str(SUITE_FILE))
    args = parser.parse_args(argv)
    cases = suite_cases()
    cases.to_csv(args.output, index=False)
    counts = cases.groupby("functionality", sort=False).size()
    print(json.dumps({"cases": len(cases), "functionalities": len(counts), "toxic": int(cases["label"].sum()),
                      "per_functionality": counts.to_dict()}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
