#!/usr/bin/env bash
# Ship the best 6-layer model by validation ROC-AUC and refresh everything that describes what is served: the
# served backend's test metrics (results/shipped.json), the bias audit, the model card, the README's tables,
# the inference benchmark, both load tests and the explanation check.
#
#   bash scripts/ship_round.sh --teacher outputs/teacher [NAME=PATH ...]   # NAME=PATH: more models to audit
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ "${1:-}" = --teacher ] && [ -n "${2:-}" ] || { echo "usage: ship_round.sh --teacher DIR [NAME=PATH ...]" >&2; exit 2; }
TEACHER=$2
shift 2
$PY scripts/ship_model.py --best
$PY run_eval.py --checkpoints shipped=model --backend onnx-int8 --no-baselines
$PY run_eval.py --bias-audit --backend onnx-int8 --checkpoints shipped=model "$@"
$PY scripts/ship_model.py --refresh-card
$PY run_eval.py --report-only --update-readme
$PY run_eval.py --bench --teacher "$TEACHER" --student model --max-eval-samples 2000 --update-readme
$PY scripts/load_test.py --update-readme
$PY scripts/load_test.py --concurrency 64 --heavy-clients 1 --slow-connections 200 \
  --output results/serving_mixed.json --readme-section serving-mixed --update-readme
$PY scripts/explain_faithfulness.py
