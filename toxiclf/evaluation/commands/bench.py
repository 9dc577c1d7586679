"""`run_eval.py bench`: the teacher, the student and the fast tier timed as PyTorch fp32, ONNX fp32 and ONNX int8 on
this CPU, with their test ROC-AUC -> results/inference_bench.json.

    python run_eval.py bench --teacher outputs/teacher --student model --max-eval-samples 2000
"""

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN
from toxiclf.evaluation.baselines import TfidfBaseline
from toxiclf.evaluation.bench import bench_markdown, run_benchmark
from toxiclf.evaluation.commands.common import eval_splits
from toxiclf.paths import FAST_MODEL_DIR, SHIPPED_MODEL_DIR, shown_path

logger = logging.getLogger(__name__)

SHARED = ("data", "results", "readme")
# TF-IDF is timed for its speed: fitted on the first TFIDF_BENCH_ROWS training comments (all of them take minutes to
# fit; its full-data quality is in results/tfidf-logreg.json).
TFIDF_BENCH_ROWS = 20_000


def arguments(lab) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--teacher", type=Path, default=lab.default_checkpoints.get("teacher"), help="the teacher")
    parser.add_argument(
        "--no-teacher",
        action="store_true",
        help="no teacher row (no fine-tuned teacher here); ratios are then to the student in PyTorch fp32",
    )
    parser.add_argument("--student", type=Path, default=SHIPPED_MODEL_DIR, help="the student")
    parser.add_argument(
        "--fast-tier",
        type=Path,
        help="the fast tier, timed as served (default: the shipped one, model-fast/, where it is here)",
    )
    parser.add_argument("--no-fast-tier", action="store_true", help="no fast-tier row")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads")
    return parser


def check(parser, args, lab) -> None:
    if args.no_teacher:
        args.teacher = None
    if args.no_fast_tier:
        args.fast_tier = None
    elif args.fast_tier is None and (FAST_MODEL_DIR / "config.json").exists():
        args.fast_tier = FAST_MODEL_DIR
    for path in (args.teacher, args.student, args.fast_tier):
        if path is not None and not (path / "config.json").exists():
            parser.error(f"bench: {path} holds no model (no config.json)")


def run(args, lab) -> dict:
    splits, test, _ = eval_splits(args)
    subset = splits["train"].select(range(min(TFIDF_BENCH_ROWS, len(splits["train"]))))
    tfidf = TfidfBaseline().fit(subset[TEXT_COLUMN], subset[LABEL_COLUMN])
    checkpoints = {"teacher": args.teacher, "student": args.student, "fast": args.fast_tier}
    checkpoints = {which: path for which, path in checkpoints.items() if path is not None}
    result = run_benchmark(checkpoints, test[TEXT_COLUMN], np.array(test[LABEL_COLUMN]), args.threads, tfidf=tfidf)
    given = {"teacher": args.teacher, "student": args.student, "fast-tier": args.fast_tier,
             "max-eval-samples": args.max_eval_samples, "threads": args.threads}  # fmt: skip
    flags = [f"--{flag} {shown_path(v) if isinstance(v, Path) else v}" for flag, v in given.items() if v is not None]
    flags += [f"--no-{flag}" for flag in ("teacher", "fast-tier") if given[flag] is None]
    result["command"] = "python run_eval.py bench " + " ".join(flags)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "inference_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.update_readme and lab.replace_doc_section("bench", bench_markdown(result)):
        logger.info("Updated the benchmark section (docs/inference.md)")
    print(bench_markdown(result))
    return result
