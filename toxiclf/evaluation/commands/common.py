"""What several subcommands share: the evaluation rows (the one place the test split is read) and --checkpoints."""

import argparse
from pathlib import Path

from toxiclf.data.splits import DataError, load_splits


def eval_splits(args):
    """(all splits, test, validation), test and validation cut to --max-eval-samples; the error of a data set that
    cannot be read is one line."""
    try:
        splits = load_splits(args.dataset, args.seed)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    test, validation = splits["test"], splits["validation"]
    if args.max_eval_samples:
        test = test.select(range(min(args.max_eval_samples, len(test))))
        validation = validation.select(range(min(args.max_eval_samples, len(validation))))
    return splits, test, validation


def baseline_rows(args, train):
    """The training comments the baselines are fitted on: all, or the first --baseline-max-train-samples."""
    if args.baseline_max_train_samples:
        return train.select(range(min(args.baseline_max_train_samples, len(train))))
    return train


def parse_checkpoints(parser: argparse.ArgumentParser, specs, defaults: dict[str, Path]) -> dict[str, Path]:
    """NAME=PATH specs -> {name: folder}, each holding a model; none given: the defaults that are here."""
    if not specs:
        return {name: path for name, path in defaults.items() if (path / "config.json").exists()}
    checkpoints = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--checkpoints takes NAME=PATH, got {spec!r}")
        if not (Path(path) / "config.json").exists():
            parser.error(f"{path} holds no model (no config.json)")
        checkpoints[name] = Path(path)
    return checkpoints


def check_models(parser: argparse.ArgumentParser, args, defaults: dict[str, Path]) -> None:
    """--checkpoints parsed in place ({} for --baselines-only), and a run with nothing to evaluate refused."""
    baselines_only = getattr(args, "baselines_only", False)
    if baselines_only and (args.checkpoints or args.no_baselines):
        parser.error("--baselines-only takes neither --checkpoints nor --no-baselines")
    args.checkpoints = {} if baselines_only else parse_checkpoints(parser, args.checkpoints, defaults)
    if not args.checkpoints and getattr(args, "no_baselines", False):
        raise SystemExit("error: nothing to evaluate: no checkpoint found under outputs/ and --no-baselines given")
