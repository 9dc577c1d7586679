#!/usr/bin/env bash
# The full-data models on CPU, in the background: every step trains on all training comments for one epoch.
#
#   bash scripts/cpu_full_run.sh            # starts in the background and returns; progress and ETA in the log
#   tail -f outputs/cpu_full_run.log
#
# Order: the fine-tuned teacher again (on a new machine outputs/ is empty), the even student, LoRA and the odd
# CE-only ablation (last: the table's three contenders come first), each scored on the whole test split right after training (run_eval.py: its results file,
# its test scores and the paired comparisons). Training checkpoints every SAVE_STEPS steps; rerunning the script
# (after a reboot, a killed session) resumes the unfinished step from its last checkpoint and skips finished ones.
set -euo pipefail
# The running copies live under outputs/: the repository is found once, from the first invocation.
export CPU_FULL_RUN_REPO=${CPU_FULL_RUN_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$CPU_FULL_RUN_REPO"
OUT=${OUT:-outputs}
LOG=$OUT/cpu_full_run.log

# Each step runs from a fresh copy of this script, so that an edit of it (bash reads a script as it goes) never
# changes a running step, and the next step runs the edited version.
fresh_copy() {
  mkdir -p "$OUT"
  local copy="$OUT/.cpu_full_run.$(date +%s%N).sh"
  cp scripts/cpu_full_run.sh "$copy"
  echo "$copy"
}
case "${1:-}" in
  --foreground) rm -f "$0" ;;  # the copy: bash holds it open, so it can go now
  --next-step) exec bash "$(fresh_copy)" --foreground ;;
  *)
    mkdir -p "$OUT"
    setsid nohup bash "$(fresh_copy)" --foreground >>"$LOG" 2>&1 </dev/null &
    echo "Started in the background (pid $!): tail -f $LOG"
    exit 0
    ;;
esac

exec 9>"$OUT/cpu_full_run.lock"
flock -n 9 || { echo "Another cpu_full_run.sh is running (lock $OUT/cpu_full_run.lock)"; exit 1; }

PY=${PY:-.venv/bin/python}
SAVE_STEPS=${SAVE_STEPS:-400}
export TQDM_DISABLE=1  # the log gets one progress line per logging step instead of progress bars
TRAIN=(--num-train-epochs 1 --save-steps "$SAVE_STEPS" --max-eval-samples 2000 --logging-steps 50)
DONE=$OUT/cpu_full_run.done  # markers of finished steps that leave no run_config.json
mkdir -p "$DONE"

# step NAME FINISHED_FILE COMMAND...: run COMMAND unless FINISHED_FILE exists; time it.
step() {
  local name=$1 finished=$2
  shift 2
  if [ -e "$finished" ]; then
    echo "== skip $name (finished: $finished)"
    return
  fi
  echo "== $(date -u +%FT%TZ) start $name"
  local started=$SECONDS
  "$@"
  echo "== $(date -u +%FT%TZ) done $name in $((SECONDS - started)) s"
  exec bash scripts/cpu_full_run.sh --next-step
}

# The plan and each model's recipe come from toxiclf.experiments (read with the project's own Python, also when
# PY is something else).
CATALOG=(${CATALOG_PY:-.venv/bin/python} -m toxiclf.experiments)

train() {  # train NAME: its recipe, finished when its run_config.json exists
  local name=$1 recipe
  read -ra recipe <<<"$("${CATALOG[@]}" command "$name" --run-dir "$OUT")"
  step "$name" "$OUT/$name/run_config.json" $PY "${recipe[@]}" "${TRAIN[@]}"
}

evaluate() {  # evaluate NAME: score it on the whole test split (its results file, test scores, comparisons)
  local name=$1 checkpoint
  checkpoint=$("${CATALOG[@]}" checkpoint "$name" --run-dir "$OUT")
  step "evaluation of $name" "$DONE/eval-$name" \
    bash -c "$PY run_eval.py --checkpoints $name=$checkpoint --no-baselines && touch $DONE/eval-$name"
}

echo "== $(date -u +%FT%TZ) cpu_full_run.sh on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
# The models whose results are committed (teacher, odd student and its debiased twin, MiniLM-L6, the ensemble
# students) are not trained again: the plan is what the odd / even / LoRA table lacks. The even student and the
# CE-only ablation are copies of the fine-tuned teacher, so it is trained again first (its results are committed,
# its weights are not); LoRA starts from the pre-trained model.
for name in $("${CATALOG[@]}" plan cpu); do
  train "$name"
  [ "$name" = teacher ] || evaluate "$name"
done
echo "== $(date -u +%FT%TZ) all steps finished"
