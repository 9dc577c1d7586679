#!/usr/bin/env bash
# Every trainer, then the evaluation. Full scale by default (a GPU job); smoke scale with a row count (CPU, minutes):
#   bash scripts/pipeline.sh            # full data: teacher, odd, even, LoRA, CE-only ablation, MiniLM, run_eval
#   bash scripts/pipeline.sh 256        # 256 training rows, 500 evaluation rows
# Extra training flags can follow the row count, e.g. `bash scripts/pipeline.sh "" --per-device-train-batch-size 64`.
# Outputs go to outputs/ (each run is started afresh) and results/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
ACCELERATE=${ACCELERATE:-"$PY -m accelerate.commands.launch"}
ROWS=${1:-}
shift || true
COMMON=(--overwrite-output-dir "$@")
EVAL=()
if [ -n "$ROWS" ]; then
  COMMON+=(--max-train-samples "$ROWS")
  EVAL=(--max-eval-samples 500 --baseline-max-train-samples "$ROWS")
fi

stage() { echo "== $(date -u +%H:%M:%S) $*"; }
stage "convert the embedded teacher (cached)"; $PY -m toxiclf.e5
stage "teacher";          $PY run_finetune.py "${COMMON[@]}"
stage "odd student";      $ACCELERATE run_distill.py --layers odd "${COMMON[@]}"
stage "even student";     $ACCELERATE run_distill.py --layers even "${COMMON[@]}"
stage "LoRA";             $PY run_lora.py "${COMMON[@]}"
stage "CE-only ablation"; $PY run_distill.py --layers odd --alpha-kl 0 --alpha-cos 0 --output-dir outputs/student-odd-ce "${COMMON[@]}"
stage "MiniLM-L6 direct"; $PY run_finetune.py --model minilm-l6 --output-dir outputs/minilm-l6 "${COMMON[@]}"
stage "evaluation";       $PY run_eval.py "${EVAL[@]}"
stage "done"
