#!/usr/bin/env bash
# The full-scale run on one GPU (all training comments, 2 epochs, bf16, batch 128, one validation per epoch), in
# phases that each end well inside a 10-minute call. A phase skips the steps an earlier call finished on the same
# machine, resumes an interrupted training from its last epoch checkpoint, and prints the seconds of each step.
#
#   python scripts/device_bundle.py build     # here, once: gpu_bundle/part1 (training), gpu_bundle/part2 (MiniLM)
#   bash scripts/gpu_full_run.sh train        # GPU, with part1: teacher, odd, even, odd CE-only, LoRA
#   PACK_DIR=... bash scripts/gpu_full_run.sh evaluate   # GPU, with part2: MiniLM-L6 direct, run_eval.py, pack
#   PACK_DIR=... bash scripts/gpu_full_run.sh ensemble   # GPU, with part2: MiniLM-L6 direct, soft labels, the two
#                                             # -ens students, run_eval.py on what is not scored yet, pack
#   bash scripts/gpu_full_run.sh teacher      # GPU, with part1: the teacher alone (a short loan: teacher, ensemble)
#   PACK_DIR=... bash scripts/gpu_full_run.sh debias     # GPU, with part2 after part1: MiniLM-L6 with non-toxic
#                                             # identity sentences balanced per term, run_eval.py, pack it
#   PACK_DIR=... bash scripts/gpu_full_run.sh debias-statements   # the same, statements ("X is gay.") balanced too
#   python scripts/gpu_results.py unpack DIR  # here: the returned files -> results/gpu/ and outputs/gpu/<student>
#   bash scripts/ship_round.sh --teacher outputs/teacher   # here: ship the best of both runs, card, README, ...
#
#   bash scripts/gpu_full_run.sh --dry-run all   # CPU, 64 training rows, a bundle for this Python: what CI runs
#   bash scripts/gpu_full_run.sh --installed all # with this environment's packages instead of a bundle (make smoke:
#                                                # --dry-run --installed; a GPU machine with the project installed)
# TRAIN_UNTIL_S=N: no training starts after N seconds of the call, and one still running then is stopped, so that
# a call with a hard limit still evaluates and packs what it finished.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DRY_RUN=0 INSTALLED=0
while [ "${1:-}" = --dry-run ] || [ "${1:-}" = --installed ]; do
  [ "$1" = --dry-run ] && DRY_RUN=1
  [ "$1" = --installed ] && INSTALLED=1
  shift
done
[ $# -gt 0 ] || { echo "usage: gpu_full_run.sh [--dry-run] [--installed] teacher|train|evaluate|ensemble|debias|debias-statements|all ..." >&2; exit 2; }
[[ ${TRAIN_UNTIL_S:-0} =~ ^[0-9]+$ ]] || { echo "TRAIN_UNTIL_S must be a whole number of seconds, got '$TRAIN_UNTIL_S'" >&2; exit 2; }

if [ $DRY_RUN = 1 ]; then
  RUN=${RUN_DIR:-outputs/gpu-dry-run}
  RESULTS=$RUN/results  # the dry run never touches results/
  TRAIN=(--max-train-samples 64 --max-eval-samples 32 --num-train-epochs 1 --per-device-train-batch-size 32
         --max-seq-length 64)
  EVAL=(--max-eval-samples 100)
  SOFT=(--max-rows 64 --max-seq-length 64)
  PACK=(--allow-subset)
  IDENTITY=32  # 'balanced' adds at least 50 per term: thousands of sentences to 64 training rows
  IDENTITY_STATEMENTS=32
else
  RUN=${RUN_DIR:-outputs/gpu}
  RESULTS=results/gpu  # its own table and comparisons: 2 GPU epochs are not ranked against 1 CPU epoch
  TRAIN=(--num-train-epochs 2 --per-device-train-batch-size 128)
  EVAL=()
  SOFT=()
  PACK=()
  IDENTITY=balanced  # per term, as many as bring its toxic share in the training comments to the base rate
  IDENTITY_STATEMENTS=balanced-statements
fi
PACK_DIR=${PACK_DIR:-$RUN/pack}
BUNDLE=${BUNDLE:-gpu_bundle}
started=$SECONDS

if [ $INSTALLED = 0 ]; then
  $PY scripts/device_bundle.py install --bundle "$BUNDLE" --target "$RUN/device" >/dev/null
  # shellcheck disable=SC1091
  source "$RUN/device/env.sh"
fi
device=$($PY -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU")')
echo "== $(date -u +%FT%TZ) $device, ready in $((SECONDS - started)) s"

# step NAME DONE_FILE COMMAND...: run COMMAND unless DONE_FILE exists (an earlier call finished it; "-": always);
# its output goes to $RUN/logs/NAME.log, and only a failure prints it.
mkdir -p "$RUN/logs"
failed=() PACK_MODEL=()
step() {
  local name=$1 done_file=$2 t0=$SECONDS
  shift 2
  if [ "$done_file" != - ] && [ -e "$done_file" ]; then echo "== skip $name"; return; fi
  "$@" >"$RUN/logs/$name.log" 2>&1 || { tail -n 40 "$RUN/logs/$name.log"; echo "== $name failed" >&2; return 1; }
  echo "== $name: $((SECONDS - t0)) s (phase so far $((SECONDS - started)) s)"
}
train() {  # a training that fails or runs out of time is reported, and the phase goes on to score the others
  local name=$1 limit=()
  shift
  if [ -n "${TRAIN_UNTIL_S:-}" ] && [ ! -e "$RUN/$name/run_config.json" ]; then
    local left=$((TRAIN_UNTIL_S - (SECONDS - started)))
    [ $left -gt 30 ] || { echo "== skip $name: past TRAIN_UNTIL_S=$TRAIN_UNTIL_S"; return; }
    limit=(timeout --signal INT --kill-after 20 $left)  # SIGINT: the trainer stops as after Ctrl-C
  fi
  step "$name" "$RUN/$name/run_config.json" "${limit[@]}" "$@" "${TRAIN[@]}" --output-dir "$RUN/$name" ||
    failed+=("$name")
}
evaluate() {  # evaluate NAME...: the trained ones not scored since their training, on the whole test split, then pack
  # the best of results/gpu by validation ROC-AUC, or the one PACK_MODEL=(--model NAME) names
  local checkpoints=()  # (the baselines come from the CPU run)
  for name in "$@"; do
    # results older than the training (an earlier loan's, carried in results/gpu/) belong to other weights
    [ -e "$RUN/$name/run_config.json" ] && [ ! "$RESULTS/$name.json" -nt "$RUN/$name/run_config.json" ] || continue
    if [ "$name" = lora ]; then checkpoints+=("lora=$RUN/lora/merged"); else checkpoints+=("$name=$RUN/$name"); fi
  done
  [ ${#checkpoints[@]} -gt 0 ] || { echo "== nothing new to evaluate"; return; }
  step "evaluation-${checkpoints[0]%%=*}" - $PY run_eval.py --checkpoints "${checkpoints[@]}" --no-baselines --no-cost \
    --results-dir "$RESULTS" "${EVAL[@]}"
  step "pack" - $PY scripts/gpu_results.py pack --results-dir "$RESULTS" --output "$PACK_DIR" --logs "$RUN"/logs/*.log \
    "${PACK[@]}" "${PACK_MODEL[@]}"
}

for phase in "$@"; do
  case $phase in
    teacher)
      train teacher $PY run_finetune.py
      ;;
    train|all)
      train teacher $PY run_finetune.py
      train student-odd $PY run_distill.py --layers odd --teacher "$RUN/teacher"
      train student-even $PY run_distill.py --layers even --teacher "$RUN/teacher"
      train student-odd-ce $PY run_distill.py --layers odd --teacher "$RUN/teacher" --alpha-kl 0 --alpha-cos 0
      train lora $PY run_lora.py
      ;;&
    evaluate|all)
      train minilm-l6 $PY run_finetune.py --model minilm-l6
      evaluate teacher student-odd student-even student-odd-ce lora minilm-l6
      ;;&
    ensemble|all)
      [ -e "$RUN/teacher/run_config.json" ] || { echo "ensemble needs the teacher: run the teacher phase first" >&2; exit 1; }
      train minilm-l6 $PY run_finetune.py --model minilm-l6
      step "soft labels" "$RUN/soft_labels.npz" $PY -m toxiclf.soft_labels --teachers "$RUN/teacher" "$RUN/minilm-l6" \
        --output "$RUN/soft_labels.npz" --batch-size 256 "${SOFT[@]}" || failed+=("soft labels")
      train minilm-l6-ens $PY run_distill.py --student-init minilm-l6 --soft-labels "$RUN/soft_labels.npz" --alpha-cos 0
      train student-odd-ens $PY run_distill.py --layers odd --teacher "$RUN/teacher" --soft-labels "$RUN/soft_labels.npz"
      evaluate teacher minilm-l6 minilm-l6-ens student-odd-ens
      ;;
    debias|debias-statements)  # MiniLM-L6 plus non-toxic identity sentences balanced per term (Dixon et al.;
      # debias-statements: statements that someone is the term too), packed by name. Their base, minilm-l6, is an
      # earlier call's: all are audited where all are (see the README's bias section).
      name=minilm-l6-$([ "$phase" = debias ] && echo debiased || echo debiased-statements)
      recipe=$([ "$phase" = debias ] && echo "$IDENTITY" || echo "$IDENTITY_STATEMENTS")
      train "$name" $PY run_finetune.py --model minilm-l6 --identity-augmentation "$recipe"
      PACK_MODEL=(--model "$name")
      evaluate "$name"
      PACK_MODEL=()
      ;;
    teacher|train|evaluate) ;;
    *) echo "unknown phase $phase (teacher, train, evaluate, ensemble, debias, debias-statements or all)" >&2; exit 2 ;;
  esac
done
echo "== $(date -u +%FT%TZ) phases $* done in $((SECONDS - started)) s"
[ ${#failed[@]} = 0 ] || { echo "== failed or stopped: ${failed[*]}" >&2; exit 1; }
