#!/usr/bin/env bash
# The whole pipeline at toy scale on CPU (minutes): every trainer, then the evaluation.
# Usage: bash scripts/smoke_pipeline.sh [TRAIN_ROWS]   (default 256; outputs/ and results/ are overwritten)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
ACCELERATE=${ACCELERATE:-.venv/bin/accelerate}
ROWS=${1:-256}
QUICK=(--max-train-samples "$ROWS" --overwrite-output-dir)

$PY -m toxiclf.e5                                   # convert the embedded teacher once (cached)
$PY run_finetune.py "${QUICK[@]}"                  # 12-layer teacher -> outputs/teacher
$ACCELERATE launch run_distill.py --layers odd "${QUICK[@]}"
$ACCELERATE launch run_distill.py --layers even "${QUICK[@]}"
$PY run_lora.py "${QUICK[@]}"
$PY run_distill.py --layers odd --alpha-kl 0 --alpha-cos 0 --output-dir outputs/student-odd-ce "${QUICK[@]}"
$PY run_finetune.py --model minilm-l6 --output-dir outputs/minilm-l6 "${QUICK[@]}"
$PY run_eval.py --max-eval-samples 500 --baseline-max-train-samples "$ROWS"
