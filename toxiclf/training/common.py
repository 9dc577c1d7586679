"""What the training scripts share: flags, data preparation, TrainingArguments, and the train-save routine."""

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import torch
from transformers import DataCollatorWithPadding, TrainerCallback, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

from ..data.splits import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_SEED,
    EMBEDDED,
    ID_COLUMN,
    LABEL_COLUMN,
    TEXT_COLUMN,
    DataError,
    data_provenance,
    load_splits,
    tokenize_splits,
)
from ..evaluation.metrics import compute_metrics
from ..inference.model_folder import ModelFolder
from ..paths import REPO_ROOT, shown_path
from ..provenance import device_info, git_commit, library_versions
from .arguments import DataArguments, DistillationArguments, RowArguments
from .losses import adjust_to_labels

logger = logging.getLogger(__name__)

RUN_CONFIG_FILE = ModelFolder.RUN_CONFIG  # written when a run finishes
DAVIDSON_SAMPLES = 5000  # --davidson without --davidson-samples
RUN_ARGS_FILE = "run_args.json"  # written when a run starts: a resumed run must be the same run
# Flags that change where or how verbosely a run reports, not the model it trains.
_ARGS_FREE_TO_CHANGE = {"output_dir", "overwrite_output_dir", "logging_steps", "per_device_eval_batch_size"}


def add_common_args(parser: argparse.ArgumentParser, *, output_dir: Path, learning_rate: float, epochs: float):
    """Flags every training script takes; defaults differ per script only where the method needs it."""
    parser.add_argument("--dataset", default=EMBEDDED, help="'embedded' (default), a hub id, or a local folder")
    parser.add_argument("--output-dir", type=Path, default=output_dir, help="where checkpoints and the model go")
    parser.add_argument("--overwrite-output-dir", action="store_true", help="train afresh into a non-empty dir")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for the split, init and shuffling")
    parser.add_argument("--max-train-samples", type=int, help="train on the first N training rows (quick runs)")
    parser.add_argument(
        "--max-eval-samples", type=int,
        help="validate on the first N validation rows (default: all; as many as --max-train-samples if set)",
    )  # fmt: skip
    parser.add_argument("--max-seq-length", type=int, default=DEFAULT_MAX_LENGTH, help="truncate comments")
    parser.add_argument(
        "--identity-augmentation", type=identity_augmentation, default=0, metavar="N|balanced|balanced-statements",
        help="add N non-toxic training sentences that mention identity terms, or 'balanced': per term as many as "
        "bring its toxic share in the training comments down to the base rate; 'balanced-statements': also "
        "statements that someone is the term, balanced likewise (bias mitigation; default 0)",
    )  # fmt: skip
    parser.add_argument(
        "--group-sentences", choices=("none", "balanced"), default="none",
        help="'balanced': add benign sentences that name a group, cut from the non-toxic training comments and "
        "swapped to other groups, until each term's toxic share in each length bucket is that bucket's base rate "
        "(toxiclf.data.group_sentences; default none)",
    )  # fmt: skip
    parser.add_argument(
        "--robustness-augmentation", type=int, default=0, metavar="N",
        help="add N templated sentences that pair the same words with both labels (negated hate, counter-speech, "
        "threats, dehumanisation; toxiclf.data.augment_templates; default 0)",
    )  # fmt: skip
    parser.add_argument(
        "--noise-share", type=float, default=0.0, metavar="F",
        help="spell this share of the training rows, of both labels, with disguises (leet digits, swapped or "
        "dropped letters, spaced letters, joined words; default 0)",
    )  # fmt: skip
    parser.add_argument(
        "--template-noise-share", type=float, default=0.0, metavar="F",
        help="spell this share of the templated sentences with the same disguises, so that a disguised threat or "
        "its negation is read for its meaning (default 0: templated sentences stay as written)",
    )  # fmt: skip
    parser.add_argument(
        "--joined-phrase-share", type=float, default=0.0, metavar="F",
        help="of the disguised rows, this share also gets a run of two to four words written as one "
        "('youareanidiot'; default 0)",
    )  # fmt: skip
    parser.add_argument("--davidson", type=Path, help="Davidson et al.'s labelled tweets CSV, as extra training rows")
    parser.add_argument("--davidson-samples", type=int, help="with --davidson: how many tweets (default 5,000)")
    parser.add_argument("--num-train-epochs", type=float, default=epochs, help="training epochs")
    parser.add_argument("--learning-rate", type=float, default=learning_rate, help="peak learning rate")
    parser.add_argument("--per-device-train-batch-size", type=int, default=32, help="training batch per device")
    parser.add_argument("--per-device-eval-batch-size", type=int, default=128, help="evaluation batch per device")
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1, help="micro-batches per step")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay")
    parser.add_argument("--warmup-ratio", type=float, default=0.06, help="share of steps with linear warmup")
    parser.add_argument(
        "--save-steps", type=int,
        help="checkpoint and validate every N steps, so that a stopped run resumes mid-epoch (default: each epoch)",
    )  # fmt: skip
    parser.add_argument("--logging-steps", type=int, default=50, help="log the loss every N steps")
    parser.add_argument(
        "--no-bf16", action="store_true",
        help="train in fp32 even where bf16 is native (CUDA, or a CPU with avx512_bf16 / AMX)",
    )  # fmt: skip


def identity_augmentation(value: str) -> int | str:
    """--identity-augmentation: a sentence count, or a balancing recipe (toxiclf.data.augment_identity)."""
    from ..data.augment_identity import RECIPES

    if value in RECIPES:
        return value
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"takes a number of sentences or one of {', '.join(RECIPES)}, got {value!r}")
    return int(value)


def check_common_args(parser: argparse.ArgumentParser, args) -> None:
    for flag in ("max_train_samples", "max_eval_samples", "save_steps"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"--{flag.replace('_', '-')} must be a positive number, got {value}")
    if args.max_train_samples and not args.max_eval_samples:
        args.max_eval_samples = args.max_train_samples  # a quick run should not validate on 16k rows
    if args.davidson_samples is not None and args.davidson_samples < 1:
        parser.error(f"--davidson-samples must be a positive number, got {args.davidson_samples}")
    if args.robustness_augmentation < 0:
        parser.error(f"--robustness-augmentation must not be negative, got {args.robustness_augmentation}")
    for flag in ("noise_share", "template_noise_share", "joined_phrase_share"):
        if not 0 <= getattr(args, flag) <= 1:
            parser.error(f"--{flag.replace('_', '-')} must be between 0 and 1, got {getattr(args, flag)}")
    if args.template_noise_share and not args.robustness_augmentation:
        parser.error("--template-noise-share needs --robustness-augmentation N (the templated sentences)")
    if not 0 <= args.warmup_ratio < 1:
        parser.error(f"--warmup-ratio must be in [0, 1), got {args.warmup_ratio}")


def configure_logging() -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)


# CPU flags of native bf16 arithmetic; elsewhere bf16 autocast is emulated and slower than fp32.
_NATIVE_BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes in bf16 natively, read from /proc/cpuinfo's flags (False where unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return bool(_NATIVE_BF16_CPU_FLAGS & set(line.split(":", 1)[1].split()))
    return False


def bf16_available() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def load_training_data(data: DataArguments, tokenizer, soft_labels=None,
                       distillation: DistillationArguments | None = None):  # fmt: skip
    """Tokenized (train, validation) splits, cut to max_*_samples. The test split is not returned.

    With `soft_labels` (toxiclf.training.soft_labels.SoftLabels), the training rows carry their stored teacher logits as
    `teacher_logits`, after the file was checked against this run's data, seed and length. With `distillation`'s
    `added_rows_kl_share` or `added_rows_weight` other than 1, they carry `kl_share` or `row_weight`
    (DistillationTrainer): 1 for the comments, the flag's value for the rows the flags add.
    """
    distillation = distillation or DistillationArguments()  # the other scripts: every row alike, no adjustment
    try:
        splits = load_splits(data.dataset, data.seed)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    provenance = data_provenance(data.dataset, data.seed, splits)
    splits.pop("test")  # only run_eval.py looks at the test split
    for split, limit in (("train", data.max_train_samples), ("validation", data.max_eval_samples)):
        if limit:
            splits[split] = splits[split].select(range(min(limit, len(splits[split]))))
    splits["train"], extra_rows, disguisable_rows, templated_rows = with_added_rows(splits["train"], data)
    if soft_labels is not None:
        try:
            soft_labels.check_matches(provenance, data.max_seq_length, extra_rows)
            stored = soft_labels.logits_for("train", splits["train"][ID_COLUMN])
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None
        adjusted = distillation.knowledge_adjustment
        if adjusted != "none":
            first = extra_rows["base_rows"] if adjusted == "added-rows" else 0
            rows = range(first, len(splits["train"]))
            stored, changed = adjust_to_labels(stored, splits["train"][LABEL_COLUMN], rows)
            logger.info("Knowledge adjustment: swapped the teacher's logits on %d of %d rows", changed, len(rows))
        splits["train"] = splits["train"].add_column("teacher_logits", stored.tolist())
    for column, value in (("kl_share", distillation.added_rows_kl_share),
                          ("row_weight", distillation.added_rows_weight)):  # fmt: skip
        if value != 1.0:
            base_rows = extra_rows["base_rows"]
            values = [1.0] * base_rows + [value] * (len(splits["train"]) - base_rows)
            splits["train"] = splits["train"].add_column(column, values)
            logger.info("The %d added rows get %s %.2f", len(values) - base_rows, column, value)
    # After the soft labels: a disguised row keeps its id and its teacher's plain reading.
    phrases = data.joined_phrase_share
    if data.noise_share:
        splits["train"] = with_disguises(splits["train"], data.noise_share, data.seed, disguisable_rows, phrases)
    if data.template_noise_share:  # another seed, so that the comments' disguises stay those of the same seed before
        splits["train"] = with_disguises(splits["train"], data.template_noise_share, data.seed + 1, templated_rows,
                                         phrases)  # fmt: skip
    for row in splits["train"].select(range(min(2, len(splits["train"])))):
        logger.info("Training row: label %d, %r", row[LABEL_COLUMN], row[TEXT_COLUMN][:100])
    tokenized = tokenize_splits(splits, tokenizer, data.max_seq_length)
    return tokenized["train"], tokenized["validation"], provenance


def counterfactual_pairs(data: DataArguments, distillation: DistillationArguments, tokenizer):
    """The logit-pairing term's pairs (toxiclf.data.group_sentences.counterfactual_pairs), cut from this run's
    training comments (the first max_train_samples), tokenized and served a few per step."""
    from ..data.group_sentences import counterfactual_pairs as cut_pairs
    from .counterfactual_pairs import CounterfactualPairs

    comments = load_splits(data.dataset, data.seed)["train"]
    if data.max_train_samples:
        comments = comments.select(range(min(data.max_train_samples, len(comments))))
    pairs = cut_pairs(list(comments[TEXT_COLUMN]), list(comments[LABEL_COLUMN]), data.seed,
                      distillation.counterfactual_pairs)  # fmt: skip
    try:
        served = CounterfactualPairs(pairs, tokenizer, distillation.clp_pairs_per_step, data.max_seq_length, data.seed)
    except ValueError as error:
        raise SystemExit(f"error: --alpha-clp: {error}") from None
    logger.info("Counterfactual logit pairing: %d pairs, %d per step", len(pairs), distillation.clp_pairs_per_step)
    return served


def with_added_rows(train, rows: RowArguments):
    """The training rows plus those the flags add: identity sentences, templated sentences, Davidson tweets (in
    that order, each numbered within its source). Also returns what soft labels must have been made for (the
    flags, the rows they were balanced against and the added rows' fingerprint), the rows --noise-share may
    disguise (the comments and identity sentences) and the templated rows (--template-noise-share)."""
    extra_rows = {"identity_augmentation": rows.identity_augmentation,
                  "robustness_augmentation": rows.robustness_augmentation,
                  "base_rows": len(train)}  # fmt: skip
    if rows.identity_augmentation:
        train = with_identity_sentences(train, rows.identity_augmentation, rows.seed)
    if rows.group_sentences != "none":  # recorded only when used, so that soft labels made before the flag still match
        extra_rows["group_sentences"] = rows.group_sentences
        train = with_group_sentences(train, rows.seed, extra_rows["base_rows"])
    disguisable_rows = range(len(train))
    if rows.robustness_augmentation:
        train = with_templated_sentences(train, rows.robustness_augmentation, rows.seed)
    templated_rows = range(len(disguisable_rows), len(train))
    if rows.davidson:
        train = with_davidson_tweets(train, rows.davidson, rows.davidson_samples or DAVIDSON_SAMPLES, rows.seed)
    if len(train) > extra_rows["base_rows"]:  # added rows are looked up by their number
        extra_rows["added_rows_sha256"] = added_rows_sha256(train, extra_rows["base_rows"])
    return train, extra_rows, disguisable_rows, templated_rows


def added_rows_sha256(train, base_rows: int) -> str:
    """A fingerprint of the rows after the first `base_rows` (ids and texts): an added sentence is known by its
    number, and "robustness-7" names another sentence once a template or the draw changes."""
    added = train.select(range(base_rows, len(train)))
    rows = json.dumps([list(added[ID_COLUMN]), list(added[TEXT_COLUMN])], ensure_ascii=False)
    return hashlib.sha256(rows.encode()).hexdigest()


def with_rows(train, source: str, texts: list[str], labels: list[int]):
    """The training rows plus extra ones with ids "<source>-<n>", in the training split's schema."""
    import datasets

    extra = datasets.Dataset.from_dict(
        {ID_COLUMN: [f"{source}-{i}" for i in range(len(texts))], TEXT_COLUMN: texts, LABEL_COLUMN: labels},
        features=train.features,
    )
    return datasets.concatenate_datasets([train, extra])


def with_identity_sentences(train, augmentation: int | str, seed: int):
    """The training split plus non-toxic identity sentences (toxiclf.data.augment_identity), label 0: a fixed
    number, or as many per term (and per term's statements) as balance its toxic share in these training rows."""

    from ..data.augment_identity import augmentation_sentences, balanced_sentences

    try:
        if isinstance(augmentation, str):
            statements = augmentation == "balanced-statements"
            texts, labels = list(train[TEXT_COLUMN]), list(train[LABEL_COLUMN])
            sentences, counts = balanced_sentences(texts, labels, seed, statements=statements)
            most = sorted(counts.items(), key=lambda item: -item[1])[:5]
            logger.info("Balanced identity sentences, most for: %s", ", ".join(f"{t} {n}" for t, n in most))
        else:
            sentences = augmentation_sentences(augmentation, seed)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    logger.info("Added %d non-toxic identity sentences to the %d training rows", len(sentences), len(train))
    return with_rows(train, "identity", sentences, [0] * len(sentences))


def with_group_sentences(train, seed: int, base_rows: int):
    """The training rows plus benign sentences naming groups, balanced per term and length
    (toxiclf.data.group_sentences), label 0. Read from the comments only: rows added before them are not donors."""
    from ..data.group_sentences import group_sentences

    comments = train.select(range(base_rows))
    sentences, counts = group_sentences(list(comments[TEXT_COLUMN]), list(comments[LABEL_COLUMN]), seed)
    most = sorted(counts.items(), key=lambda item: -item[1])[:5]
    logger.info("Added %d benign group sentences (most: %s)", len(sentences), ", ".join(f"{t} {n}" for t, n in most))
    return with_rows(train, "group", sentences, [0] * len(sentences))


def with_disguises(train, share: float, seed: int, rows: range, phrase_rate: float = 0.0):
    """The training rows, a seeded `share` of those in `rows` (both labels) spelt with disguises
    (toxiclf.data.augment_templates.noisy_texts); the others stay as written."""
    from ..data.augment_templates import noisy_texts

    texts, changed = noisy_texts(list(train[TEXT_COLUMN][rows.start : rows.stop]), share, seed, phrase_rate)

    def spelt(row, index):
        return {TEXT_COLUMN: texts[index - rows.start] if index in rows else row[TEXT_COLUMN]}

    train = train.map(spelt, with_indices=True)
    logger.info("Spelt %d of %d training rows (%d-%d) with disguises", changed.sum(), len(rows), rows.start, rows.stop)
    return train


def with_templated_sentences(train, count: int, seed: int):
    """The training rows plus `count` contrastive templated sentences (toxiclf.data.augment_templates)."""
    from ..data.augment_templates import robustness_sentences

    try:
        sentences, labels, _ = robustness_sentences(count, seed)
    except ValueError as error:
        raise SystemExit(f"error: --robustness-augmentation: {error}") from None
    logger.info("Added %d templated sentences (%d toxic) to the training rows", len(sentences), sum(labels))
    return with_rows(train, "robustness", sentences, labels)


def with_davidson_tweets(train, path: Path, count: int, seed: int):
    """The training rows plus `count` of Davidson et al.'s tweets (hate or offensive: toxic)."""

    from ..data.augment_templates import davidson_tweets

    try:
        texts, labels = davidson_tweets(path, count, seed)
    except ValueError as error:
        raise SystemExit(f"error: --davidson: {error}") from None
    logger.info("Added %d tweets of Davidson et al. (%d toxic) to the training rows", len(texts), sum(labels))
    return with_rows(train, "davidson", texts, labels)


def data_collator(tokenizer):
    # Dynamic padding to the longest comment of each batch; multiples of 8 suit tensor cores.
    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if torch.cuda.is_available() else None)


def training_arguments(args, **overrides) -> TrainingArguments:
    strategy = "steps" if args.save_steps else "epoch"
    bf16 = bf16_available() and not args.no_bf16
    options = dict(
        output_dir=str(args.output_dir),
        seed=args.seed,
        num_train_epochs=args.num_train_epochs,
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.per_device_train_batch_size,
        per_device_eval_batch_size=args.per_device_eval_batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_ratio,  # a float below 1 is a ratio of the total steps
        lr_scheduler_type="linear",
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=args.save_steps,
        save_steps=args.save_steps,
        load_best_model_at_end=True,
        metric_for_best_model="roc_auc",  # threshold-free, and meaningful on a 10 %-positive task
        greater_is_better=True,
        save_total_limit=2,
        logging_steps=args.logging_steps,
        bf16=bf16,
        use_cpu=bf16 and not torch.cuda.is_available(),  # the Trainer allows bf16 on a CPU only when told so
        train_sampling_strategy="group_by_length",  # less padding per batch
        report_to="none",
        dataloader_num_workers=2 if torch.cuda.is_available() else 0,
        dataloader_pin_memory=torch.cuda.is_available(),
        # Several CPU processes (torchrun on a CPU machine) need gloo; GPUs get NCCL by default.
        ddp_backend=None if torch.cuda.is_available() or int(os.environ.get("WORLD_SIZE", "1")) == 1 else "gloo",
    )
    options.update(overrides)
    return TrainingArguments(**options)


class ProgressLog(TrainerCallback):
    """One log line per logging step with the step count, speed and ETA: readable in a background run's log file.

    It also keeps the training time over stops and resumes (`train_seconds`, stored in each checkpoint), so that
    a run's record says how long it trained, not how long its last piece did.
    """

    SECONDS_FILE = "train_seconds.json"

    def __init__(self):
        self.earlier_seconds = 0.0

    @property
    def train_seconds(self) -> float:
        return self.earlier_seconds + time.time() - self._started

    def on_train_begin(self, args, state, control, **kwargs):
        self._started, self._first_step = time.time(), state.global_step  # a resumed run counts from its start
        stored = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}" / self.SECONDS_FILE
        if state.global_step and stored.exists():
            self.earlier_seconds = json.loads(stored.read_text())["train_seconds"]

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if folder.is_dir():
            (folder / self.SECONDS_FILE).write_text(json.dumps({"train_seconds": round(self.train_seconds, 1)}))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if "loss" not in (logs or {}) or state.global_step == self._first_step:
            return
        # Speed over the last logging interval: an ETA that recovers after a pause or a busy spell.
        now, last_step, last_time = time.time(), *getattr(self, "_last", (self._first_step, self._started))
        self._last = (state.global_step, now)
        seconds_per_step = (now - last_time) / max(1, state.global_step - last_step)
        seconds_left = seconds_per_step * (state.max_steps - state.global_step)
        samples_per_second = args.train_batch_size * args.gradient_accumulation_steps / seconds_per_step
        logger.info(
            "step %d/%d (%.1f %%), loss %.4f, %.1f samples/s, %s elapsed, ETA %s",
            state.global_step, state.max_steps, 100 * state.global_step / state.max_steps, logs["loss"],
            samples_per_second, _clock(self.train_seconds), _clock(seconds_left),
        )  # fmt: skip


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


def trainer_inputs(args, tokenizer, train, validation, **training_overrides) -> dict:
    """The Trainer arguments every script passes the same way."""
    return dict(
        args=training_arguments(args, **training_overrides),
        train_dataset=train,
        eval_dataset=validation,
        processing_class=tokenizer,
        data_collator=data_collator(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=[ProgressLog()],
    )


def prepare_output_dir(args) -> str | None:
    """The checkpoint to resume from, if any; refuse to mix a new run into a finished or a different one."""
    output_dir = Path(args.output_dir)
    if output_dir.is_dir() and args.overwrite_output_dir:
        # Old checkpoints would be resumed from, or rotated in among the new ones; other files are overwritten.
        for checkpoint in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
            shutil.rmtree(checkpoint)
        for record in (RUN_CONFIG_FILE, RUN_ARGS_FILE):
            (output_dir / record).unlink(missing_ok=True)
    last = _checkpoint_to_resume(args, output_dir) if output_dir.is_dir() else None
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / RUN_ARGS_FILE).write_text(json.dumps(_run_args(args), indent=2) + "\n")
    return last


def as_recorded(value):
    """A run's record as results files keep it: paths inside the repository relative to it (a default such as the
    teacher's folder is absolute), so that no machine's folders are written down; tuples as lists."""
    if isinstance(value, Path) or (isinstance(value, str) and value.startswith(f"{REPO_ROOT}{os.sep}")):
        return shown_path(Path(value))
    if isinstance(value, dict):
        return {key: as_recorded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_recorded(item) for item in value]
    return value


def _run_args(args) -> dict:
    """The flags that define the run, as run_args.json stores them: a tuple reads back as a list, a path as text,
    so that a resume compares what a flag means and not how a release happened to hold it."""
    kept = {k: v for k, v in vars(args).items() if k not in _ARGS_FREE_TO_CHANGE}
    return json.loads(json.dumps(kept, default=str))


def _checkpoint_to_resume(args, output_dir: Path) -> str | None:
    if (output_dir / RUN_CONFIG_FILE).exists():
        raise SystemExit(
            f"error: {output_dir} holds a finished run ({RUN_CONFIG_FILE}); pass --overwrite-output-dir to train anew"
        )
    last = get_last_checkpoint(str(output_dir))
    if last is None:
        if any(p.name != RUN_ARGS_FILE for p in output_dir.iterdir()):
            raise SystemExit(
                f"error: {output_dir} is not empty and holds no checkpoint; pass --overwrite-output-dir to train anew"
            )
        return None
    recorded_path = output_dir / RUN_ARGS_FILE
    if not recorded_path.exists():  # checkpoints of a release that did not record the flags: trust the user
        logger.warning("%s has no %s; resuming %s without checking the flags", output_dir, RUN_ARGS_FILE, last)
        return last
    recorded = json.loads(recorded_path.read_text())
    current = _run_args(args)
    # A flag added to the scripts after the checkpoints were written, and left off here, changes nothing.
    changed = sorted(
        k for k in set(recorded) | set(current) if recorded.get(k) != current.get(k) and (k in recorded or current[k])
    )
    if changed:
        differences = ", ".join(f"--{k.replace('_', '-')} {recorded.get(k)} -> {current.get(k)}" for k in changed)
        raise SystemExit(
            f"error: {output_dir} holds checkpoints of another run ({differences}); "
            "rerun with the same flags to resume, or pass --overwrite-output-dir"
        )
    logger.info("Resuming from %s", last)
    return last


def train_and_save(trainer, args, *, data_source: dict, extra_config: dict | None = None) -> dict:
    """Train (resuming if possible), save the best model, its metrics and the run's configuration."""
    resume_from = prepare_output_dir(args)
    started = time.time()
    result = trainer.train(resume_from_checkpoint=resume_from)
    wall_seconds = time.time() - started

    trainer.save_model()
    train_metrics = dict(result.metrics, train_samples=len(trainer.train_dataset), wall_seconds=round(wall_seconds, 1))
    trainer.save_metrics("train", train_metrics)
    trainer.save_state()
    eval_metrics = trainer.evaluate()
    eval_metrics["eval_samples"] = len(trainer.eval_dataset)
    trainer.save_metrics("eval", eval_metrics)

    if trainer.is_world_process_zero():
        run_config = {
            "script": Path(sys.argv[0]).name,
            "args": vars(args),
            **(extra_config or {}),
            "data": data_source,
            "device": device_info(),
            "world_size": trainer.args.world_size,
            "bf16": trainer.args.bf16,
            "train_seconds": _train_seconds(trainer, wall_seconds),
            # the Trainer's mean of the logged training loss (the method's own loss: CE + KL + cosine for
            # distillation), as the seed reports it; a resumed run averages the steps since it resumed
            "train_loss": result.metrics.get("train_loss"),
            "git_commit": git_commit(),
            "libraries": library_versions(),
        }
        (Path(args.output_dir) / RUN_CONFIG_FILE).write_text(json.dumps(as_recorded(run_config), indent=2) + "\n")
    return {**train_metrics, **eval_metrics}


def _train_seconds(trainer, wall_seconds: float) -> float:
    """Training time over all resumed pieces where ProgressLog kept it, else this process's wall time."""
    progress = next((c for c in trainer.callback_handler.callbacks if isinstance(c, ProgressLog)), None)
    return round(progress.train_seconds if progress else wall_seconds, 1)


def log_args(args) -> None:
    logger.info("Arguments: %s", json.dumps({k: str(v) for k, v in vars(args).items()}))
