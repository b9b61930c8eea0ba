#!/usr/bin/env bash
# Output heads (METHODS.md §4.2, Øland arXiv 1707.04199; issue 15 item 1): the mlp on Fashion-MNIST with each head
# (softmax = the baseline, linear-mse, exp, exp-boost and cube, the last two PROPOSALs) under SGD (momentum 0.9) and
# Adam. Each head × optimizer first gets its learning rate from `frugal lr-search` (LR_EPOCHS epoch(s) on
# LR_LIMIT training images per rate, ranked by the last epoch's training loss), then trains EPOCHS epochs on
# TRAIN_LIMIT training images (0 = all 60000), evaluated on TEST_LIMIT test images. The claim: linear heads with an exponentiated or cubed error converge faster with SGD, not with Adam.
# Reported per run: test accuracy per epoch, the first epoch reaching TARGET, final accuracy, and the mean first-layer
# gradient norm (and its ratio to the last layer's).
#
# Budget: the defaults take about 10 minutes on the loaded 2-core dev machine (the mlp trains at 1500–10000 samples/s
# there, depending on the other jobs). Full scale: TRAIN_LIMIT=0 TEST_LIMIT=0 EPOCHS=10 LR_LIMIT=10000.
# A short check: EPOCHS=1 TRAIN_LIMIT=2000 LR_LIMIT=1000 HEADS="softmax cube" bench/experiments/heads.sh
# Usage: bench/experiments/heads.sh [OUT_DIR]   (default runs/heads-<UTC time>); knobs via the variables below.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/heads-$(date -u +%Y%m%dT%H%M)}
EPOCHS=${EPOCHS:-4}; TRAIN_LIMIT=${TRAIN_LIMIT:-10000}; TEST_LIMIT=${TEST_LIMIT:-2000}; SEED=${SEED:-0}; TARGET=${TARGET:-0.85}
LR_EPOCHS=${LR_EPOCHS:-1}; LR_LIMIT=${LR_LIMIT:-3000}
SGD_LRS=${SGD_LRS:-0.01,0.03,0.1,0.3}; ADAM_LRS=${ADAM_LRS:-0.0001,0.0003,0.001,0.003}
HEADS=${HEADS:-softmax linear-mse exp exp-boost cube}; OPTIMIZERS=${OPTIMIZERS:-sgd adam}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); out: $out"

runs=()
for opt in $OPTIMIZERS; do
  lrs=$SGD_LRS; [ "$opt" = adam ] && lrs=$ADAM_LRS
  for head in $HEADS; do
    name=$head-$opt
    rm -rf "$out/$name" "$out/$name-lr"
    lr=$("$frugal" lr-search --model mlp --optimizer "$opt" --head "$head" --seed "$SEED" --epochs "$LR_EPOCHS" \
           --train-limit "$LR_LIMIT" --test-limit 1000 --lrs "$lrs" --out "$out/$name-lr" | tee "$out/$name-lr.md" | awk '/^best_lr/ {print $2}')
    "$frugal" train --model mlp --optimizer "$opt" --head "$head" --lr "$lr" --seed "$SEED" --epochs "$EPOCHS" \
      --train-limit "$TRAIN_LIMIT" --test-limit "$TEST_LIMIT" --out "$out/$name" | grep '^epoch' | tail -1 | sed "s|^|$name (lr $lr): |"
    runs+=("$name=$out/$name")
  done
done
python3 bench/experiments/summarize_heads.py "$TARGET" "${runs[@]}" | tee "$out/heads.md"
# Convergence per head, one chart per optimizer (this seed's runs).
for opt in $OPTIMIZERS; do
  dirs=(); for head in $HEADS; do dirs+=("$out/$head-$opt"); done
  "$frugal" plot "${dirs[@]}" --labels "$(echo $HEADS | tr ' ' ',')" --y test_accuracy --ylabel "test accuracy" \
    --title "Output heads with $opt: test accuracy per epoch (mlp, seed $SEED)" --out "$out/heads-$opt.png"
done
