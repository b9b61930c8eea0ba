#!/usr/bin/env bash
# ZAP zero-activation predictors (METHODS.md §6, issue 14): MACs saved (net of the predictors) vs test accuracy on the
# benchmark cnn, for patterns 50/67/75% computed, uniform vs per-layer thresholds, plain and after BN recalibration, and
# with a one-epoch backbone fine-tune at the per-layer points of the checkerboard; plus the wall-clock of skipping the
# predicted zeros against the dense model. Target: ≥ 20% MACs saved at ≤ 0.5 pp accuracy loss.
#
# Budget: about 15–20 minutes on the 2-core dev machine: the cnn 3 epochs on the full training set (reused when
# $out/cnn/model.safetensors exists), predictors 2 epochs on ZAP_TRAIN_LIMIT training images, every operating point on
# TEST_LIMIT test images (at 5000, one image is 0.02 pp: differences below ~0.3 pp are noise).
# A short check: CNN_LIMIT=5000 CNN_EPOCHS=1 ZAP_TRAIN_LIMIT=5000 ZAP_EPOCHS=1 TEST_LIMIT=2000 bench/experiments/zap.sh
# Usage: bench/experiments/zap.sh [OUT_DIR]   (default runs/zap-<UTC time>); knobs via the variables below.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/zap-$(date -u +%Y%m%dT%H%M)}
CNN_LIMIT=${CNN_LIMIT:-0}; CNN_EPOCHS=${CNN_EPOCHS:-3}
ZAP_TRAIN_LIMIT=${ZAP_TRAIN_LIMIT:-10000}; ZAP_EPOCHS=${ZAP_EPOCHS:-2}
TEST_LIMIT=${TEST_LIMIT:-5000}
PATTERNS=${PATTERNS:-50,67,75}
THRESHOLDS=${THRESHOLDS:-0,0.2,0.4,0.6}
BUDGETS=${BUDGETS:-0.05,0.1,0.2}
FT_PATTERN=${FT_PATTERN:-50}; FT_BUDGETS=${FT_BUDGETS:-0.1,0.2}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); out: $out"
if [ ! -f "$out/cnn/model.safetensors" ]; then
  "$frugal" train --model cnn --epochs "$CNN_EPOCHS" --train-limit "$CNN_LIMIT" --out "$out/cnn" | grep '^epoch'
fi
common=(--checkpoint "$out/cnn/model.safetensors" --epochs "$ZAP_EPOCHS" --train-limit "$ZAP_TRAIN_LIMIT" --test-limit "$TEST_LIMIT")
echo "== patterns $PATTERNS, uniform and per-layer thresholds, plain and BN-recalibrated"
"$frugal" zap "${common[@]}" --pattern "$PATTERNS" --threshold both --thresholds "$THRESHOLDS" --budget "$BUDGETS" \
  --recalibrate-bn --out "$out/sweep" | tee "$out/sweep.txt"
echo "== pattern $FT_PATTERN, per-layer thresholds, one fine-tune epoch on $ZAP_TRAIN_LIMIT images at each point"
"$frugal" zap "${common[@]}" --pattern "$FT_PATTERN" --threshold per-layer --budget "$FT_BUDGETS" \
  --fine-tune --timing-batches 0 --out "$out/fine-tune" | tee "$out/fine-tune.txt"
