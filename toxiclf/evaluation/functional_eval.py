"""`run_eval.py functional`: the functional suite's pass rates per model -> results/functional.json, .png.

Each model is judged at the operating point it would be served at: a model folder's stored threshold for the
backend, else the threshold of best F1 on the validation split (TF-IDF too); its validation ROC-AUC is recorded
beside, so that a robust candidate is weighed against the shipped model without the test split. With `normalise`,
the suite's texts and the validation split also go through toxiclf.inference.obfuscation.normalise first, as an entry
of its
own ("NAME +normalise", with its own operating point), so that the normalisation at inference and the
training-time noise can be weighed against each other; with `segment`, joined-up words are split after it too,
with `spelling`, misspelt words are repaired after it.
"""

import json
import logging
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from ..data.augment_identity import audit_terms  # noqa: E402
from ..data.group_sentences import BUCKETS, group_sentences, word_count  # noqa: E402
from ..inference.model_folder import ModelFolder  # noqa: E402
from ..inference.obfuscation import preprocessed  # noqa: E402
from ..inference.preprocessing import steps_asked  # noqa: E402
from ..paths import sha256_file  # noqa: E402
from .functional_suite import SUITE_FILE, functional_report, load_suite  # noqa: E402
from .identity_audit import real_split_audit  # noqa: E402
from .metrics import best_f1_threshold  # noqa: E402
from .subgroup_bias import BIAS_AUCS  # noqa: E402

logger = logging.getLogger(__name__)
RESULTS_FILE = "functional.json"
VALIDATION_BIAS_RESAMPLES = 200  # intervals of the power means only: a development check, not the audit
# The docs table: the baseline, the model shipped before the robustness work and each model shipped since.
# Candidates that were not shipped stay in the JSON and in their round's own table.
TABLE_MODELS = re.compile(r"tfidf-logreg|minilm-l6-debiased-statements|shipped(-round-\d+|-fast)?")


def operating_point(scorer, stored: float | None, validation_texts, validation_labels) -> dict:
    """The served threshold where the model folder stores one for this backend, else validation's best F1; and
    the validation ROC-AUC of the scores, so that candidates are weighed on validation, never on the test split."""
    labels = np.asarray(validation_labels)
    scores = scorer.scores(validation_texts, progress=True)
    point = {"validation_roc_auc": float(roc_auc_score(labels, scores)), "validation_rows": len(labels),
             "validation_bias": validation_bias(list(validation_texts), labels, scores)}  # fmt: skip
    if stored is not None:
        return {**point, "threshold": stored, "threshold_source": ModelFolder.THRESHOLD}
    return {**point, "threshold": best_f1_threshold(labels, scores),
            "threshold_source": f"validation max F1 ({len(labels)} comments)"}  # fmt: skip


def validation_bias(texts: list[str], labels, scores) -> dict:
    """The subgroup, BPSN and BNSP AUCs' power means and the worst terms by BPSN AUC on the validation comments: a
    development check on real text, so that a candidate is weighed on it without the test split's audit (which may
    only veto). Per-term intervals stay with the test audit; here only the figures a choice compares."""
    figures = real_split_audit(texts, labels, scores, sorted(audit_terms()), resamples=VALIDATION_BIAS_RESAMPLES)
    if not figures["terms"]:
        return {}
    kept = ("bias_figure", "bias_figure_95ci", *(f"power_mean_{name}" for name in BIAS_AUCS))
    return {**{key: figures[key] for key in kept}, "terms": len(figures["terms"]),
            "worst_bpsn": dict(figures["worst_terms_by_bpsn_auc"])}  # fmt: skip


def flagged_shares(sentences: list[str], scores, threshold: float) -> dict:
    """How many benign sentences naming a group are flagged, all and the short ones (the failure on text no one
    here wrote is one of short sentences). The sentences are cut from non-toxic validation comments and swapped
    across groups (toxiclf.data.group_sentences, as the training rows are cut from training comments): a
    development set of real sentences, never the sealed suite."""
    if not sentences:
        return {"rows": 0, "flagged": None, "short_rows": 0, "short_flagged": None}
    flagged = np.asarray(scores) >= threshold
    short = np.array([word_count(sentence) <= BUCKETS[0][1] for sentence in sentences], dtype=bool)
    return {"rows": len(sentences), "flagged": round(float(flagged.mean()), 4), "short_rows": int(short.sum()),
            "short_flagged": round(float(flagged[short].mean()), 4) if short.any() else None}  # fmt: skip


def evaluate(scorers: dict, validation_texts, validation_labels, results_dir: Path, normalise: bool = False,
             segment: bool = False, spelling: bool = False) -> dict:  # fmt: skip
    """Score the suite with each scorer (name -> (scorer, its stored threshold or None, what to record of it));
    merge into results/functional.json, keeping the entries of other names. `segment`: also each model with
    normalised texts whose joined-up words are split ("NAME +normalise +segment"); `spelling`: whose misspelt words
    are repaired ("NAME +normalise +spelling", toxiclf.inference.spelling); both: also the two together."""
    cases = load_suite()
    output = Path(results_dir) / RESULTS_FILE
    earlier = json.loads(output.read_text())["models"] if output.exists() else {}
    # each variant's settings, as a folder's preprocessing.json names them; run in the folder's order
    variants = {"": ()}
    if normalise:
        variants[" +normalise"] = ("normalise_obfuscation",)
    if segment:
        variants[" +normalise +segment"] = ("normalise_obfuscation", "segment_joined_words")
    if spelling:
        variants[" +normalise +spelling"] = ("normalise_obfuscation", "restore_misspelt_words")
    if segment and spelling:
        variants[" +normalise +spelling +segment"] = ("normalise_obfuscation", "restore_misspelt_words",
                                                      "segment_joined_words")  # fmt: skip
    # each variant's own operating point, from validation texts preprocessed alike
    preprocessings = {suffix: steps_asked(dict.fromkeys(settings, True)) for suffix, settings in variants.items()}
    group_mentions = group_sentences(list(validation_texts), np.asarray(validation_labels), seed=0)[0]
    reports = {}
    for name, (scorer, stored, described) in scorers.items():
        for suffix, steps in preprocessings.items():
            variant = f"{name}{suffix}"
            point = operating_point(scorer, stored, preprocessed(validation_texts, steps), validation_labels)
            report = functional_report(cases, scorer.scores(preprocessed(cases["text"], steps)), point["threshold"])
            mentions = scorer.scores(preprocessed(group_mentions, steps)) if group_mentions else []
            point["validation_group_sentences"] = flagged_shares(group_mentions, mentions, point["threshold"])
            reports[variant] = {**described, **point, **report}
            logger.info("%s: toxic caught %.3f, non-toxic flagged %.3f, goals met %d of %d; validation ROC-AUC %.4f, "
                        "benign group sentences flagged %.3f", variant, report["toxic_caught"],
                        report["non_toxic_flagged"], report["goals_met"], report["goals"], point["validation_roc_auc"],
                        point["validation_group_sentences"]["flagged"] or 0)  # fmt: skip
    result = {
        "command": "python run_eval.py functional --checkpoints NAME=PATH ...",
        "suite": {
            "file": SUITE_FILE.name,
            "sha256": sha256_file(SUITE_FILE),
            "cases": len(cases),
            "functionalities": int(cases["functionality"].nunique()),
        },  # fmt: skip
        "models": {**{k: v for k, v in earlier.items() if k not in reports}, **reports},
    }
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    plot_table_models(result["models"], Path(results_dir), fallback=list(reports))
    return result


def plot(models: dict, path: Path) -> Path:
    """Share of cases answered right per functionality, one bar per model."""
    functionalities = list(next(iter(models.values()))["functionalities"])
    height = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(12, 0.42 * len(functionalities) + 1.5))
    for position, (name, report) in enumerate(models.items()):
        rates = [report["functionalities"].get(f, {}).get("pass_rate", np.nan) for f in functionalities]
        ax.barh(np.arange(len(functionalities)) + position * height, rates, height, label=name)
    labels = [f"{f} ({'toxic' if models[next(iter(models))]['functionalities'][f]['label'] else 'not toxic'})"
              for f in functionalities]  # fmt: skip
    ax.set_yticks(np.arange(len(functionalities)) + 0.4 - height / 2, labels)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="share of cases answered right (toxic flagged, non-toxic not flagged)",
           title="Functional suite: pass rate per functionality")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)  # beside the bars, never over them
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_table_models(models: dict, results_dir: Path, fallback: list[str] | None = None) -> Path:
    """results_dir/functional.png for the docs table's models (or `fallback` where none is one): forty-odd
    candidates side by side would be unreadable; they stay in the JSON."""
    shown = table_models(models) or fallback or list(models)
    return plot({name: models[name] for name in shown}, results_dir / "functional.png")


def table_models(models: dict) -> list[str]:
    """The models the docs table shows (TABLE_MODELS, as served: no `+step` twins), weakest on the suite first."""
    names = [name for name in models if TABLE_MODELS.fullmatch(name)]
    return sorted(names, key=lambda name: models[name]["pass_rate"])


def markdown_table(models: dict, names: list[str]) -> str:
    """Per functionality, the share flagged by each named model (the goal beside it)."""
    names = [name for name in names if name in models]
    first = models[names[0]]["functionalities"]
    lines = ["| functionality | gold | goal | " + " | ".join(names) + " |",
             "|---|---|---|" + "---:|" * len(names)]  # fmt: skip
    for functionality, entry in first.items():
        cells = [f"{models[name]['functionalities'][functionality]['flagged_rate']:.0%}" for name in names]
        gold = "toxic" if entry["label"] else "not toxic"
        lines.append(f"| {functionality} | {gold} | {entry.get('goal', '')} | " + " | ".join(cells) + " |")
    for key, label in (("toxic_caught", "all toxic cases caught"), ("non_toxic_flagged", "all non-toxic flagged")):
        lines.append(f"| **{label}** | | | " + " | ".join(f"{models[n][key]:.0%}" for n in names) + " |")
    lines.append("| **goals met** | | | " + " | ".join(f"{models[n]['goals_met']} / {models[n]['goals']}"
                                                      for n in names) + " |")  # fmt: skip
    return "\n".join(lines)
