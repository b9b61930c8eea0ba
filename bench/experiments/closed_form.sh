#!/usr/bin/env bash
# Closed-form MLP fit (METHODS.md §4.5, PROPOSAL; issue 15 item 5): ridge output layer + hidden refits through f⁻¹,
# against SGD on the same architecture and data in the same run.
#  1. Toy problems (spirals, xor, sine): widths 16/64/256, λ = 1e-4, 2 rounds of minimal-change hidden targets; SGD
#     (momentum 0.9, batch 32) for SGD_EPOCHS; and the PROPOSAL's literal minimum-norm targets on spirals.
#  2. Fashion-MNIST on the first N training images: hidden width swept across N at λ ∈ LAMBDAS, output fit only
#     (rounds 0, where the collapse near width = N lives), SGD for FASHION_SGD_EPOCHS per width; then 2 refit rounds
#     at two widths and λ.
# Budget: about 5 minutes on the 2-core dev machine with the defaults. Another seed: SEED=1.
# Usage: bench/experiments/closed_form.sh [OUT_DIR]   (default runs/closed-form-<UTC time>)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/closed-form-$(date -u +%Y%m%dT%H%M)}
SEED=${SEED:-0}; TOY_N=${TOY_N:-600}; SGD_EPOCHS=${SGD_EPOCHS:-50}
N=${N:-2000}; TEST_LIMIT=${TEST_LIMIT:-10000}
WIDTHS=${WIDTHS:-64,256,1000,1500,2000,2500,4000,8000}; LAMBDAS=${LAMBDAS:-1e-8,1e-4,1e-1,1}
FASHION_SGD_EPOCHS=${FASHION_SGD_EPOCHS:-10}; FASHION_SGD_LR=${FASHION_SGD_LR:-0.01}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); out: $out; seed $SEED"

toy() {   # toy NAME DATA [flags...]
  local name=$1 data=$2; shift 2
  "$frugal" fit-closed-form --data "$data" --widths 16,64,256 --lambda 1e-4 --rounds 2 --train-limit "$TOY_N" --test-limit "$TOY_N" \
    --seed "$SEED" --out "$out/$name" "$@" | tee "$out/$name.md" | grep '^|'
}
toy spirals spirals --compare-sgd "$SGD_EPOCHS" --sgd-lr 0.05
toy spirals-minimum-norm spirals --hidden-targets minimum_norm
toy xor xor --compare-sgd "$SGD_EPOCHS" --sgd-lr 0.05
toy sine sine --compare-sgd "$SGD_EPOCHS" --sgd-lr 0.01

"$frugal" fit-closed-form --data fashion --widths "$WIDTHS" --lambdas "$LAMBDAS" --rounds 0 --train-limit "$N" --test-limit "$TEST_LIMIT" \
  --seed "$SEED" --compare-sgd "$FASHION_SGD_EPOCHS" --sgd-lr "$FASHION_SGD_LR" --out "$out/fashion" | tee "$out/fashion.md" | grep '^|'
"$frugal" fit-closed-form --data fashion --widths 256,"$N" --lambdas 1e-4,1 --rounds 2 --train-limit "$N" --test-limit "$TEST_LIMIT" \
  --seed "$SEED" --out "$out/fashion-rounds" | tee "$out/fashion-rounds.md" | grep '^|'
"$frugal" eval --checkpoint "$out/fashion/model.safetensors" | sed 's|^|frugal eval of the best fashion fit: |'
