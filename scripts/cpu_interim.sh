#!/usr/bin/env bash
# How the interim models in results/ and model/ were made: every contender trained on CPU (2 cores) on the first
# 6,000 training comments for one epoch, scored on the first 4,000 test and validation comments; then the best
# student on validation is shipped (fp16) and scored again on the same rows. About 2.5 hours on 2 cores.
# A full-scale run (all 111,689 training comments, 2 epochs) needs a GPU: `bash scripts/pipeline.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
Q=(--max-train-samples 6000 --max-eval-samples 2000 --num-train-epochs 1)
OUT=outputs/cpu

$PY run_finetune.py "${Q[@]}" --output-dir $OUT/teacher
$PY run_distill.py --layers odd --teacher $OUT/teacher "${Q[@]}" --output-dir $OUT/student-odd
$PY run_distill.py --layers even --teacher $OUT/teacher "${Q[@]}" --output-dir $OUT/student-even
$PY run_finetune.py --model minilm-l6 "${Q[@]}" --output-dir $OUT/minilm-l6
$PY run_distill.py --layers odd --alpha-kl 0 --alpha-cos 0 --teacher $OUT/teacher "${Q[@]}" --output-dir $OUT/student-odd-ce
$PY run_lora.py "${Q[@]}" --output-dir $OUT/lora

$PY run_eval.py --max-eval-samples 4000 --baseline-max-train-samples 6000 --checkpoints \
  teacher=$OUT/teacher student-odd=$OUT/student-odd student-even=$OUT/student-even lora=$OUT/lora/merged \
  student-odd-ce=$OUT/student-odd-ce minilm-l6=$OUT/minilm-l6
# Ship the student with the best validation ROC-AUC (recorded as validation_roc_auc in results/*.json).
BEST=$($PY - <<'PY'
import json, pathlib
students = [json.loads(p.read_text()) for p in pathlib.Path("results").glob("student-*.json")]
print(max(students, key=lambda r: r["metrics"]["validation_roc_auc"])["model"])
PY
)
$PY scripts/ship_model.py --checkpoint $OUT/$BEST --results results/$BEST.json
$PY run_eval.py --max-eval-samples 4000 --no-baselines --checkpoints shipped=model --update-readme
$PY run_eval.py --bench --teacher $OUT/teacher --student model --max-eval-samples 2000 --update-readme
$PY scripts/load_test.py --update-readme
