"""Can bulk scoring batch? Dynamic against static (QDQ) int8 quantization, in one run -> results/quantization.json.

    python scripts/quantization_bench.py --update-readme      # the shipped model, 1,000 validation comments

The served graph quantizes activations on the fly, one scale per forward pass: a text's score then depends on the
texts beside it, so it is scored alone (one text per pass). A static graph fixes every activation scale from
calibration texts, so batching would leave each score unchanged, and length-sorted batches of similar texts could
be faster. This measures, for the fp32 graph, the served dynamic int8 graph and a static int8 graph (QDQ,
per-channel weights, min-max calibration on validation comments that are not timed): comments/s one text per pass
and in length-sorted batches of 32, the largest score change between the two (batch dependence), and Spearman
against fp32. The batched path is kept only if it is faster *and* batch-independent. Beside them, the served
graph as it was built before (recipe 4: residual Add and LayerNorm fused into SkipLayerNormalization), to measure
that step. Texts are the validation split's (the test split is read by run_eval.py alone); the model folder is
copied, never written.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the lab (research/) lives beside the package

from research.report import replace_doc_section
from toxiclf.data.splits import TEXT_COLUMN, load_splits
from toxiclf.evaluation.bench import graph_before
from toxiclf.inference.classifier import encoded, folder_tokenizer
from toxiclf.inference.onnx_backend import CACHE_SUBDIR, FP32_FILE, INT8_FILE, build_onnx, cpu_session
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR, shown_path
from toxiclf.provenance import cpu_name, cpu_vector_flags, git_commit, library_versions

BATCH = 32


def quantize_static_qdq(fp32: Path, target: Path, calibration_feeds: list[dict]) -> None:
    """Static int8 in QDQ form: per-channel int8 weights, activation scales fixed from the calibration feeds."""
    from onnx import TensorProto
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Feeds(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(calibration_feeds)

        def get_next(self):
            return next(self.feeds, None)

    quantize_static(str(fp32), str(target), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QInt8,
                    op_types_to_quantize=["MatMul", "Gather", "EmbedLayerNormalization"],
                    calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"DefaultTensorType": TensorProto.FLOAT})  # fmt: skip


def encoder(model_dir: Path):
    config = json.loads((model_dir / "config.json").read_text())
    tokenizer = folder_tokenizer(model_dir, 128, config.get("pad_token_id"))

    return tokenizer, lambda texts: encoded(tokenizer, texts)  # padded to the longest of these texts


def margins(session, feeds: list[dict]) -> np.ndarray:
    logits = np.concatenate([session.run(["logits"], feed)[0] for feed in feeds])
    return logits[:, 1] - logits[:, 0]


def measure(graph: Path, texts: list[str], feed, order: np.ndarray, threads: int) -> dict:
    """Comments/s and margins one text per pass and in length-sorted batches (feeds built before timing)."""
    session = cpu_session(graph, threads)
    alone_feeds = [feed([text]) for text in texts]
    batches = [order[start : start + BATCH] for start in range(0, len(texts), BATCH)]
    batch_feeds = [feed([texts[i] for i in batch]) for batch in batches]
    margins(session, alone_feeds[:16])  # warm-up
    started = time.perf_counter()
    alone = margins(session, alone_feeds)
    alone_rate = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    batched_in_order = margins(session, batch_feeds)
    batched_rate = len(texts) / (time.perf_counter() - started)
    batched = np.empty(len(texts))
    batched[np.concatenate(batches)] = batched_in_order
    return {"alone": alone, "batched": batched, "alone_rate": alone_rate, "batched_rate": batched_rate}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR)
    parser.add_argument("--dataset", default="embedded", help="the data whose validation split is used")
    parser.add_argument("--comments", type=int, default=1000, help="validation comments timed and compared")
    parser.add_argument("--calibration", type=int, default=300, help="other validation comments for the scales")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--update-readme", action="store_true", help="rewrite the docs section `quantization`")
    args = parser.parse_args(argv)
    if not (args.model / "config.json").exists():
        sys.exit(f"error: {args.model} holds no model (no config.json)")
    validation = list(load_splits(args.dataset)["validation"][TEXT_COLUMN])
    if len(validation) < args.comments + args.calibration:
        sys.exit(f"error: the validation split has {len(validation)} comments, fewer than asked for")
    texts, calibration = validation[: args.comments], validation[-args.calibration :]
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / "model"
        shutil.copytree(args.model, model, ignore=shutil.ignore_patterns("onnx"))
        cache = build_onnx(model)
        tokenizer, feed = encoder(model)
        static = cache / "model.static-qdq.onnx"
        quantize_static_qdq(cache / FP32_FILE, static, [feed([text]) for text in calibration])
        order = np.argsort([len(e.ids) for e in tokenizer.encode_batch(texts)], kind="stable")
        fused_skip = graph_before(Path(scratch) / "recipe-4", model) / CACHE_SUBDIR / INT8_FILE
        graphs = {"fp32": cache / FP32_FILE, "dynamic int8 (served)": cache / INT8_FILE, "static int8 (QDQ)": static,
                  "dynamic int8, skip-LayerNorm fused (recipe 4)": fused_skip}  # fmt: skip
        measured = {name: measure(path, texts, feed, order, args.threads) for name, path in graphs.items()}
    reference = measured["fp32"]["alone"]
    rows = []
    for name, m in measured.items():
        rows.append({"graph": name, "comments_per_s_one_per_pass": round(m["alone_rate"], 1),
                     "comments_per_s_batched": round(m["batched_rate"], 1),
                     "batch_dependence_max_abs_margin": float(np.abs(m["batched"] - m["alone"]).max()),
                     "spearman_vs_fp32": float(spearmanr(m["alone"], reference).statistic)})  # fmt: skip
    served = rows[1]["comments_per_s_one_per_pass"]
    for row in rows:
        row["one_per_pass_vs_served"] = round(row["comments_per_s_one_per_pass"] / served, 2)
        row["batched_vs_served"] = round(row["comments_per_s_batched"] / served, 2)
    result = {"model": shown_path(args.model), "comments": args.comments, "calibration_comments": args.calibration,
              "batch": BATCH, "threads": args.threads, "machine": cpu_name(),
              "cpu_vector_flags": cpu_vector_flags(), "rows": rows,
              "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "git_commit": git_commit(),
              "libraries": library_versions(), "command": "python scripts/quantization_bench.py " + " ".join(
                  argv if argv is not None else sys.argv[1:])}  # fmt: skip
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "quantization.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    if args.update_readme:
        replace_doc_section("quantization", table)
    print(table)
    return 0


def markdown(result: dict) -> str:
    lines = ["| graph | comments/s, one per pass | comments/s, batches of 32 | batch dependence (max Δ margin) | "
             "Spearman vs fp32 |", "|---|---|---|---|---|"]  # fmt: skip
    for r in result["rows"]:
        lines.append(f"| {r['graph']} | {r['comments_per_s_one_per_pass']:.0f} ({r['one_per_pass_vs_served']:.2f}×) | "
                     f"{r['comments_per_s_batched']:.0f} ({r['batched_vs_served']:.2f}×) | "
                     f"{r['batch_dependence_max_abs_margin']:.1e} | {r['spearman_vs_fp32']:.4f} |")  # fmt: skip
    lines.append(f"\n{result['comments']:,} validation comments, {result['threads']} threads on {result['machine']}; "
                 f"× is against the served graph one text per pass (`{result['command']}`).")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
