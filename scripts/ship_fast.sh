#!/usr/bin/env bash
# Ship the fast tier (model-fast/: the smaller student with the best validation ROC-AUC as served, among those whose
# checkpoint is here) and measure it as the default model is measured: its served test metrics, the identity audit
# and the functional suite beside the default model, the frontier with every smaller student still here, its card,
# the tables.
#
#   bash scripts/ship_fast.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
$PY scripts/ship_model.py --best-fast
$PY run_eval.py score --checkpoints shipped-fast=model-fast --backend onnx-int8 --no-baselines
$PY run_eval.py audit --backend onnx-int8 --checkpoints shipped=model shipped-fast=model-fast
$PY run_eval.py functional --backend onnx-int8 --checkpoints shipped-fast=model-fast --no-baselines --update-readme
# The frontier: both shipped models and every smaller student whose folder is here (the one shipped as the fast
# tier among them: the same network, with full-precision weights).
students=$(for d in outputs/student-[0-9]l-*/; do [ -f "$d/config.json" ] && printf '%s=%s ' "$(basename "$d")" "${d%/}"; done)
# shellcheck disable=SC2086
$PY -m research.frontier --checkpoints shipped=model shipped-fast=model-fast $students --update-readme
$PY scripts/ship_model.py --refresh-card results/shipped-fast.json --output model-fast
$PY run_eval.py report --update-readme
