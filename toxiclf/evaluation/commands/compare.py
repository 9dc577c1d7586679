"""`run_eval.py compare`: score nothing; the paired comparisons of the test scores already in --results-dir (several
scorings made apart, e.g. with `score --no-comparisons`), then summary.md.

    python run_eval.py compare --results-dir results/gpu-small
"""

import argparse

import numpy as np

from toxiclf.data.splits import ID_COLUMN, LABEL_COLUMN
from toxiclf.evaluation.commands import report
from toxiclf.evaluation.commands.common import eval_splits
from toxiclf.evaluation.comparisons import ids_checksum, write_comparisons

SHARED = ("data", "results", "bootstrap", "readme", "section")


def arguments(lab) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)  # only the shared flags


def check(parser, args, lab) -> None:
    pass


def run(args, lab):
    _, test, _ = eval_splits(args)
    labels = np.array(test[LABEL_COLUMN])
    write_comparisons(args.results_dir, labels, ids_checksum(test[ID_COLUMN]), args.bootstrap_resamples, args.seed,
                      lab.student_pairs)  # fmt: skip
    return report.run(args, lab)
