"""ONNX Runtime backend: export a checkpoint once, quantize it to int8 (per channel), cache it next to the checkpoint.

    python -m toxiclf.inference.onnx_backend model/          # build (or reuse) model/onnx/model.int8.onnx

The cache holds a fingerprint of the checkpoint's files and checksums of the files it built: a changed checkpoint,
or a corrupt cached file, is exported again.
"""

import argparse
import json
import logging
import os
import shutil
from pathlib import Path

from ..paths import sha256_file
from .model_folder import ModelFolder

logger = logging.getLogger(__name__)

# The folder format names them (toxiclf.inference.model_folder); kept here under the names the cache's users import.
CACHE_SUBDIR = ModelFolder.ONNX_DIR
FP32_FILE, INT8_FILE, FINGERPRINT_FILE = ModelFolder.FP32_GRAPH, ModelFolder.INT8_GRAPH, ModelFolder.ONNX_FINGERPRINT
# Bump when the export or quantization recipe changes, so that caches are rebuilt. 5: skip-LayerNorm left unfused
# (ONNX Runtime's fused CPU kernel took 5x the time of Add + LayerNormalization on a comment's 50 x 384).
EXPORT_VERSION = 5
# A graph of an older recipe from this one on scores correctly, only slower (recipe 4: 7-bit weights, fused
# skip-LayerNorm): a folder that carries one keeps it with the thresholds and canaries fitted to it. Older ones
# (8-bit weights, which overflow on CPUs without VNNI) are rebuilt.
OLDEST_KEPT_EXPORT_VERSION = 4
FUSED_SKIP_LAYER_NORM_RECIPE = 4  # the last recipe that fused residual Add + LayerNorm (measured against)
OPSET = 17
SOURCE_FILES = (ModelFolder.CONFIG, ModelFolder.WEIGHTS)


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


def fuse_transformer_ops(path: Path, config, skip_layer_norm: bool = False) -> None:
    """Fuse attention, GELU and embedding subgraphs into ONNX Runtime's fast CPU kernels, in place.

    Residual adds and their LayerNorm stay apart unless `skip_layer_norm` (recipe 4, kept to be measured against):
    the fused SkipLayerNormalization kernel ran 5x slower than Add + LayerNormalization on a comment's shape
    (1 x 50 x 384, one thread), and was a quarter of a pass.
    """
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    if config.model_type not in ("bert", "roberta", "xlm-roberta", "distilbert"):
        return  # the fusions are written for BERT-like graphs; others run unfused
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = skip_layer_norm
    fused = optimizer.optimize_model(
        str(path),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        optimization_options=options,
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
    from ..paths import cache_dir

    return cache_dir() / CACHE_SUBDIR / wanted["files"][ModelFolder.WEIGHTS][:16]


def cache_is_intact(cache: Path, wanted: dict, needed=(FP32_FILE, INT8_FILE)) -> bool:
    """The cache was built from these source files by this recipe, and the needed ONNX files are what was built
    (a shipped model folder carries the int8 graph only: the fp32 one is rebuilt where it is asked for)."""
    stored_path = cache / FINGERPRINT_FILE
    try:
        stored = json.loads(stored_path.read_text())
    except (OSError, ValueError):
        return False
    recipe = stored.get("export_version", 0)
    if not OLDEST_KEPT_EXPORT_VERSION <= recipe <= EXPORT_VERSION or not same_source(stored, wanted):
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


def same_source(stored: dict, wanted: dict) -> bool:
    """The same checkpoint files and opset, whatever kept recipe built the graph."""
    ignored = ("built", "export_version")
    return {k: v for k, v in stored.items() if k not in ignored} == {
        k: v for k, v in wanted.items() if k not in ignored
    }


def build_onnx(
    model_dir: Path, force: bool = False, needed=(FP32_FILE, INT8_FILE), recipe: int = EXPORT_VERSION
) -> Path:
    """The cache folder with the `needed` ONNX files for `model_dir`; both are built (PyTorch, transformers and
    onnx needed) if one is missing or stale. `recipe` FUSED_SKIP_LAYER_NORM_RECIPE builds the graph as served
    before (with `force`: the benchmarks measure the step against it)."""
    if not OLDEST_KEPT_EXPORT_VERSION <= recipe <= EXPORT_VERSION:
        raise ValueError(f"no export recipe {recipe}: {OLDEST_KEPT_EXPORT_VERSION} to {EXPORT_VERSION}")
    model_dir = Path(model_dir)
    wanted = {**fingerprint(model_dir), "export_version": recipe}
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
        fuse_transformer_ops(
            partial / FP32_FILE,
            AutoConfig.from_pretrained(model_dir),
            skip_layer_norm=recipe <= FUSED_SKIP_LAYER_NORM_RECIPE,
        )
        quantize_int8(partial / FP32_FILE, partial / INT8_FILE)
        built = {name: sha256_file(partial / name) for name in (FP32_FILE, INT8_FILE)}
        (partial / FINGERPRINT_FILE).write_text(json.dumps({**wanted, "built": built}, indent=2) + "\n")
    except BaseException:  # a failed export leaves nothing behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    # The built files replace their namesakes one by one: any other file in the cache folder is someone else's and
    # stays (the whole folder was once deleted, whatever it held, when its fingerprint was missing).
    cache.mkdir(parents=True, exist_ok=True)
    for name in (FP32_FILE, INT8_FILE, FINGERPRINT_FILE):  # the fingerprint last: it vouches for the graphs
        os.replace(partial / name, cache / name)
    shutil.rmtree(partial, ignore_errors=True)
    return cache


def cpu_session(path: Path | bytes, threads: int | None = None, profile_prefix: Path | None = None):
    """An ONNX Runtime CPU session with every graph optimization and `threads` intra-op threads, of a graph file or
    of a graph's bytes (the classifier's, read and checked once)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = str(profile_prefix)
    # The session would fuse the residual Add + LayerNormalization that the export keeps apart (fuse_transformer_ops).
    return ort.InferenceSession(
        path if isinstance(path, bytes) else str(path),
        options,
        providers=["CPUExecutionProvider"],
        disabled_optimizers=["SkipLayerNormFusion"],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="checkpoint folder (config.json + model.safetensors)")
    parser.add_argument("--force", action="store_true", help="export even if the cache is current")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if not all((args.model_dir / name).exists() for name in SOURCE_FILES):
        raise SystemExit(f"error: {args.model_dir} has no {' and '.join(SOURCE_FILES)}")
    # The served graph is what is asked for: a shipped folder carries it alone, and keeps it (its canaries and
    # thresholds were fitted to it). A build writes the fp32 graph beside it.
    cache = build_onnx(args.model_dir, force=args.force, needed=(INT8_FILE,))
    for name in (FP32_FILE, INT8_FILE):
        if (cache / name).exists():
            print(f"{cache / name}  {(cache / name).stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
