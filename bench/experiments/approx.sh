#!/usr/bin/env bash
# Column-row sampling (METHODS.md §2, issue 5): accuracy and wall-clock vs keep ratio for each sampler and mode, on the
# cnn and the mlp, with the exact baseline in the same run (before and after the sweep, to bracket drifts in machine
# speed), plus a first/last-layer ablation. One command; a markdown table per model at the end (summarize_approx.py).
#
# Budget: sized to finish in about 30 minutes on the 2-core dev machine (cnn exact ≈ 170 samples/s there):
#   cnn: 1 epoch on CNN_LIMIT=3072 training examples, mlp: 2 epochs on MLP_LIMIT=10000, both evaluated on
#   TEST_LIMIT=2000 test examples; 3 samplers × 4 keeps × 3 modes per model = 72 runs + 4 baselines + 3 ablations.
# At this budget accuracy differences below ~1 pp are noise (2000 test images); samples/s ratios are the robust output.
# For the accuracy target (≤ 0.5 pp at ≥ 1.33× on cnn) run the chosen configuration long, e.g.
#   CNN_LIMIT=0 CNN_EPOCHS=3 TEST_LIMIT=0 SAMPLERS=crs KEEPS=0.5 MODES=forward MODELS=cnn bench/experiments/approx.sh
# Usage: bench/experiments/approx.sh [OUT_DIR]   (default runs/approx-<UTC time>); knobs via the variables below.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/approx-$(date -u +%Y%m%dT%H%M)}
MODELS=${MODELS:-"cnn mlp"}
SAMPLERS=${SAMPLERS:-"crs bernoulli topk"}
KEEPS=${KEEPS:-"0.3 0.5 0.7 0.9"}
MODES=${MODES:-"forward backward hybrid"}
CNN_LIMIT=${CNN_LIMIT:-3072}; CNN_EPOCHS=${CNN_EPOCHS:-1}
MLP_LIMIT=${MLP_LIMIT:-10000}; MLP_EPOCHS=${MLP_EPOCHS:-2}
TEST_LIMIT=${TEST_LIMIT:-2000}
ABLATION=${ABLATION:-1}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); out: $out"

run() {   # run NAME MODEL [flags...]
  local name=$1 model=$2; shift 2
  local limit epochs
  if [ "$model" = cnn ]; then limit=$CNN_LIMIT; epochs=$CNN_EPOCHS; else limit=$MLP_LIMIT; epochs=$MLP_EPOCHS; fi
  rm -rf "$out/$name"
  "$frugal" train --model "$model" --epochs "$epochs" --train-limit "$limit" --test-limit "$TEST_LIMIT" --out "$out/$name" "$@" \
    | grep '^epoch' | tail -1 | sed "s|^|$name: |"
}

for model in $MODELS; do
  run "$model-exact-a" "$model"
  for sampler in $SAMPLERS; do
    for mode in $MODES; do
      for keep in $KEEPS; do
        run "$model-$sampler-$mode-$keep" "$model" --approx "$sampler" --approx-mode "$mode" --keep "$keep"
      done
    done
  done
  if [ "$model" = cnn ] && [ "$ABLATION" = 1 ]; then
    # First/last-layer ablation at crs forward 0.5: default (both exact) vs all layers vs only the stem or only the classifier added.
    run "cnn-ablation-all" cnn --approx crs --keep 0.5 --approx-layers all --approx-min-k 1
    run "cnn-ablation-with-stem" cnn --approx crs --keep 0.5 --approx-layers 0,3,7,10,15 --approx-min-k 1
    run "cnn-ablation-with-classifier" cnn --approx crs --keep 0.5 --approx-layers 3,7,10,15,17 --approx-min-k 1
  fi
  run "$model-exact-b" "$model"
done
python3 bench/experiments/summarize_approx.py "$out" | tee "$out/summary.md"
