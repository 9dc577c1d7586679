#!/usr/bin/env bash
# The full-data models on CPU, in the background: every step trains on all training comments for one epoch.
#
#   bash scripts/cpu_full_run.sh            # starts in the background and returns; progress and ETA in the log
#   tail -f outputs/cpu_full_run.log
#
# Order: teacher -> odd student (distilled) -> run_eval.py on the whole test split (baselines fitted on all
# training comments) -> ship the best 6-layer model by validation ROC-AUC (thresholds per backend, card, README
# table, inference benchmark, load test); then, as time allows, MiniLM-L6 fine-tuned directly and the debiased
# odd student; the ensemble's soft labels and the two students trained on them; the odd CE-only ablation, the even
# student and LoRA; each round followed by the same evaluation and shipping. Training checkpoints every
# SAVE_STEPS steps; rerunning the script (after a reboot, a killed session) resumes the unfinished step from its
# last checkpoint and skips finished ones.
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

# evaluate_and_ship ROUND NAME...: score the named trained models on the whole test split, ship the best student.
evaluate_and_ship() {
  local round=$1
  shift
  local checkpoints=()
  for name in "$@"; do
    if [ "$name" = lora ]; then checkpoints+=("lora=$OUT/lora/merged"); else checkpoints+=("$name=$OUT/$name"); fi
  done
  local audited=()  # every trained 6-layer model, so that the mitigated student is audited beside the others
  for name in student-odd student-odd-ce student-even student-odd-debiased minilm-l6 student-odd-ens minilm-l6-ens; do
    [ -f "$OUT/$name/run_config.json" ] && audited+=("$name=$OUT/$name")
  done
  # Majority and TF-IDF (fitted on all training comments) once: they do not change between rounds.
  step "baselines" "$DONE/baselines" bash -c "$PY run_eval.py --baselines-only && touch $DONE/baselines"
  step "evaluation $round" "$DONE/eval-$round" \
    bash -c "$PY run_eval.py --checkpoints ${checkpoints[*]} --no-baselines && touch $DONE/eval-$round"
  step "ship $round" "$DONE/ship-$round" \
    bash -c "PY=$PY SHIP_STAMP=$OUT/ship_round.sha256 bash scripts/ship_round.sh --teacher $OUT/teacher \
      ${audited[*]} && touch $DONE/ship-$round"
}

echo "== $(date -u +%FT%TZ) cpu_full_run.sh on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
train teacher $PY run_finetune.py "${TRAIN[@]}"
train student-odd $PY run_distill.py --layers odd --teacher "$OUT/teacher" "${TRAIN[@]}"
# The teacher is scored in round 3: shipping needs the student's numbers only, and an hour sooner.
evaluate_and_ship 1 student-odd
# The odd student again with non-toxic identity sentences: the shipped student fails the bias audit's goals, so
# its mitigation comes first; then the teacher's test numbers, and MiniLM-L6 fine-tuned directly, the reference a
# user could train alone.
train student-odd-debiased $PY run_distill.py --layers odd --teacher "$OUT/teacher" --identity-augmentation 765 \
  "${TRAIN[@]}"
evaluate_and_ship 2 student-odd-debiased
evaluate_and_ship 3 teacher
train minilm-l6 $PY run_finetune.py --model minilm-l6 "${TRAIN[@]}"
evaluate_and_ship 4 minilm-l6
# Distillation that pays: the ensemble's soft labels (teacher + MiniLM-L6, scored once) and two students on them.
step "soft labels" "$OUT/soft_labels.npz" \
  $PY -m toxiclf.soft_labels --teachers "$OUT/teacher" "$OUT/minilm-l6" --output "$OUT/soft_labels.npz"
train student-odd-ens $PY run_distill.py --layers odd --teacher "$OUT/teacher" --soft-labels "$OUT/soft_labels.npz" \
  "${TRAIN[@]}"
train minilm-l6-ens $PY run_distill.py --student-init minilm-l6 --soft-labels "$OUT/soft_labels.npz" --alpha-cos 0 \
  "${TRAIN[@]}"
evaluate_and_ship 5 student-odd-ens minilm-l6-ens
train student-odd-ce $PY run_distill.py --layers odd --teacher "$OUT/teacher" --alpha-kl 0 --alpha-cos 0 "${TRAIN[@]}"
train student-even $PY run_distill.py --layers even --teacher "$OUT/teacher" "${TRAIN[@]}"
train lora $PY run_lora.py "${TRAIN[@]}"
evaluate_and_ship 6 student-odd-ce student-even lora
echo "== $(date -u +%FT%TZ) all steps finished"
