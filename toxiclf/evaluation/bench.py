"""Inference benchmark: every backend measured in one run on the same machine and the same comments.

Beside the project's own models it times two references of what users run instead: a network of Detoxify's size
(BERT-base: 12 layers of width 768, built from its configuration with random weights, so for speed only) in
PyTorch fp32 and in its own best CPU form (ONNX Runtime int8), and the TF-IDF baseline.
"""

import platform
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from ..inference.classifier import load_classifier
from ..paths import sha256_file, shown_path
from ..provenance import device_info
from .scores import measure_cost

SIZE_REFERENCE = "bert-base"
# BERT-base's shape (Detoxify's "original" model); tests swap in a smaller one.
SIZE_REFERENCE_CONFIG = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                         "intermediate_size": 3072}  # fmt: skip
# (name, which checkpoint, backend, options): the rows of the benchmark table, the reference first.
VARIANTS = (
    ("teacher, PyTorch fp32", "teacher", "torch", {}),
    ("student, PyTorch fp32", "student", "torch", {}),
    ("student, ONNX Runtime fp32", "student", "onnx-fp32", {}),
    ("student, ONNX Runtime int8, one text per pass (served)", "student", "onnx-int8", {}),
    # the served path before lists were scored by one-thread passes side by side (the thread layout alone)
    ("student, ONNX Runtime int8, one 2-thread pass at a time", "student", "onnx-int8", {"parallel_passes": 1}),
    # the served path before: the same, on the graph of the recipe before (residual LayerNorm fused)
    (
        "student, ONNX Runtime int8 as served before (skip-LayerNorm fused, one 2-thread pass at a time)",
        "student-before",
        "onnx-int8",
        {"parallel_passes": 1},
    ),
    ("student, ONNX Runtime int8, batched (batch-dependent)", "student", "onnx-int8", {"per_text": False}),
    # the shipped fast tier (a 3-layer student, model-fast/) as it is served: its own folder's steps and graph
    ("fast tier (3 layers), ONNX Runtime int8, one text per pass (as served)", "fast", "onnx-int8", {}),
    ("BERT-base size (speed only), PyTorch fp32", SIZE_REFERENCE, "torch", {}),
    ("BERT-base size (speed only), ONNX Runtime int8", SIZE_REFERENCE, "onnx-int8", {}),
)
SERVED, BEFORE, FAST_SERVED = VARIANTS[3][0], VARIANTS[5][0], VARIANTS[7][0]
TFIDF_VARIANT = "TF-IDF + logistic regression (scikit-learn)"
FIDELITY_REFERENCE = "student, PyTorch fp32"
BATCH_PROBE_TEXTS = 256
THROUGHPUT_REPEATS = 5  # one pass over 256 comments takes under a second on the fast rows: take the median of 5


def run_benchmark(checkpoints: dict, texts: list[str], labels, threads: int, batch_size: int = 32,
                  tfidf=None) -> dict:  # fmt: skip
    """Latency, throughput and ROC-AUC of each variant; ratios against the first (the PyTorch teacher, or without
    one the student in PyTorch). A BERT-base-sized network is built for its rows (speed only), and the student's
    graph as the recipe before built it; `tfidf`, a fitted TfidfBaseline, adds its row."""
    import torch

    torch.set_num_threads(threads)
    rows, student_scores, timed_weights = [], {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        student = checkpoints["student"]
        checkpoints = {**checkpoints, SIZE_REFERENCE: size_reference(Path(scratch), student),
                       "student-before": graph_before(Path(scratch) / "student-before", student)}  # fmt: skip
        for name, which, backend, options in VARIANTS:
            if which not in checkpoints:
                continue
            extra = {"threads": threads, **options} if backend.startswith("onnx") else {"device": "cpu"}
            classifier = load_classifier(checkpoints[which], backend, need_threshold=False, batch_size=batch_size,
                                         **extra)  # fmt: skip
            shown = describe_checkpoint(which, checkpoints[which], student)
            row = {"variant": name, "checkpoint": shown, "backend": backend,
                   **measure_cost(classifier.scores, texts, THROUGHPUT_REPEATS)}  # fmt: skip
            if which != SIZE_REFERENCE:  # random weights: its scores mean nothing
                # which weights were timed, as every results file says: a folder's name outlives its weights
                if which not in timed_weights:  # hashed once per folder, not once per row
                    weights = checkpoints[which] / "model.safetensors"
                    timed_weights[which] = sha256_file(weights) if weights.exists() else None
                row["model_sha256"] = timed_weights[which]
                scores = classifier.scores(texts, batch_size)
                if which.startswith("student"):  # decisions at the stored threshold; 0.5 for a folder without one
                    student_scores[name] = (scores, 0.5 if classifier.threshold is None else classifier.threshold)
                dependence = batch_dependence(classifier, texts[:BATCH_PROBE_TEXTS])
                row.update(roc_auc=float(roc_auc_score(labels, scores)), batch_dependence_max_abs=dependence)
            rows.append({"model": which, **row})
        gemm = roofline(rows, checkpoints, texts, threads)
    for row in rows:
        if row["variant"] in student_scores and FIDELITY_REFERENCE in student_scores:
            row.update(fidelity(*student_scores[row["variant"]], *student_scores[FIDELITY_REFERENCE]))
    if tfidf is not None:  # speed only: fitted on a subset (`fitted_rows`) to keep the benchmark short
        rows.append({"variant": TFIDF_VARIANT, "model": "tfidf-logreg", "backend": "scikit-learn",
                     "checkpoint": f"fitted on {tfidf.fitted_rows:,} training comments",
                     **measure_cost(tfidf.scores, texts, THROUGHPUT_REPEATS)})  # fmt: skip
    reference = rows[0]
    for row in rows:
        row["throughput_vs_reference"] = round(
            row["throughput_comments_per_s_batch32"] / reference["throughput_comments_per_s_batch32"], 2
        )
        row["latency_speedup_vs_reference"] = round(
            reference["latency_ms_batch1_median"] / row["latency_ms_batch1_median"], 2
        )
    return {
        "reference": reference["variant"],
        "threads": threads,
        "machine": {**device_info(), "python": platform.python_version()},
        "roc_auc_rows": len(texts),
        "gemm": gemm,
        "variants": rows,
        "served_vs": served_ratios(rows),
    }


def describe_checkpoint(which: str, path: Path, student: Path) -> str:
    """What a row ran, as the results file records it: paths relative to the repository, and no scratch folder."""
    from ..inference.onnx_backend import FUSED_SKIP_LAYER_NORM_RECIPE

    if which == SIZE_REFERENCE:
        return f"built from BERT-base's configuration ({SIZE_REFERENCE_CONFIG})"
    if which == "student-before":
        return f"{shown_path(student)}, its int8 graph built by export recipe {FUSED_SKIP_LAYER_NORM_RECIPE}"
    return shown_path(path)


def served_ratios(rows: list[dict]) -> dict:
    """The served path's comments/s and batch-1 p95 against the other rows measured in this run."""
    by_name = {row["variant"]: row for row in rows}
    served = by_name.get(SERVED)
    if served is None:
        return {}
    rate = served["throughput_comments_per_s_batch32"]
    return {
        name: {"throughput_ratio": round(rate / row["throughput_comments_per_s_batch32"], 2),
               "p95_ratio": round(served["latency_ms_batch1_p95"] / row["latency_ms_batch1_p95"], 2)}
        for name, row in by_name.items() if name != SERVED
    }  # fmt: skip


def graph_before(folder: Path, student: Path) -> Path:
    """A copy of the student whose int8 graph is built by the recipe served before (residual LayerNorm fused)."""
    import shutil

    from ..inference.onnx_backend import CACHE_SUBDIR, FUSED_SKIP_LAYER_NORM_RECIPE, build_onnx

    shutil.copytree(student, folder, ignore=shutil.ignore_patterns(CACHE_SUBDIR))
    build_onnx(folder, force=True, recipe=FUSED_SKIP_LAYER_NORM_RECIPE)
    return folder


def size_reference(folder: Path, student: Path) -> Path:
    """A BERT-base-sized classifier with random weights (seeded) and the student's tokenizer (the same 30,522-word
    uncased vocabulary as BERT-base): the speed of a model of Detoxify's size, nothing about its quality."""
    import json
    import shutil

    import torch
    from transformers import BertConfig, BertForSequenceClassification

    student_config = json.loads((student / "config.json").read_text())
    config = BertConfig(vocab_size=student_config["vocab_size"], num_labels=2, **SIZE_REFERENCE_CONFIG)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (student / name).exists():
            shutil.copy(student / name, folder / name)
    return folder


def roofline(rows: list[dict], checkpoints: dict, texts: list[str], threads: int) -> dict:
    """This machine's int8 and fp32 matrix-multiply rates (toxiclf.evaluation.roofline), and for each row the rate
    its model
    reaches at batch-32 throughput (multiply-accumulates of the timed comments, at their token lengths) and that
    rate's share of the large-GEMM rate of its precision: its efficiency."""
    import json

    from .roofline import machine_rates, macs_per_comment
    from .scores import THROUGHPUT_COMMENTS

    timed = texts[:THROUGHPUT_COMMENTS]
    per_model = {}
    for which, path in checkpoints.items():
        config = json.loads((path / "config.json").read_text())
        lengths = token_lengths(path, config, timed)
        per_model[which] = (config, lengths, float(np.mean([macs_per_comment(config, n) for n in lengths])))
    config, lengths, _ = per_model.get("student") or next(iter(per_model.values()))
    rates = machine_rates(config, int(np.median(lengths)), threads)
    peak = {kind: rates[f"{kind}_gmacs_per_s_512x{config['hidden_size']}x{config['intermediate_size']}"]
            for kind in ("int8", "fp32")}  # fmt: skip
    for row in rows:
        if row["model"] not in per_model:
            continue
        macs = per_model[row["model"]][2]
        achieved = row["throughput_comments_per_s_batch32"] * macs / 1e9
        kind = "int8" if row["backend"] == "onnx-int8" else "fp32"
        row.update(gmacs_per_comment=round(macs / 1e9, 3), achieved_gmacs_per_s=round(achieved, 1),
                   efficiency_vs_gemm=round(achieved / peak[kind], 3))  # fmt: skip
    return {**rates, "tokens_median": int(np.median(lengths)), "peak_used": peak}


def token_lengths(model_dir: Path, config: dict, texts: list[str]) -> list[int]:
    """Each text's tokens as the model sees it alone (truncated to 128, without the padding a batch would add)."""
    from ..inference.classifier import folder_tokenizer

    encodings = folder_tokenizer(model_dir, 128, config.get("pad_token_id")).encode_batch(texts)
    return [int(sum(e.attention_mask)) for e in encodings]


def batch_dependence(classifier, texts: list[str]) -> float:
    """Largest change of a text's score between scoring it alone and in length-sorted batches of 32."""
    alone = np.array([classifier.scores([text], 1)[0] for text in texts])
    return float(np.abs(classifier.scores(texts, 32) - alone).max())


def fidelity(scores, threshold, reference_scores, reference_threshold) -> dict:
    """How close a variant's scores and decisions are to the fp32 reference's, each at its own threshold."""
    flipped = (scores >= threshold) != (reference_scores >= reference_threshold)
    return {
        "spearman_vs_fp32": float(spearmanr(scores, reference_scores).statistic),
        "max_abs_score_diff_vs_fp32": float(np.abs(scores - reference_scores).max()),
        "decisions_flipped_vs_fp32": int(flipped.sum()),
        "threshold": float(threshold),
    }


def bench_markdown(bench: dict) -> str:
    lines = [
        "| variant | latency b=1 median / p95 (ms) | comments/s b=32 | × throughput | ROC-AUC | Spearman vs fp32 | "
        "decisions flipped | batch dependence | GMAC/s (share of GEMM) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in bench["variants"]:
        spearman = f"{r['spearman_vs_fp32']:.4f}" if "spearman_vs_fp32" in r else "–"
        flipped = str(r["decisions_flipped_vs_fp32"]) if "decisions_flipped_vs_fp32" in r else "–"
        dependence = f"{r['batch_dependence_max_abs']:.1e}" if "batch_dependence_max_abs" in r else "–"
        roof = f"{r['achieved_gmacs_per_s']:.1f} ({r['efficiency_vs_gemm']:.0%})" if "efficiency_vs_gemm" in r else "–"
        auc = f"{r['roc_auc']:.4f}" if "roc_auc" in r else "– (speed only)"
        lines.append(
            f"| {r['variant']} | {r['latency_ms_batch1_median']:.1f} / {r['latency_ms_batch1_p95']:.1f} | "
            f"{r['throughput_comments_per_s_batch32']:.0f} | {r['throughput_vs_reference']:.2f} | {auc} | "
            f"{spearman} | {flipped} | {dependence} | {roof} |"
        )
    gemm = bench.get("gemm")
    if gemm:
        peak = gemm["peak_used"]
        lines.append(f"\nGEMM rates of this machine (ONNX Runtime, 512 rows × the feed-forward shape): int8 "
                     f"{peak['int8']:.1f} GMAC/s, fp32 {peak['fp32']:.1f} GMAC/s; a comment's multiply-accumulates "
                     f"are counted at its token length (median {gemm['tokens_median']}).")  # fmt: skip
    served = bench.get("served_vs", {})
    if served:
        lines.append("\nThe served path against the other rows of this run: "
                     + "; ".join(f"{ratios['throughput_ratio']:.2f}× the comments/s of {name} (p95 ×"
                                 f"{ratios['p95_ratio']:.2f})" for name, ratios in served.items()) + ".")  # fmt: skip
    lines.append(
        f"\n{bench['threads']} threads on {bench['machine']['cpu']}; "
        f"ROC-AUC on {bench['roc_auc_rows']:,} test comments; "
        f"× throughput is relative to the {bench['reference']}."
    )
    return "\n".join(lines) + "\n"
