"""Score every trained model and the baselines on the held-out test split; write results/. One subcommand per mode
(`python run_eval.py SUBCOMMAND --help` lists its flags):

    python run_eval.py score                          # all checkpoints found under outputs/ (and model/)
    python run_eval.py score --max-eval-samples 500   # quick, on CPU
    python run_eval.py score --checkpoints odd=outputs/student-odd --no-baselines --update-readme
    python run_eval.py compare --results-dir results/gpu-small      # paired comparisons of scores made apart
    python run_eval.py report --update-readme                       # summary.md, plots, docs' tables
    python run_eval.py bench --teacher outputs/teacher --student model   # backends: latency, speed, ROC-AUC
    python run_eval.py audit --backend onnx-int8 --checkpoints shipped=model
    python run_eval.py functional --normalise --backend onnx-int8 --checkpoints shipped=model
    python run_eval.py ablation                                     # each preprocessing step, the shipped model

This is the only code that reads the test split. Thresholds are chosen on the validation split. The old spelling
(no subcommand: score; --bench, --bias-audit, --functional, --report-only, --compare-only) still works.
"""

from research.experiments import STUDENT_PAIRS, default_checkpoints
from research.report import plot_bias, replace_doc_section, update_docs, write_report
from toxiclf.evaluation import cli
from toxiclf.paths import OUTPUTS_DIR, SHIPPED_MODEL_DIR

# What run_eval.py looks for when --checkpoints is not given (research.experiments); missing ones are skipped.
DEFAULT_CHECKPOINTS = {**default_checkpoints(OUTPUTS_DIR), "shipped": SHIPPED_MODEL_DIR}


def lab_hooks() -> cli.LabHooks:
    """The lab's lists and report writers, handed to the package (which imports nothing of research/)."""
    return cli.LabHooks(default_checkpoints=DEFAULT_CHECKPOINTS, student_pairs=STUDENT_PAIRS,
                        write_report=write_report, update_docs=update_docs, replace_doc_section=replace_doc_section,
                        plot_bias=plot_bias)  # fmt: skip


def parse_args(argv=None):
    return cli.parse_args(argv, lab_hooks(), __doc__)


def main(argv=None):
    return cli.main(argv, lab_hooks(), __doc__)


if __name__ == "__main__":
    main()
