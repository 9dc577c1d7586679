"""How fast each kind of training step runs on this CPU, fp32 vs bf16 autocast -> results/cpu_training_speed.json.

    python scripts/cpu_training_speed.py                    # ~10 minutes on 2 cores
    python scripts/cpu_training_speed.py --curve-steps 0    # speed only

Steps are timed as the Trainer runs them (forward, backward, AdamW step) on batches of real training comments,
cut into length-sorted batches as `group_by_length` does. Per step kind and precision: the median step time over
`--steps` batches after `--warmup`, samples/s and (non-padding) tokens/s, and the bf16 / fp32 ratio of one run.
The loss-curve check trains the CE-only student for `--curve-steps` steps on the same batches in both precisions
and reports how far the bf16 losses stray from the fp32 ones.
"""

import argparse
import functools
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN, load_splits  # noqa: E402
from toxiclf.paths import RESULTS_DIR  # noqa: E402
from toxiclf.provenance import cpu_name, git_commit, library_versions  # noqa: E402
from toxiclf.training.common import cpu_has_native_bf16  # noqa: E402
from toxiclf.training.losses import masked_cosine_loss, soft_target_kl  # noqa: E402
from toxiclf.training.models import build_student, load_model_and_tokenizer  # noqa: E402

STEP_KINDS = ("teacher fine-tune (12 layers)", "distillation (6-layer student + teacher forward)", "CE-only (6 layers)")


def length_grouped_batches(texts, labels, tokenizer, batch_size, count, max_length, seed):
    """`count` batches of randomly drawn training comments, sorted by length as group_by_length does."""
    rng = np.random.default_rng(seed)
    index = rng.choice(len(texts), size=batch_size * count, replace=False)
    encoded = tokenizer([texts[i] for i in index], truncation=True, max_length=max_length)
    order = np.argsort([len(ids) for ids in encoded["input_ids"]])
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        features = [
            {"input_ids": encoded["input_ids"][r], "attention_mask": encoded["attention_mask"][r]} for r in rows
        ]
        batch = tokenizer.pad(features, return_tensors="pt")
        batch["labels"] = torch.tensor([labels[index[r]] for r in rows])
        batches.append(batch)
    rng.shuffle(batches)  # the sampler shuffles the length groups
    return batches


def step_function(kind, teacher, student):
    """(model being trained, function(batch) -> loss) for one kind of step."""
    if kind == STEP_KINDS[0]:
        return teacher, lambda batch: teacher(**batch).loss
    if kind == STEP_KINDS[2]:
        return student, lambda batch: student(**batch).loss

    frozen = teacher

    def distillation_loss(batch):
        features = {k: v for k, v in batch.items() if k != "labels"}
        out = student(**features, output_hidden_states=True)
        with torch.no_grad():
            reference = frozen(**features, output_hidden_states=True)
        ce = torch.nn.functional.cross_entropy(out.logits.float(), batch["labels"])
        kl = soft_target_kl(out.logits, reference.logits, 2.0)
        cos = masked_cosine_loss(out.hidden_states[-1], reference.hidden_states[-1], features["attention_mask"])
        return (ce + kl + cos) / 3

    return student, distillation_loss


def ce_loss(model, batch):
    return model(**batch).loss


def train_steps(model, loss_of, batches, bf16: bool, learning_rate=5e-5) -> tuple[list[float], list[float]]:
    """(seconds per step, loss per step) for a plain Trainer-like loop over `batches`."""
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    seconds, losses = [], []
    for batch in batches:
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - started)
        losses.append(loss.item())
    return seconds, losses


def fresh_models(teacher_dir):
    teacher, tokenizer = load_model_and_tokenizer(teacher_dir)
    return teacher, build_student(teacher, "odd"), tokenizer


def measure_speed(args, batches, precisions) -> list[dict]:
    rows = []
    for kind in STEP_KINDS:
        for bf16 in precisions:
            torch.manual_seed(args.seed)
            teacher, student, _ = fresh_models(args.teacher)
            if kind == STEP_KINDS[1]:
                teacher.eval().requires_grad_(False)
            model, loss_of = step_function(kind, teacher, student)
            seconds, _ = train_steps(model, loss_of, batches[: args.warmup + args.steps], bf16)
            timed = seconds[args.warmup :]
            samples = sum(len(b["labels"]) for b in batches[args.warmup : args.warmup + args.steps])
            tokens = sum(int(b["attention_mask"].sum()) for b in batches[args.warmup : args.warmup + args.steps])
            row = {
                "step": kind,
                "precision": "bf16 autocast" if bf16 else "fp32",
                "median_step_seconds": round(statistics.median(timed), 4),
                "samples_per_s": round(samples / sum(timed), 1),
                "tokens_per_s": round(tokens / sum(timed)),
                "steps_timed": len(timed),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    for kind in STEP_KINDS:
        by_precision = {r["precision"]: r for r in rows if r["step"] == kind}
        if len(by_precision) == 2:
            by_precision["bf16 autocast"]["speedup_vs_fp32"] = round(
                by_precision["fp32"]["median_step_seconds"] / by_precision["bf16 autocast"]["median_step_seconds"], 2
            )
    return rows


def loss_curves(args, batches) -> dict:
    """CE-only student trained on the same batches in fp32 and bf16: how far apart the losses are."""
    curves = {}
    for bf16 in (False, True):
        torch.manual_seed(args.seed)
        teacher, student, _ = fresh_models(args.teacher)
        del teacher
        _, losses = train_steps(student, functools.partial(ce_loss, student), batches, bf16)
        curves["bf16" if bf16 else "fp32"] = losses
    window = 20
    smooth = {k: np.convolve(v, np.ones(window) / window, mode="valid") for k, v in curves.items()}
    return {
        "step": STEP_KINDS[2],
        "steps": len(batches),
        "mean_loss_last_50": {k: round(float(np.mean(v[-50:])), 4) for k, v in curves.items()},
        f"max_abs_difference_of_{window}_step_means": round(float(np.max(np.abs(smooth["bf16"] - smooth["fp32"]))), 4),
        "losses": {k: [round(x, 4) for x in v] for k, v in curves.items()},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="e5-small", help="12-layer model to time (default: embedded e5-small)")
    parser.add_argument("--batch-size", type=int, default=32, help="training batch, as in the full CPU run")
    parser.add_argument("--max-length", type=int, default=128, help="truncation, as in training")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per step kind and precision")
    parser.add_argument("--curve-steps", type=int, default=200, help="steps of the bf16-vs-fp32 loss check (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "cpu_training_speed.json")
    args = parser.parse_args(argv)

    native = cpu_has_native_bf16()
    train = load_splits()["train"]
    texts, labels = train[TEXT_COLUMN], train[LABEL_COLUMN]
    _, _, tokenizer = fresh_models(args.teacher)
    count = max(args.warmup + args.steps, args.curve_steps)
    batches = length_grouped_batches(texts, labels, tokenizer, args.batch_size, count, args.max_length, args.seed)
    result = {
        "command": "python scripts/cpu_training_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpu": cpu_name(),
        "native_bf16": native,
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "data": f"{args.batch_size * count:,} random training comments of the embedded split, length-grouped",
        "rows": measure_speed(args, batches, (False, True)),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "libraries": library_versions(),
    }
    if args.curve_steps:
        result["loss_curves"] = loss_curves(args, batches[: args.curve_steps])
        print(json.dumps({k: v for k, v in result["loss_curves"].items() if k != "losses"}), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
