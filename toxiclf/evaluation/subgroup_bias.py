"""Unintended bias on real comments: per identity term, subgroup, BPSN and BNSP AUC with bootstrap intervals, and
their generalised power means as one figure (Borkan et al., 2019; the Jigsaw Unintended Bias competition).

- subgroup AUC: toxic against non-toxic comments that both name the term;
- BPSN (background positive, subgroup negative): non-toxic comments naming the term against toxic ones that don't.
  Low when a model scores harmless mentions of the group high: the failure a moderator sees as a false flag;
- BNSP: toxic comments naming the term against non-toxic ones that don't.

The power mean M_p = (mean of AUC^p)^(1/p) with p = -5 leans towards the worst terms, and the bias figure is
0.25 * overall AUC + 0.25 * (M_p(subgroup) + M_p(BPSN) + M_p(BNSP)), as that competition scored it. Every value
comes with a 95 % percentile interval over the same bootstrap resamples of the test comments (a term with 50
comments moves a lot from one sample to the next), drawn as toxiclf.evaluation.bootstrap draws them.
"""

import numpy as np

from .bootstrap import SortedScores, resample_counts

POWER = -5
BIAS_AUCS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")


def power_mean(values, p: float = POWER) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.mean(values**p) ** (1 / p))


def bias_masks(labels: np.ndarray, in_subgroup: np.ndarray) -> dict[str, np.ndarray]:
    """The rows each of a term's AUCs ranks."""
    positive = labels == 1
    return {
        "subgroup_auc": in_subgroup,
        "bpsn_auc": (in_subgroup & ~positive) | (~in_subgroup & positive),
        "bnsp_auc": (in_subgroup & positive) | (~in_subgroup & ~positive),
    }


def _interval(samples: np.ndarray) -> list[float]:
    samples = samples[np.isfinite(samples)]
    return [round(float(x), 4) for x in np.percentile(samples, [2.5, 97.5])] if len(samples) else [None, None]


def bias_figures(labels, scores, subgroups: dict[str, np.ndarray], resamples: int = 1000, seed: int = 0) -> dict:
    """Per term (`subgroups`: term -> rows that name it), the three AUCs with 95 % intervals; their power means and
    the bias figure, each with its interval over the same resamples."""
    labels = np.asarray(labels, dtype=int)
    sorted_scores = SortedScores(labels, scores)
    masks = {term: bias_masks(labels, np.asarray(rows, dtype=bool)) for term, rows in subgroups.items()}
    everything = np.ones(len(labels), dtype=float)[None, :]
    point = {term: {name: float(sorted_scores.roc_auc(everything * mask)[0]) for name, mask in by_name.items()}
             for term, by_name in masks.items()}  # fmt: skip
    samples = {term: {name: [] for name in BIAS_AUCS} for term in masks}
    overall_samples = []
    for counts in resample_counts(len(labels), resamples, seed):
        overall_samples.append(sorted_scores.roc_auc(counts))
        for term, by_name in masks.items():
            for name, mask in by_name.items():
                with np.errstate(invalid="ignore", divide="ignore"):  # a resample without one side: NaN, skipped
                    samples[term][name].append(sorted_scores.roc_auc(counts * mask))
    samples = {term: {name: np.concatenate(s) for name, s in by_name.items()} for term, by_name in samples.items()}
    overall_samples = np.concatenate(overall_samples)
    terms = {}
    for term in masks:
        rows = np.asarray(subgroups[term], dtype=bool)
        terms[term] = {"rows": int(rows.sum()), "toxic": int(labels[rows].sum())}
        for name in BIAS_AUCS:
            terms[term][name] = round(point[term][name], 4)
            terms[term][f"{name}_95ci"] = _interval(samples[term][name])
    figures = {"overall_auc": round(float(sorted_scores.roc_auc(everything)[0]), 4),
               "overall_auc_95ci": _interval(overall_samples)}  # fmt: skip
    means_samples = {}
    for name in BIAS_AUCS:
        figures[f"power_mean_{name}"] = round(power_mean([point[t][name] for t in masks]), 4)
        stacked = np.stack([samples[t][name] for t in masks])  # terms x resamples
        means_samples[name] = np.mean(stacked**POWER, axis=0) ** (1 / POWER)
        figures[f"power_mean_{name}_95ci"] = _interval(means_samples[name])
    figures["bias_figure"] = round(0.25 * figures["overall_auc"] + 0.25 * sum(
        figures[f"power_mean_{name}"] for name in BIAS_AUCS), 4)  # fmt: skip
    figures["bias_figure_95ci"] = _interval(0.25 * overall_samples + 0.25 * sum(means_samples.values()))
    worst = sorted(terms.items(), key=lambda item: item[1]["bpsn_auc"])[:5]
    return {"power": POWER, "resamples": resamples, "terms": terms, **figures,
            "worst_terms_by_bpsn_auc": [[term, values["bpsn_auc"]] for term, values in worst]}  # fmt: skip
