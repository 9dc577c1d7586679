"""Where the served ONNX graph spends its time: ONNX Runtime's profiler, per op type, on typical comments.

    python -m research.onnx_profile model --output results/onnx_profile.json [--threads 1]

A one-question tool of the lab: it answered how far the served path is from the int8 GEMM rate.
"""

import argparse
import json
from pathlib import Path

from toxiclf.data.splits import TEXT_COLUMN, load_splits
from toxiclf.evaluation.scores import typical_comments
from toxiclf.inference.onnx_backend import FINGERPRINT_FILE, FP32_FILE, INT8_FILE, build_onnx, cpu_session
from toxiclf.provenance import command_line, cpu_name, cpu_vector_flags


def profile_ops(model_dir: Path, texts: list[str], quantized: bool = True, threads: int | None = None) -> dict:
    """Where a one-text pass spends its time, scoring `texts` one at a time: tokenizing, the session's wall time
    and, from ONNX Runtime's profiler, the kernels' time per op type (milliseconds per comment and share).

    The wall time comes from a session without profiling, as served. A profiled twin gives the kernels' time and
    its own wall time: their difference is what a pass costs outside the kernels (dispatching nodes, allocating,
    waking threads; the profiler's own bookkeeping included, so this share is an upper bound).
    """
    from time import perf_counter

    import numpy as np
    from transformers import AutoTokenizer

    name = INT8_FILE if quantized else FP32_FILE
    graph = build_onnx(model_dir, needed=(name,)) / name  # a shipped folder carries its int8 graph: keep it
    plain, profiled = cpu_session(graph, threads), cpu_session(graph, threads, profile_prefix=graph.parent / "profile")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenize_ms, feeds = [], []
    for text in texts:
        start = perf_counter()
        encoded = tokenizer([text], truncation=True, max_length=128, return_tensors="np")
        tokenize_ms.append((perf_counter() - start) * 1000)
        feeds.append({k: encoded[k].astype("int64") for k in ("input_ids", "attention_mask")})

    # One session after the other: a session's idle threads spin for a while after each pass, and would take the
    # cores from the other's.
    def timed_passes(session) -> list[float]:
        times = []
        for feed in feeds:
            for _ in range(2):  # the first pass at a new length allocates: the served wall time is the second's
                start = perf_counter()
                session.run(["logits"], feed)
                times.append((perf_counter() - start) * 1000)
        return times

    run_ms = timed_passes(plain)[1::2]
    profiled_ms = timed_passes(profiled)  # every pass: the profile holds the kernels of each
    trace = Path(profiled.end_profiling())
    per_op: dict[str, float] = {}
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event["args"].get("op_name", "?")
            per_op[op] = per_op.get(op, 0.0) + event["dur"] / 1000
    trace.unlink()
    total = sum(per_op.values())
    kernel_ms, profiled_wall_ms = total / len(profiled_ms), float(np.mean(profiled_ms))
    ranked = sorted(per_op.items(), key=lambda item: -item[1])
    return {
        "comments": len(texts),
        "graph": graph.name,
        "threads": plain.get_session_options().intra_op_num_threads,
        "machine": {"cpu": cpu_name(), "cpu_vector_flags": cpu_vector_flags()},
        "tokens_median": int(np.median([feed["input_ids"].shape[1] for feed in feeds])),
        "tokenize_ms_per_comment": round(float(np.mean(tokenize_ms)), 3),
        "run_ms_per_comment": round(float(np.mean(run_ms)), 3),
        "run_ms_median": round(float(np.median(run_ms)), 3),
        "profiled_run_ms_per_comment": round(profiled_wall_ms, 3),
        "kernel_ms_per_comment": round(kernel_ms, 3),
        "outside_kernels_share": round(1 - kernel_ms / profiled_wall_ms, 3),
        "ops": [
            {"op": op, "ms_per_comment": round(ms / len(profiled_ms), 3), "share": round(ms / total, 3)}
            for op, ms in ranked
        ],  # fmt: skip
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="a model folder (its int8 graph is built if missing)")
    parser.add_argument("--output", type=Path, required=True, metavar="JSON", help="where the profile goes")
    parser.add_argument("--threads", type=int, help="intra-op threads (default: every core)")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    cache = build_onnx(args.model_dir, needed=(INT8_FILE,))
    texts = typical_comments(load_splits()["validation"][TEXT_COLUMN])
    result = profile_ops(args.model_dir, texts, threads=args.threads)
    recipe = json.loads((cache / FINGERPRINT_FILE).read_text())["export_version"]
    result.update(export_version=recipe, command=command_line("research.onnx_profile", argv))
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"per comment: tokenize {result['tokenize_ms_per_comment']} ms, run {result['run_ms_per_comment']} ms,"
          f" kernels {result['kernel_ms_per_comment']} ms")  # fmt: skip
    for row in result["ops"][:8]:
        print(f"{row['op']:<28} {row['ms_per_comment']:>8.3f} ms  {row['share']:>6.1%}")


if __name__ == "__main__":
    main()
