#!/usr/bin/env bash
# Ship the best 6-layer model by validation ROC-AUC and refresh everything that describes what is served: the
# served backend's test metrics (results/shipped.json), the bias audit, the model card, the README's tables,
# the inference benchmark, both load tests and the explanation check. When the best model is the one already
# shipped and a round completed for it, only the audit (of the newly trained models too), the card and the README's
# tables are refreshed.
#
#   bash scripts/ship_round.sh --teacher outputs/teacher [NAME=PATH ...]   # NAME=PATH: more models to audit
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ "${1:-}" = --teacher ] && [ -n "${2:-}" ] || { echo "usage: ship_round.sh --teacher DIR [NAME=PATH ...]" >&2; exit 2; }
TEACHER=$2
shift 2
# A round that completed leaves the shipped weights' sha256 here: a round stopped half-way is completed next time.
STAMP=${SHIP_STAMP:-outputs/ship_round.sha256}
# The audit before choosing: a bias-mitigated model is a contender only when the audit finds it better. Models
# audited before with the same inputs are not scored again, so the audit after shipping costs only a new model.
$PY run_eval.py audit --backend onnx-int8 --checkpoints shipped=model "$@"
status=0
$PY scripts/ship_model.py --best --unless-shipped || status=$?
[ $status = 0 ] || [ $status = 3 ] || exit $status  # 3: the best model is already shipped
full=1
if [ $status = 3 ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$(sha256sum model/model.safetensors | cut -d' ' -f1)" ]; then
  full=0
fi

[ "$full" = 1 ] && $PY run_eval.py score --checkpoints shipped=model --backend onnx-int8 --no-baselines
$PY run_eval.py audit --backend onnx-int8 --checkpoints shipped=model "$@"
$PY scripts/ship_model.py --refresh-card  # the card names the other audited models too: refreshed every round
$PY run_eval.py report --update-readme
if [ "$full" = 0 ]; then exit 0; fi
$PY run_eval.py bench --teacher "$TEACHER" --student model --max-eval-samples 2000 --update-readme
$PY scripts/load_test.py --update-readme
$PY scripts/load_test.py --concurrency 64 --heavy-clients 1 --slow-connections 200 \
  --output results/serving_mixed.json --readme-section serving-mixed --update-readme
$PY scripts/explain_faithfulness.py
mkdir -p "$(dirname "$STAMP")"
sha256sum model/model.safetensors | cut -d' ' -f1 >"$STAMP"
