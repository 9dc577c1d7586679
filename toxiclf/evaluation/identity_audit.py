"""The identity-term bias audit: do harmless sentences that mention an identity get flagged?

Data (`resources/identity_terms.json`, written by this project): 51 identity terms in 7 groups, 10 neutral and
10 toxic sentence templates; `python -m toxiclf.evaluation.identity_audit` writes every sentence to
`resources/identity_audit.csv`. Per term (Dixon et al. 2018; Borkan et al. 2019, the Jigsaw Unintended Bias
metrics):

- false-positive rate on its neutral sentences and false-negative rate on its toxic ones, at the served
  threshold (fairlearn's MetricFrame, by term);
- subgroup AUC (the term's sentences only), BPSN AUC (the term's neutral sentences against the other terms' toxic
  ones: low when the term alone looks toxic) and BNSP AUC (the term's toxic sentences against the others' neutral
  ones).

`run_eval.py audit` also computes the three AUCs on the real test comments that mention a term, for terms
with enough of them, and writes `results/bias.json` and `results/bias.png`.
"""

import json

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ..data.identity_terms import TERMS_FILE, mentions
from ..paths import RESOURCES
from .subgroup_bias import bias_figures

AUDIT_FILE = RESOURCES / "identity_audit.csv"
MIN_REAL_ROWS, MIN_REAL_TOXIC = 50, 10  # a term's real test comments needed for its AUCs there


def audit_sentences(terms_file=TERMS_FILE) -> pd.DataFrame:
    """Every template filled with every term: columns sentence, term, group, label."""
    spec = json.loads(terms_file.read_text())
    rows = []
    for group, terms in spec["terms"].items():
        for term in terms:
            for kind, label in (("neutral", 0), ("toxic", 1)):
                for template in spec["templates"][kind]:
                    sentence = template.replace("{term}", term).replace("{Term}", term[:1].upper() + term[1:])
                    rows.append({"sentence": sentence, "term": term, "group": group, "label": label})
    return pd.DataFrame(rows)


def identity_aucs(labels, scores, in_subgroup) -> dict:
    """Subgroup, BPSN and BNSP AUC; None where a side has no rows of a class."""
    labels, scores, in_subgroup = np.asarray(labels), np.asarray(scores), np.asarray(in_subgroup, dtype=bool)

    def auc(mask):
        return float(roc_auc_score(labels[mask], scores[mask])) if len(np.unique(labels[mask])) == 2 else None

    return {
        "subgroup_auc": auc(in_subgroup),
        "bpsn_auc": auc((in_subgroup & (labels == 0)) | (~in_subgroup & (labels == 1))),
        "bnsp_auc": auc((in_subgroup & (labels == 1)) | (~in_subgroup & (labels == 0))),
    }


def template_audit(sentences: pd.DataFrame, scores, threshold: float) -> dict:
    """Per-term rates and AUCs on the templated sentences, and the overall rates."""
    from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate

    labels, predicted = sentences["label"].to_numpy(), (np.asarray(scores) >= threshold).astype(int)
    frame = MetricFrame(
        metrics={"neutral_false_positive_rate": false_positive_rate, "toxic_false_negative_rate": false_negative_rate},
        y_true=labels, y_pred=predicted, sensitive_features=sentences["term"],
    )  # fmt: skip
    per_term = {}
    for term, rates in frame.by_group.iterrows():
        row = sentences["term"] == term
        per_term[term] = {
            "group": sentences.loc[row, "group"].iloc[0],
            **{name: float(value) for name, value in rates.items()},
            **identity_aucs(labels, scores, row.to_numpy()),
        }
    overall = {name: float(value) for name, value in frame.overall.items()}
    return {"overall": {**overall, "toxic_recall": 1 - overall["toxic_false_negative_rate"]}, "terms": per_term}


def real_split_audit(texts: list[str], labels, scores, terms: list[str], resamples: int = 1000) -> dict:
    """On real comments, for the terms with enough of them (MIN_REAL_ROWS, MIN_REAL_TOXIC of each class): the
    subgroup, BPSN and BNSP AUCs with bootstrap intervals, their power means and the bias figure
    (toxiclf.evaluation.subgroup_bias)."""
    labels, subgroups = np.asarray(labels), {}
    for term in terms:
        in_subgroup = mentions(texts, term)
        rows, toxic = int(in_subgroup.sum()), int(labels[in_subgroup].sum())
        if rows >= MIN_REAL_ROWS and MIN_REAL_TOXIC <= toxic <= rows - MIN_REAL_TOXIC:
            subgroups[term] = in_subgroup
    if not subgroups:
        return {"terms": {}}
    return bias_figures(labels, scores, subgroups, resamples)


def worst_terms(per_term: dict, k: int = 5) -> list[tuple[str, float]]:
    ranked = sorted(per_term.items(), key=lambda item: -item[1]["neutral_false_positive_rate"])
    return [(term, values["neutral_false_positive_rate"]) for term, values in ranked[:k]]


def real_comments_table(audits: dict, worst: int = 3) -> str:
    """Markdown: per audited model, the bias figure and the power means of the real test comments' subgroup, BPSN
    and BNSP AUCs (each with its 95 % interval), and its worst terms by BPSN AUC: the check on real text that no
    template can game. Models without real-comment figures are left out."""
    rows = []
    for name, entry in audits.items():
        real = entry.get("real_test_split", {})
        if "bias_figure" not in real:
            continue
        ranked = [(term, real["terms"][term]) for term, _ in real["worst_terms_by_bpsn_auc"][:worst]]
        terms = "; ".join(
            f"{term} {values['bpsn_auc']:.3f} {_interval(values['bpsn_auc_95ci'])} ({values['rows']:,} comments, "
            f"{values['toxic']:,} toxic)"
            for term, values in ranked
        )
        rows.append(f"| {name} | {real['bias_figure']:.4f} {_interval(real['bias_figure_95ci'])} "
                    f"| {real['power_mean_subgroup_auc']:.4f} | {real['power_mean_bpsn_auc']:.4f} "
                    f"{_interval(real['power_mean_bpsn_auc_95ci'])} | {real['power_mean_bnsp_auc']:.4f} "
                    f"| {terms} |")  # fmt: skip
    if not rows:
        return ""
    header = (
        "| model | bias figure [95 % CI] | subgroup AUC (power mean) | BPSN AUC (power mean) [95 % CI] "
        "| BNSP AUC (power mean) | worst terms by BPSN AUC [95 % CI] |\n|---|---:|---:|---:|---:|---|"
    )
    return header + "\n" + "\n".join(rows) + "\n"


def _interval(bounds) -> str:
    low, high = bounds
    return "[-]" if low is None else f"[{low:.3f}, {high:.3f}]"


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="Write the audit sentences from the terms and templates.")
    parser.parse_args(argv)
    sentences = audit_sentences()
    sentences.to_csv(AUDIT_FILE, index=False)
    print(f"Wrote {len(sentences):,} sentences ({sentences['term'].nunique()} terms) to {AUDIT_FILE.name}")


if __name__ == "__main__":
    main()
