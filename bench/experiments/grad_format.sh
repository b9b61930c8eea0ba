#!/usr/bin/env bash
# Low-bit floating-point neural gradients (METHODS.md §1) on Fashion-MNIST cnn, one seed and recipe for every run:
# the FP32 baseline; fp4/fp5/fp6/fp8 (exponent bits fitted per layer) with round-to-nearest-even; fp6 also with
# stochastic rounding and with one global scale instead of per-layer scales; the fixed OCP formats e4m3fn and e5m2.
# Writes a markdown table (accuracy, Δ vs baseline, measured relative quantisation error ‖Q(g)−g‖²/‖g‖², the
# formats chosen per layer, samples/s) to $OUT/summary.md.
# Budget: 10 runs × (3 epochs × 10k images + 2k test) ≈ 20–25 min on the 2-core machine. Override with LIMIT,
# EPOCHS, TEST_LIMIT, SEED, OUT, BITS (default "4 5 6 8"), ROUNDINGS (default "nearest"; fp6 also runs stochastic), FIXED (default
# "e4m3fn e5m2"), e.g. LIMIT=512 EPOCHS=1 for a smoke test.
# Usage: bench/experiments/grad_format.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=${LIMIT:-10000}; epochs=${EPOCHS:-3}; test_limit=${TEST_LIMIT:-2000}; seed=${SEED:-1}
out=${OUT:-runs/grad_format}
bits_list=${BITS:-"4 5 6 8"}; roundings=${ROUNDINGS:-"nearest"}; fixed=${FIXED-"e4m3fn e5m2"}
source bench/experiments/runs.sh
run baseline
for bits in $bits_list; do
  for rounding in $roundings; do
    run "fp$bits-$rounding" --grad-format "fp$bits" --grad-rounding "$rounding"
  done
done
run fp6-stochastic --grad-format fp6 --grad-rounding stochastic
run fp6-nearest-global --grad-format fp6 --grad-scale global
for f in $fixed; do run "$f-nearest" --grad-format "$f"; done
{
  echo "# Low-bit FP gradients: cnn, Fashion-MNIST, $epochs epochs × $limit images, seed $seed"
  echo
  echo "Command: LIMIT=$limit EPOCHS=$epochs TEST_LIMIT=$test_limit SEED=$seed bench/experiments/grad_format.sh ($(date -u +%Y-%m-%d))"
  echo
  python3 - "${runs[@]}" <<'PY'
import json, sys
runs = [a.split("=", 1) for a in sys.argv[1:]]
base = None
print("| run | test accuracy | Δ vs baseline (pp) | rel. error (last epoch) | formats (last epoch, per layer) | samples/s |")
print("|---|---|---|---|---|---|")
for name, path in runs:
    m = [json.loads(l) for l in open(f"{path}/metrics.jsonl") if l.strip()]
    acc = m[-1]["test_accuracy"] * 100
    base = acc if base is None else base
    err = m[-1].get("grad_quant_rel_error")
    fmts = " ".join(f["format"] for f in m[-1].get("grad_format_layers", {}).values()) or "fp32"
    sps = sum(e["samples_per_second"] for e in m) / len(m)
    print(f"| {name} | {acc:.2f}% | {acc - base:+.2f} | {'–' if err is None else f'{err:.4f}'} | {fmts} | {sps:.0f} |")
PY
} > "$out/summary.md"
cat "$out/summary.md"
