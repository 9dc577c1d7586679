"""run_eval.py's command line: one subcommand per mode, each with only its own flags, and the old mode flags
(`--bench`, `--bias-audit`, `--functional`, `--report-only`, `--compare-only`) mapped onto them.

    python run_eval.py score --checkpoints odd=outputs/student-odd --no-baselines
    python run_eval.py --bias-audit --checkpoints shipped=model     # the old spelling: `audit`, with a note

The lab's reports and lists (research/) reach the package only as a `LabHooks` that run_eval.py hands in: nothing in
the package imports the lab.
"""

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transformers import set_seed

from toxiclf.data.splits import DEFAULT_SEED, EMBEDDED
from toxiclf.evaluation.commands import ablation, audit, bench, compare, functional, report, score
from toxiclf.evaluation.scores import BOOTSTRAP_RESAMPLES
from toxiclf.inference.classifier import BACKENDS
from toxiclf.paths import RESULTS_DIR

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabHooks:
    """What run_eval.py takes from research/: the models it looks for, the pairs it compares, the report writers."""

    default_checkpoints: dict[str, Path]  # name -> folder, where run_eval.py looks when --checkpoints is not given
    student_pairs: tuple = ()  # (model, reference) pairs compared besides every model against the references
    write_report: Callable[[Path], Path] | None = None  # results_dir -> summary.md, with the plots
    update_docs: Callable[[Path, str], list] | None = None  # (results_dir, section) -> the pages changed
    replace_doc_section: Callable[[str, str], list] | None = None  # (section, markdown) -> the pages changed
    plot_bias: Callable[[dict, Path], Path] | None = None  # (audits, results_dir) -> bias.png


# Subcommand -> (module, one line for --help). The order is the order of `run_eval.py --help`.
COMMANDS = {
    "score": (score, "score models and baselines on the test split -> results/NAME.json, comparisons, summary.md"),
    "compare": (compare, "score nothing: the paired comparisons of the test scores in --results-dir, summary.md"),
    "report": (report, "score nothing: summary.md, the plots (and the docs' tables) from results/*.json"),
    "bench": (bench, "latency, speed and ROC-AUC of PyTorch / ONNX fp32 / ONNX int8 -> results/inference_bench.json"),
    "audit": (audit, "the identity-term bias audit of --checkpoints -> results/bias.json, bias.png"),
    "functional": (functional, "the functional suite's pass rates -> results/functional.json, functional.png"),
    "ablation": (ablation, "each preprocessing step weighed on one model -> results/preprocessing_ablation.json"),
}
# The old mode flags, in the order the old parser obeyed them when several were given; no mode flag: `score`.
OLD_MODE_FLAGS = {"report_only": "report", "compare_only": "compare", "bench": "bench", "bias_audit": "audit",
                  "functional": "functional"}  # fmt: skip


def _group(*adders) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    for add in adders:
        add(parser)
    return parser


def _data(parser):
    parser.add_argument("--dataset", default=EMBEDDED, help="'embedded', a hub id or a local folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split seed (must match training)")
    parser.add_argument("--max-eval-samples", type=int, help="use the first N test and validation rows only")


def _results(parser):
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON, tables and plots go")


def _models(parser):
    parser.add_argument("--checkpoints", nargs="+", metavar="NAME=PATH", help="models to use (default: found ones)")
    parser.add_argument("--batch-size", type=int, default=64, help="scoring batch size")
    parser.add_argument("--backend", choices=BACKENDS[1:], default="torch", help="inference backend for the models")


def _baselines(parser):
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines (majority, TF-IDF)")
    parser.add_argument("--baseline-max-train-samples", type=int, help="fit TF-IDF on the first N training rows")


def _bootstrap(parser):
    parser.add_argument("--bootstrap-resamples", type=int, default=BOOTSTRAP_RESAMPLES, help="for the 95 %% CIs")


def _readme(parser):
    parser.add_argument("--update-readme", action="store_true", help="regenerate the README and docs/ tables")


def _section(parser):
    parser.add_argument(
        "--readme-section",
        default="results",
        help="with --update-readme: the section to regenerate (results-gpu for --results-dir results/gpu)",
    )


def shared_groups() -> dict[str, argparse.ArgumentParser]:
    """The flags several subcommands share, each group once (argparse parent parsers)."""
    return {"data": _group(_data), "results": _group(_results), "models": _group(_models),
            "baselines": _group(_baselines), "bootstrap": _group(_bootstrap), "readme": _group(_readme),
            "section": _group(_section)}  # fmt: skip


def build_parser(lab: LabHooks, description: str | None = None):
    """`run_eval.py {score,compare,report,bench,audit,functional,ablation}`, each with its own --help: the parser and
    {subcommand: its parser}."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Without a subcommand, run_eval.py takes the old flags (--bench, --bias-audit, --functional, "
        "--report-only, --compare-only, or none: score).",
    )  # fmt: skip
    subparsers = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    groups = shared_groups()
    commands = {}
    for name, (module, summary) in COMMANDS.items():
        parents = [groups[group] for group in module.SHARED] + [module.arguments(lab)]
        commands[name] = subparsers.add_parser(name, parents=parents, help=summary, description=summary)
    return parser, commands


def build_old_parser(lab: LabHooks, description: str | None = None) -> argparse.ArgumentParser:
    """The flat command line of before the subcommands: every mode's flags at once, the mode chosen by a flag."""
    modes = [module for module, _ in COMMANDS.values() if module is not ablation]  # ablation is new
    parents = [*shared_groups().values(), *(module.arguments(lab) for module in modes)]
    parser = argparse.ArgumentParser(description=description, parents=parents)
    for flag, command in OLD_MODE_FLAGS.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", action="store_true", help=f"old spelling of `{command}`")
    return parser


def parse_args(argv: list[str] | None, lab: LabHooks, description: str | None = None) -> argparse.Namespace:
    """The subcommand and its checked arguments (argv None: the command line's); the old flat flags are mapped onto
    a subcommand."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        parser, commands = build_parser(lab, description)
        args = parser.parse_args(argv)
        parser = commands[args.command]  # its errors name the subcommand
    else:
        parser = build_old_parser(lab, description)
        args = parser.parse_args(argv)
        given = [flag for flag in OLD_MODE_FLAGS if getattr(args, flag)]
        args.command = OLD_MODE_FLAGS[given[0]] if given else "score"
        if given:
            print(f"run_eval.py: --{given[0].replace('_', '-')} is deprecated; use `run_eval.py {args.command}`",
                  file=sys.stderr)  # fmt: skip
    if getattr(args, "max_eval_samples", None) is not None and args.max_eval_samples < 10:
        parser.error("--max-eval-samples must be at least 10")
    if getattr(args, "bootstrap_resamples", BOOTSTRAP_RESAMPLES) < 1000:
        parser.error("--bootstrap-resamples must be at least 1000 for stable 95 % intervals")
    COMMANDS[args.command][0].check(parser, args, lab)
    return args


def main(argv: list[str] | None, lab: LabHooks, description: str | None = None):
    """Parse, log the arguments, seed, and run the subcommand; returns what it returns."""
    args = parse_args(argv, lab, description)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logger.info("Arguments: %s", json.dumps({k: str(v) for k, v in vars(args).items()}))
    set_seed(getattr(args, "seed", DEFAULT_SEED))
    return COMMANDS[args.command][0].run(args, lab)
