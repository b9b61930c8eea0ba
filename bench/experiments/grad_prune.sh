#!/usr/bin/env bash
# Neural-gradient pruning sweep (METHODS.md §1) on Fashion-MNIST, cnn, one seed and recipe for every run:
# the exact baseline; sparsity 0.5/0.7/0.85/0.95 for stochastic (paper), deterministic and top-k pruning (uniform
# per layer); then uniform vs cosine allocation at equal global sparsity (0.85 and 0.95). Writes a markdown table
# (accuracy, Δ vs baseline, achieved gradient sparsity, samples/s) to $OUT/summary.md.
# Budget: 15 runs × (3 epochs × 10k images + 2k test) ≈ 25–30 min on the 2-core machine at ~450 samples/s
# (pruning adds ~10–20% per step). Override with LIMIT, EPOCHS, TEST_LIMIT, SEED, SPARSITIES, MODES, SCHEDULE,
# THRESHOLD, OUT, e.g. LIMIT=512 EPOCHS=1 for a smoke test.
# Usage: bench/experiments/grad_prune.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=${LIMIT:-10000}; epochs=${EPOCHS:-3}; test_limit=${TEST_LIMIT:-2000}; seed=${SEED:-1}
sparsities=${SPARSITIES:-"0.5 0.7 0.85 0.95"}; modes=${MODES:-"stochastic deterministic topk"}
schedule=${SCHEDULE:-step}; threshold=${THRESHOLD:-lognormal}
out=${OUT:-runs/grad_prune}
source bench/experiments/runs.sh
run baseline
for mode in $modes; do
  for s in $sparsities; do
    run "$mode-$s" --grad-prune "$s" --grad-prune-mode "$mode" --grad-prune-schedule "$schedule" --grad-prune-threshold "$threshold"
  done
done
for s in 0.85 0.95; do
  case " $sparsities " in *" $s "*) ;; *) continue ;; esac
  run "cosine-$s" --grad-prune "$s" --grad-prune-alloc cosine --grad-prune-schedule "$schedule" --grad-prune-threshold "$threshold"
done
{
  echo "# Gradient pruning sweep: cnn, Fashion-MNIST, $epochs epochs × $limit images, seed $seed, schedule $schedule, threshold $threshold"
  echo
  echo "Command: LIMIT=$limit EPOCHS=$epochs TEST_LIMIT=$test_limit SEED=$seed bench/experiments/grad_prune.sh ($(date -u +%Y-%m-%d))"
  echo
  echo "Uniform rows are \`MODE-SPARSITY\`; \`cosine-S\` is cosine allocation (stochastic) at the same global sparsity as \`stochastic-S\`."
  echo
  python3 bench/experiments/summarize_runs.py "${runs[@]}"
} > "$out/summary.md"
cat "$out/summary.md"
