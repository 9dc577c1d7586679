"""ONNX Runtime backend: export a checkpoint once, quantize it to int8 (per channel), cache it next to the checkpoint.

    python -m toxiclf.onnx_backend model/          # build (or reuse) model/onnx/model.int8.onnx

The cache holds a fingerprint of the checkpoint's files and checksums of the files it built: a changed checkpoint,
or a corrupt cached file, is exported again.
"""

import argparse
import json
import logging
import os
import shutil
from pathlib import Path

from .paths import sha256_file

logger = logging.getLogger(__name__)

CACHE_SUBDIR = "onnx"
FP32_FILE, INT8_FILE, FINGERPRINT_FILE = "model.onnx", "model.int8.onnx", "fingerprint.json"
# Bump when the export or quantization recipe changes, so that caches are rebuilt.
EXPORT_VERSION = 4
OPSET = 17
SOURCE_FILES = ("config.json", "model.safetensors")


def fingerprint(model_dir: Path) -> dict:
    """sha256 of the files that define the network, plus the recipe version."""
    digests = {name: sha256_file(model_dir / name) for name in SOURCE_FILES}
    return {"export_version": EXPORT_VERSION, "opset": OPSET, "files": digests}


def export_fp32(model_dir: Path, target: Path) -> None:
    """torch -> ONNX with dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModelForSequenceClassification

    # eager attention exports to plain MatMul/Softmax nodes that ONNX Runtime's optimizer fuses and quantizes.
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    sample = torch.tensor([[model.config.pad_token_id or 0] * 8, [1] * 8])
    axes = {"batch": 0, "sequence": 1}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample, torch.ones_like(sample)),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {v: k for k, v in axes.items()},
                "attention_mask": {v: k for k, v in axes.items()},
                "logits": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no extra packages and handles BERT well
        )


def fuse_transformer_ops(path: Path, config) -> None:
    """Fuse attention, GELU and skip-LayerNorm subgraphs into ONNX Runtime's fast CPU kernels, in place."""
    from onnxruntime.transformers import optimizer

    if config.model_type not in ("bert", "roberta", "xlm-roberta", "distilbert"):
        return  # the fusions are written for BERT-like graphs; others run unfused
    fused = optimizer.optimize_model(
        str(path), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
    )
    fused.save_model_to_file(str(path))


def quantize_int8(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 quantization: weights per output channel, activations on the fly per forward pass.

    Per-channel weight scales keep the scores close to fp32 (one scale per tensor moved some scores by 0.5 on
    validation comments); the classifier runs one text per pass, so the activation scales, and the score,
    depend on the text alone.

    Weights use 7 bits (|w| <= 64): CPUs without VNNI (AVX2 only) add pairs of u8 x s8 products into int16, which
    saturates with 8-bit weights (255 * 127 * 2 > 32,767) and moved shipped scores by up to 0.39 there; with 7 bits
    (255 * 64 * 2 = 32,640) every CPU computes the same score.
    """
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32_path),
        str(int8_path),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        # The fused Attention and the embedding table (EmbedLayerNormalization / Gather: 47k x 384, 4x smaller)
        # are quantized too, not only the plain MatMuls.
        op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization", "Gather"],
        # The fused ops come from the com.microsoft domain, where shape inference gives no type: they are float.
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def cache_folder(model_dir: Path, wanted: dict, needed=(FP32_FILE, INT8_FILE)) -> Path:
    """`<model>/onnx` when it holds what is needed (a shipped model carries its int8 graph) or can be written; else
    a folder in the user cache (a read-only model folder, e.g. an installed package)."""
    if os.access(model_dir, os.W_OK) or cache_is_intact(model_dir / CACHE_SUBDIR, wanted, needed):
        return model_dir / CACHE_SUBDIR
    from .paths import cache_dir

    return cache_dir() / CACHE_SUBDIR / wanted["files"]["model.safetensors"][:16]


def cache_is_intact(cache: Path, wanted: dict, needed=(FP32_FILE, INT8_FILE)) -> bool:
    """The cache was built from these source files by this recipe, and the needed ONNX files are what was built
    (a shipped model folder carries the int8 graph only: the fp32 one is rebuilt where it is asked for)."""
    stored_path = cache / FINGERPRINT_FILE
    try:
        stored = json.loads(stored_path.read_text())
    except (OSError, ValueError):
        return False
    if {k: v for k, v in stored.items() if k != "built"} != wanted:
        return False
    built = stored.get("built", {})
    for name in needed:
        if name not in built or not (cache / name).exists():
            return False
        if sha256_file(cache / name) != built[name]:
            logger.warning(
                "%s does not match its recorded checksum (corrupt?); rebuilding the ONNX files", cache / name
            )
            return False
    return True


def build_onnx(model_dir: Path, force: bool = False, needed=(FP32_FILE, INT8_FILE)) -> Path:
    """The cache folder with the `needed` ONNX files for `model_dir`; both are built (PyTorch, transformers and
    onnx needed) if one is missing or stale."""
    model_dir = Path(model_dir)
    wanted = fingerprint(model_dir)
    cache = cache_folder(model_dir, wanted, needed)
    if not force and cache_is_intact(cache, wanted, needed):
        return cache
    from transformers import AutoConfig

    logger.info("Exporting %s to ONNX (fp32 and int8) in %s", model_dir, cache)
    partial = cache.with_name(cache.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        export_fp32(model_dir, partial / FP32_FILE)
        fuse_transformer_ops(partial / FP32_FILE, AutoConfig.from_pretrained(model_dir))
        quantize_int8(partial / FP32_FILE, partial / INT8_FILE)
        built = {name: sha256_file(partial / name) for name in (FP32_FILE, INT8_FILE)}
        (partial / FINGERPRINT_FILE).write_text(json.dumps({**wanted, "built": built}, indent=2) + "\n")
    except BaseException:  # a failed export leaves nothing behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(cache, ignore_errors=True)
    os.replace(partial, cache)
    return cache


def cpu_session(path: Path, threads: int | None = None, profile_prefix: Path | None = None):
    """An ONNX Runtime CPU session with every graph optimization and `threads` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = str(profile_prefix)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def profile_ops(model_dir: Path, texts: list[str], quantized: bool = True, threads: int | None = None) -> dict:
    """Where ONNX Runtime spends its time scoring `texts` one at a time: milliseconds and share per op type."""
    from transformers import AutoTokenizer

    cache = build_onnx(model_dir)
    session = cpu_session(cache / (INT8_FILE if quantized else FP32_FILE), threads, profile_prefix=cache / "profile")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for text in texts:
        encoded = tokenizer([text], truncation=True, max_length=128, return_tensors="np")
        session.run(["logits"], {k: encoded[k].astype("int64") for k in ("input_ids", "attention_mask")})
    trace = Path(session.end_profiling())
    per_op: dict[str, float] = {}
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event["args"].get("op_name", "?")
            per_op[op] = per_op.get(op, 0.0) + event["dur"] / 1000
    trace.unlink()
    total = sum(per_op.values())
    ranked = sorted(per_op.items(), key=lambda item: -item[1])
    return {
        "comments": len(texts),
        "kernel_ms_per_comment": round(total / len(texts), 3),
        "ops": [
            {"op": op, "ms_per_comment": round(ms / len(texts), 3), "share": round(ms / total, 3)} for op, ms in ranked
        ],  # fmt: skip
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="checkpoint folder (config.json + model.safetensors)")
    parser.add_argument("--force", action="store_true", help="export even if the cache is current")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="JSON",
        help="also profile int8 batch-1 scoring of 50 typical validation comments into this file",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if not all((args.model_dir / name).exists() for name in SOURCE_FILES):
        raise SystemExit(f"error: {args.model_dir} has no {' and '.join(SOURCE_FILES)}")
    cache = build_onnx(args.model_dir, force=args.force)
    for name in (FP32_FILE, INT8_FILE):
        print(f"{cache / name}  {(cache / name).stat().st_size / 1e6:.1f} MB")
    if args.profile:
        from .data import TEXT_COLUMN, load_splits
        from .evaluation import typical_comments

        texts = typical_comments(load_splits()["validation"][TEXT_COLUMN])
        result = profile_ops(args.model_dir, texts)
        args.profile.write_text(json.dumps(result, indent=2) + "\n")
        for row in result["ops"][:8]:
            print(f"{row['op']:<28} {row['ms_per_comment']:>8.3f} ms  {row['share']:>6.1%}")


if __name__ == "__main__":
    main()
