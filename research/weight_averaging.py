"""Weight-space interpolation of a model and its fine-tuned copy (WiSE-FT, Wortsman et al. 2022).

A model fine-tuned further on a narrow mix (here: the shipped model on templated robustness sentences, spelling
noise and a subset of the training comments) gains what the mix teaches and loses some in-domain ranking. The
straight line between the two sets of weights, θ = (1 − α)·θ_base + α·θ_tuned, often keeps most of both: α is
chosen on the validation split and the functional suite like any other setting.

    python -m research.weight_averaging --base model --tuned outputs/minilm-l6-robust --alpha 0.5 \
        --output outputs/minilm-l6-robust-wise50

`--only REGEX` mixes the tensors whose names match and leaves the others as the tuned model has them: it asks
where in the network what one model knows and the other lacks lives (the embeddings and lower layers, say).
"""

import argparse
import json
import re
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from toxiclf.paths import sha256_file, shown_path
from toxiclf.training.common import RUN_CONFIG_FILE


def interpolate(base: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], alpha: float,
                only: re.Pattern | None = None) -> dict:  # fmt: skip
    """(1 − alpha)·base + alpha·tuned per tensor, in fp32; both must hold the same tensors of the same shapes.
    With `only`, the tensors whose names it does not match keep the tuned model's values."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if base.keys() != tuned.keys():
        raise ValueError(f"the models hold different tensors: {sorted(base.keys() ^ tuned.keys())[:5]}")
    mixed = {}
    for name, tensor in base.items():
        if tensor.shape != tuned[name].shape:
            raise ValueError(
                f"{name} has shape {tuple(tensor.shape)} in one model, {tuple(tuned[name].shape)} in the other"
            )
        mixed[name] = torch.lerp(tensor.float(), tuned[name].float(), alpha)
        if only is not None and not only.search(name):
            mixed[name] = tuned[name].float()
    if only is not None and not any(only.search(name) for name in base):
        raise ValueError(f"--only {only.pattern!r} matches no tensor (e.g. {next(iter(base))})")
    return mixed


def average_folders(base_dir: Path, tuned_dir: Path, alpha: float, output: Path, only: str | None = None) -> Path:
    """Write the interpolated model to `output`: the tuned model's config, tokenizer and training record, plus
    what was averaged (both folders, their weights' sha256, alpha)."""
    model = AutoModelForSequenceClassification.from_pretrained(tuned_dir, dtype=torch.float32)
    base, tuned = load_file(base_dir / "model.safetensors"), model.state_dict()
    missing = [name for name in tuned if name not in base]
    if missing:
        raise ValueError(f"{base_dir} lacks tensors of {tuned_dir}: {missing[:5]}")
    # the base file may hold more (e.g. position ids) than the state dict: the tuned model's tensors decide
    pattern = re.compile(only) if only else None
    model.load_state_dict(interpolate({name: base[name] for name in tuned}, tuned, alpha, pattern))
    model.save_pretrained(output)
    AutoTokenizer.from_pretrained(tuned_dir).save_pretrained(output)
    record = json.loads((tuned_dir / RUN_CONFIG_FILE).read_text())
    record["weight_averaging"] = {
        "alpha": alpha, "base": shown_path(base_dir), "base_sha256": sha256_file(base_dir / "model.safetensors"),
        "tuned": shown_path(tuned_dir), "tuned_sha256": sha256_file(tuned_dir / "model.safetensors"),
        "only": only,
    }  # fmt: skip
    (output / RUN_CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the model the tuned one was fine-tuned from")
    parser.add_argument("--tuned", type=Path, required=True, help="the fine-tuned model (its config is kept)")
    parser.add_argument("--alpha", type=float, required=True, help="weight of the tuned model, 0 to 1")
    parser.add_argument("--output", type=Path, required=True, help="a new folder")
    parser.add_argument("--only", help="mix only the tensors whose names match this regular expression")
    args = parser.parse_args(argv)
    if args.output.exists() and any(args.output.iterdir()):
        parser.error(f"{args.output} is not empty")
    try:
        average_folders(args.base, args.tuned, args.alpha, args.output, args.only)
    except (ValueError, FileNotFoundError, OSError, re.error) as error:
        raise SystemExit(f"error: {error}") from None
    print(f"Wrote {args.output}: {1 - args.alpha:g} x {args.base} + {args.alpha:g} x {args.tuned}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
