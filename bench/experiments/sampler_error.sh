#!/usr/bin/env bash
# Sampler error vs keep ratio (METHODS.md §2, issue 5): uniform CRS, optimal CRS, Bernoulli-CRS and Top-k, RMS relative
# error ‖Ŷ − Y‖_F/‖Y‖_F of forward-sampled layers, on synthetic operand pairs and on the real activation/weight pairs
# of the mlp and the cnn after a short exact training (1 epoch on TRAIN_LIMIT examples). One command; about 5 minutes
# on the 2-core dev machine at the defaults. Usage: bench/experiments/sampler_error.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/sampler-error-$(date -u +%Y%m%dT%H%M)}
TRAIN_LIMIT=${TRAIN_LIMIT:-10000}; DRAWS=${DRAWS:-20}; MODELS=${MODELS:-"mlp cnn"}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
for model in $MODELS; do
  "$frugal" bench approx --model "$model" --epochs 1 --train-limit "$TRAIN_LIMIT" --test-limit 1000 --draws "$DRAWS" --table "$out/$model.md"
done
