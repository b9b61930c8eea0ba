#!/usr/bin/env bash
# KURE (METHODS.md §5, issue 14): train the plain cnn, fine-tune two copies for the same number of epochs, one plain
# and one with the kurtosis regulariser (K_T = 1.8, and each of EXTRA_TARGETS), then sweep post-training quantisation
# on all of them side by side: W8…W2 with float activations, W/A 6/6…3/3, the step-perturbation curve Δ = r·Δ_MSE
# at W4 and power-of-two steps. Target of the issue: at W3 the KURE model loses ≥ 3 pp less than the plain one.
#
# Budget: the defaults take about 15 minutes on the 2-core dev machine (cnn trains at ≈ 170 samples/s there):
#   base EPOCHS=2 on TRAIN_LIMIT=20000, each fine-tune FT_EPOCHS=1 at FT_LR=0.01, sweeps on TEST_LIMIT=2000 test images.
# A short check: TRAIN_LIMIT=5000 EPOCHS=1 TEST_LIMIT=500 PERTURB=0.7:1.3:5 bench/experiments/kure.sh
# The paper's K_T comparison: EXTRA_TARGETS="3 6" (two more fine-tunes and columns). Another seed: SEED=1.
# Usage: bench/experiments/kure.sh [OUT_DIR]   (default runs/kure-<UTC time>); knobs via the variables below.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/kure-$(date -u +%Y%m%dT%H%M)}
TRAIN_LIMIT=${TRAIN_LIMIT:-20000}; EPOCHS=${EPOCHS:-2}
FT_EPOCHS=${FT_EPOCHS:-1}; FT_LR=${FT_LR:-0.01}
LAMBDA=${LAMBDA:-1.0}; EXTRA_TARGETS=${EXTRA_TARGETS:-}
TEST_LIMIT=${TEST_LIMIT:-2000}; SEED=${SEED:-0}
WEIGHT_BITS=${WEIGHT_BITS:-8,6,4,3,2}; ACT_BITS=${ACT_BITS:-6,5,4,3}; PERTURB=${PERTURB:-0.7:1.3:21}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); out: $out"

train() {   # train NAME [flags...]
  local name=$1; shift
  rm -rf "$out/$name"
  "$frugal" train --model cnn --seed "$SEED" --train-limit "$TRAIN_LIMIT" --test-limit "$TEST_LIMIT" --out "$out/$name" "$@" | grep '^epoch' | tail -1 | sed "s|^|$name: |"
}

train base --epochs "$EPOCHS"
train plain --epochs "$FT_EPOCHS" --lr "$FT_LR" --init-from "$out/base/model.safetensors"
compare=()
for kt in 1.8 $EXTRA_TARGETS; do
  train "kure-$kt" --epochs "$FT_EPOCHS" --lr "$FT_LR" --init-from "$out/base/model.safetensors" --kure "$LAMBDA" --kurtosis-target "$kt"
  compare+=("$out/kure-$kt/model.safetensors")
done
for run in plain "${compare[@]}"; do
  f=$out/${run#$out/}; f=${f%/model.safetensors}/metrics.jsonl
  echo "$(basename "$(dirname "$f")") per-layer kurtosis:"; tail -1 "$f" | python3 -c 'import json,sys; m=json.loads(sys.stdin.read()); print("  ", m.get("kure_layers", "(not regularised)"), "penalty", m.get("kure_penalty", "-"))'
done
"$frugal" quantize --checkpoint "$out/plain/model.safetensors" --compare "${compare[@]}" --test-limit "$TEST_LIMIT" \
  --weight-bits "$WEIGHT_BITS" --act-bits "$ACT_BITS" --perturb "$PERTURB" --pow2 --out "$out/quantize" | tee "$out/quantize.md"
