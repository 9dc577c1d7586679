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

train() {  # train NAME COMMAND...: a training step, finished when its run_config.json exists
  local name=$1
  shift
  step "$name" "$OUT/$name/run_config.json" "$@" --output-dir "$OUT/$name"
}

# evaluate ROUND NAME...: score the named trained models on the whole test split (and the paired comparisons).
evaluate() {
  local round=$1
  shift
  local checkpoints=()
  for name in "$@"; do
    if [ "$name" = lora ]; then checkpoints+=("lora=$OUT/lora/merged"); else checkpoints+=("$name=$OUT/$name"); fi
  done
  step "evaluation $round" "$DONE/eval-$round" \
    bash -c "$PY run_eval.py --checkpoints ${checkpoints[*]} --no-baselines && touch $DONE/eval-$round"
}

echo "== $(date -u +%FT%TZ) cpu_full_run.sh on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
# Rounds 1-5 (teacher, odd student, its debiased twin, MiniLM-L6, the ensemble students) are finished: their
# results and test scores are committed in results/, so a new machine starts with the models the table still
# lacks. The even student and the CE-only ablation are copies of the fine-tuned teacher, so it is trained again
# first; LoRA starts from the pre-trained model.
train teacher $PY run_finetune.py "${TRAIN[@]}"
train student-even $PY run_distill.py --layers even --teacher "$OUT/teacher" "${TRAIN[@]}"
evaluate 6 student-even
train lora $PY run_lora.py "${TRAIN[@]}"
evaluate 7 lora
train student-odd-ce $PY run_distill.py --layers odd --teacher "$OUT/teacher" --alpha-kl 0 --alpha-cos 0 "${TRAIN[@]}"
evaluate 8 student-odd-ce
echo "== $(date -u +%FT%TZ) all steps finished"
