#!/usr/bin/env bash
# The full-scale run on one GPU (all training comments, 2 epochs, bf16, batch 128, one validation per epoch), in
# phases that each end well inside a 10-minute call (`python -m research.runner gpu`, after the bundle is installed).
# A phase skips the steps an earlier call finished on the same machine, resumes an interrupted training from its
# last epoch checkpoint, and prints the seconds of each step.
#
#   python scripts/device_bundle.py build     # here, once: gpu_bundle/part1 (training), part2 (MiniLM), part3 (the
#                                             # smaller students: training and the shipped model's weights)
#   bash scripts/gpu_full_run.sh train        # GPU, with part1: teacher, odd, even, odd CE-only, LoRA
#   PACK_DIR=... bash scripts/gpu_full_run.sh evaluate   # GPU, with part2: MiniLM-L6 direct, run_eval.py, pack
#   PACK_DIR=... bash scripts/gpu_full_run.sh ensemble   # GPU, with part2: MiniLM-L6 direct, soft labels, the two
#                                             # -ens students, run_eval.py on what is not scored yet, pack
#   bash scripts/gpu_full_run.sh teacher      # GPU, with part1: the teacher alone (a short loan: teacher, ensemble)
#   PACK_DIR=... bash scripts/gpu_full_run.sh debias     # GPU, with part2 after part1: MiniLM-L6 with non-toxic
#                                             # identity sentences balanced per term, run_eval.py, pack it
#   PACK_DIR=... bash scripts/gpu_full_run.sh debias-statements   # the same, statements ("X is gay.") balanced too
#   RESULTS_DIR=results/gpu-small PACK_DIR=... bash scripts/gpu_full_run.sh small   # GPU, with part3 alone: every
#                                             # smaller student again on the CPU recipe, all at once, and the shipped
#                                             # model; run_eval.py, pack the results alone (a replicate of the CPU table)
#   python scripts/gpu_results.py unpack DIR  # here: the returned files -> results/gpu/ and outputs/gpu/<student>
#                                             # (--results-dir results/gpu-small for the small phase)
#   bash scripts/ship_round.sh --teacher outputs/teacher   # here: ship the best of both runs, card, README, ...
#
#   bash scripts/gpu_full_run.sh --dry-run all   # CPU, 64 training rows, a bundle for this Python: what CI runs
#   bash scripts/gpu_full_run.sh --installed all # with this environment's packages instead of a bundle (make smoke:
#                                                # --dry-run --installed; a GPU machine with the project installed)
# TRAIN_UNTIL_S=N: no training starts after N seconds of the call, and one still running then is stopped, so that
# a call with a hard limit still evaluates and packs what it finished. Each step logs to $RUN/logs/NAME.log (printed
# when it fails); a failed training is reported and the phase goes on to score and pack the others.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DRY_RUN=0 INSTALLED=0
while [ "${1:-}" = --dry-run ] || [ "${1:-}" = --installed ]; do
  [ "$1" = --dry-run ] && DRY_RUN=1
  [ "$1" = --installed ] && INSTALLED=1
  shift
done
[ $# -gt 0 ] || { echo "usage: gpu_full_run.sh [--dry-run] [--installed] teacher|train|evaluate|ensemble|debias|debias-statements|small|all ... [--only NAME ...]" >&2; exit 2; }
[[ ${TRAIN_UNTIL_S:-0} =~ ^[0-9]+$ ]] || { echo "TRAIN_UNTIL_S must be a whole number of seconds, got '$TRAIN_UNTIL_S'" >&2; exit 2; }

if [ $DRY_RUN = 1 ]; then
  RUN=${RUN_DIR:-outputs/gpu-dry-run}
  RESULTS=$RUN/results  # the dry run never touches results/
else
  RUN=${RUN_DIR:-outputs/gpu}
  RESULTS=${RESULTS_DIR:-results/gpu}  # its own table and comparisons: 2 GPU epochs are not ranked against 1 CPU epoch
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

# The phases, their models and each model's recipe: research.experiments (GPU_PHASES), run by research.runner.
limit=()
[ -z "${TRAIN_UNTIL_S:-}" ] || limit=(--train-until-s $((TRAIN_UNTIL_S - (SECONDS - started))))
dry=()
[ $DRY_RUN = 0 ] || dry=(--dry-run)
exec $PY -m research.runner gpu "$@" --run-dir "$RUN" --results-dir "$RESULTS" --pack-dir "$PACK_DIR" --python "$PY" \
  "${dry[@]}" "${limit[@]}"
