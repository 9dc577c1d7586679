"""Inference benchmark: every backend measured in one run on the same machine and the same comments."""

import platform

from sklearn.metrics import roc_auc_score

from .classifier import load_classifier
from .evaluation import measure_cost
from .provenance import device_info

# (name, which checkpoint, backend): the rows of the benchmark table, the reference first.
VARIANTS = (
    ("teacher, PyTorch fp32", "teacher", "torch"),
    ("student, PyTorch fp32", "student", "torch"),
    ("student, ONNX Runtime fp32", "student", "onnx-fp32"),
    ("student, ONNX Runtime int8", "student", "onnx-int8"),
)


def run_benchmark(checkpoints: dict, texts: list[str], labels, threads: int, batch_size: int = 32) -> dict:
    """Latency, throughput and ROC-AUC of each variant; ratios against the first (the PyTorch teacher)."""
    import torch

    torch.set_num_threads(threads)
    rows = []
    for name, which, backend in VARIANTS:
        if which not in checkpoints:
            continue
        extra = {"threads": threads} if backend.startswith("onnx") else {"device": "cpu"}
        classifier = load_classifier(checkpoints[which], backend, batch_size=batch_size, **extra)
        cost = measure_cost(classifier.scores, texts)
        scores = classifier.scores(texts, batch_size)
        rows.append({"variant": name, "checkpoint": str(checkpoints[which]), "backend": backend,
                     "roc_auc": float(roc_auc_score(labels, scores)), **cost})  # fmt: skip
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
        "variants": rows,
    }


def bench_markdown(bench: dict) -> str:
    lines = [
        "| variant | latency b=1 median / p95 (ms) | comments/s b=32 | × throughput | ROC-AUC |",
        "|---|---|---|---|---|",
    ]
    for r in bench["variants"]:
        lines.append(
            f"| {r['variant']} | {r['latency_ms_batch1_median']:.1f} / {r['latency_ms_batch1_p95']:.1f} | "
            f"{r['throughput_comments_per_s_batch32']:.0f} | {r['throughput_vs_reference']:.2f} | {r['roc_auc']:.4f} |"
        )
    lines.append(
        f"\n{bench['threads']} threads on {bench['machine']['cpu']}; "
        f"ROC-AUC on {bench['roc_auc_rows']:,} test comments; "
        f"× throughput is relative to the {bench['reference']}."
    )
    return "\n".join(lines) + "\n"
