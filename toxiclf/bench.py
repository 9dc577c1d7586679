"""Inference benchmark: every backend measured in one run on the same machine and the same comments."""

import platform

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from .classifier import load_classifier
from .evaluation import measure_cost
from .provenance import device_info

# (name, which checkpoint, backend, options): the rows of the benchmark table, the reference first.
VARIANTS = (
    ("teacher, PyTorch fp32", "teacher", "torch", {}),
    ("student, PyTorch fp32", "student", "torch", {}),
    ("student, ONNX Runtime fp32", "student", "onnx-fp32", {}),
    ("student, ONNX Runtime int8, one text per pass (served)", "student", "onnx-int8", {}),
    ("student, ONNX Runtime int8, batched (batch-dependent)", "student", "onnx-int8", {"per_text": False}),
)
FIDELITY_REFERENCE = "student, PyTorch fp32"
BATCH_PROBE_TEXTS = 256


def run_benchmark(checkpoints: dict, texts: list[str], labels, threads: int, batch_size: int = 32) -> dict:
    """Latency, throughput and ROC-AUC of each variant; ratios against the first (the PyTorch teacher)."""
    import torch

    torch.set_num_threads(threads)
    rows, student_scores = [], {}
    for name, which, backend, options in VARIANTS:
        if which not in checkpoints:
            continue
        extra = {"threads": threads, **options} if backend.startswith("onnx") else {"device": "cpu"}
        classifier = load_classifier(checkpoints[which], backend, need_threshold=False, batch_size=batch_size, **extra)
        cost = measure_cost(classifier.scores, texts)
        scores = classifier.scores(texts, batch_size)
        if which == "student":  # decisions at the stored threshold; 0.5 for a folder that stores none (a checkpoint)
            student_scores[name] = (scores, 0.5 if classifier.threshold is None else classifier.threshold)
        rows.append({"variant": name, "checkpoint": str(checkpoints[which]), "backend": backend,
                     "roc_auc": float(roc_auc_score(labels, scores)), **cost,
                     "batch_dependence_max_abs": batch_dependence(classifier, texts[:BATCH_PROBE_TEXTS])})  # fmt: skip
    for row in rows:
        if row["variant"] in student_scores and FIDELITY_REFERENCE in student_scores:
            row.update(fidelity(*student_scores[row["variant"]], *student_scores[FIDELITY_REFERENCE]))
    gemm = roofline(rows, checkpoints, texts, threads)
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
    }


def roofline(rows: list[dict], checkpoints: dict, texts: list[str], threads: int) -> dict:
    """This machine's int8 and fp32 matrix-multiply rates (toxiclf.roofline), and for each row the rate its model
    reaches at batch-32 throughput (multiply-accumulates of the timed comments, at their token lengths) and that
    rate's share of the large-GEMM rate of its precision: its efficiency."""
    import json

    from .classifier import folder_tokenizer
    from .evaluation import THROUGHPUT_COMMENTS
    from .roofline import machine_rates, macs_per_comment

    timed = texts[:THROUGHPUT_COMMENTS]
    per_model = {}
    for which, path in checkpoints.items():
        config = json.loads((path / "config.json").read_text())
        lengths = [len(e.ids) for e in folder_tokenizer(path, 128, config.get("pad_token_id")).encode_batch(timed)]
        per_model[which] = (config, lengths, float(np.mean([macs_per_comment(config, n) for n in lengths])))
    config, lengths, _ = per_model.get("student") or next(iter(per_model.values()))
    rates = machine_rates(config, int(np.median(lengths)), threads)
    peak = {kind: rates[f"{kind}_gmacs_per_s_512x{config['hidden_size']}x{config['intermediate_size']}"]
            for kind in ("int8", "fp32")}  # fmt: skip
    for row in rows:
        which = "teacher" if row["variant"].startswith("teacher") else "student"
        macs = per_model[which][2]
        achieved = row["throughput_comments_per_s_batch32"] * macs / 1e9
        kind = "int8" if row["backend"] == "onnx-int8" else "fp32"
        row.update(gmacs_per_comment=round(macs / 1e9, 3), achieved_gmacs_per_s=round(achieved, 1),
                   efficiency_vs_gemm=round(achieved / peak[kind], 3))  # fmt: skip
    return {**rates, "tokens_median": int(np.median(lengths)), "peak_used": peak}


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
        lines.append(
            f"| {r['variant']} | {r['latency_ms_batch1_median']:.1f} / {r['latency_ms_batch1_p95']:.1f} | "
            f"{r['throughput_comments_per_s_batch32']:.0f} | {r['throughput_vs_reference']:.2f} | {r['roc_auc']:.4f} | "
            f"{spearman} | {flipped} | {dependence} | {roof} |"
        )
    gemm = bench.get("gemm")
    if gemm:
        peak = gemm["peak_used"]
        lines.append(f"\nGEMM rates of this machine (ONNX Runtime, 512 rows × the feed-forward shape): int8 "
                     f"{peak['int8']:.1f} GMAC/s, fp32 {peak['fp32']:.1f} GMAC/s; a comment's multiply-accumulates "
                     f"are counted at its token length (median {gemm['tokens_median']}).")  # fmt: skip
    lines.append(
        f"\n{bench['threads']} threads on {bench['machine']['cpu']}; "
        f"ROC-AUC on {bench['roc_auc_rows']:,} test comments; "
        f"× throughput is relative to the {bench['reference']}."
    )
    return "\n".join(lines) + "\n"
