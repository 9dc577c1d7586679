#!/usr/bin/env bash
# The full-data models on CPU, in the background: every step trains on all training comments for one epoch.
#
#   bash scripts/cpu_full_run.sh            # starts in the background and returns; progress and ETA in the log
#   tail -f outputs/cpu_full_run.log
#
# The plan (research.experiments.CPU_PLAN: the fine-tuned teacher again, which the students are copied from, then
# the even student, LoRA and the odd CE-only ablation) is run by `python -m research.runner cpu`: each model is
# scored on the whole test split right after training (run_eval.py: its results file, its test scores and the
# paired comparisons). Training checkpoints every SAVE_STEPS steps; rerunning the script (after a reboot, a killed
# session) resumes the unfinished step from its last checkpoint and skips finished ones. A model whose results are
# committed (results/NAME.json) is not trained again, and the teacher only when a model still to train copies it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-outputs}
LOG=$OUT/cpu_full_run.log

case "${1:-}" in
  --foreground | --next-step) ;;  # (--next-step: what earlier versions of this script ran between steps)
  *)
    mkdir -p "$OUT"
    setsid nohup bash scripts/cpu_full_run.sh --foreground >>"$LOG" 2>&1 </dev/null &
    echo "Started in the background (pid $!): tail -f $LOG"
    exit 0
    ;;
esac

mkdir -p "$OUT"
exec 9>"$OUT/cpu_full_run.lock"  # held by the runner below for as long as it runs
flock -n 9 || { echo "Another cpu_full_run.sh is running (lock $OUT/cpu_full_run.lock)"; exit 1; }
export TQDM_DISABLE=1  # the log gets one progress line per logging step instead of progress bars
# The runner is the project's own Python; PY, the Python of each step, may be another.
exec "${RUNNER_PY:-.venv/bin/python}" -m research.runner cpu --run-dir "$OUT" --python "${PY:-.venv/bin/python}" \
  --save-steps "${SAVE_STEPS:-400}" --results-dir "${RESULTS_DIR:-results}"
