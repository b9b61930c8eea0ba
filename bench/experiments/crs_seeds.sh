#!/usr/bin/env bash
# Column-row sampling at <= 0.5 pp (METHODS.md §2, issue 17 target 3): final test accuracy of the exact mlp and of
# chosen CRS configurations on full Fashion-MNIST over several seeds (mean ± std, difference to exact), then each
# configuration's whole-step speed-up from `frugal bench step --compare` (exact and sampled steps alternating in one
# process, so both see the same machine load).
#
# Budget: the defaults (mlp 784-1024-1024-10, 5 epochs, seeds 0 1 2, 4 configurations = 12 runs) take about 25 minutes on
# the 2-core dev machine (~3000 samples/s, ~20 s per epoch) plus ~2 minutes of step benchmarks.
# A short check: TRAIN_LIMIT=2000 TEST_LIMIT=500 EPOCHS=1 SEEDS=0 STEPS=3 ROUNDS=2 bench/experiments/crs_seeds.sh
# Runs can be added to an existing OUT_DIR (CONFIGS=auto ... OUT_DIR), then the table redone over all of them with
# SKIP_TRAIN=1 CONFIGS="exact topk-0.5 ..." (SKIP_STEP=1 leaves the step benchmarks out).
# The cnn: MODEL=cnn CONFIGS="exact topk-0.5" SEEDS="0" bench/experiments/crs_seeds.sh
# The cnn table of docs/RESULTS.md (top-k 0.5 on convs 2-4, 5 seeds, ~40 min):
#   MODEL=cnn CONFIGS="exact topk-0.5" LAYERS=3,7,10 SEEDS="0 1 2 3 4" SKIP_STEP=1 RECALIBRATE=50 bench/experiments/crs_seeds.sh
# Usage: bench/experiments/crs_seeds.sh [OUT_DIR]   (default runs/crs-seeds-<UTC time>); knobs via the variables below.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/crs-seeds-$(date -u +%Y%m%dT%H%M)}
MODEL=${MODEL:-mlp}; EPOCHS=${EPOCHS:-5}; SEEDS=${SEEDS:-"0 1 2"}
TRAIN_LIMIT=${TRAIN_LIMIT:-0}; TEST_LIMIT=${TEST_LIMIT:-0}
CONFIGS=${CONFIGS:-"exact topk-0.5 topk-0.7 auto"}
STEPS=${STEPS:-20}; ROUNDS=${ROUNDS:-5}
# Layers sampled by the fixed-keep configurations: both hidden layers of the mlp (the default set leaves its first,
# largest layer exact), the default set (all but the first and the classifier) elsewhere.
LAYERS=${LAYERS:-$([ "$MODEL" = mlp ] && echo 1,3 || echo "")}

config_flags() {   # config_flags NAME -> the train/bench flags of that configuration
  case $1 in
    exact) ;;
    auto) echo "--approx topk --approx-layers auto" ;;
    auto-*) echo "--approx topk --approx-layers auto --approx-error-budget ${1#auto-}" ;;
    topk-*|crs-*|bernoulli-*) echo "--approx ${1%-*} --keep ${1##*-}${LAYERS:+ --approx-layers $LAYERS}" ;;
    *) echo "unknown configuration $1" >&2; exit 2 ;;
  esac
}

dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
# A private copy of the build, so rebuilding the worktree while this runs does not swap the binary under it.
mkdir -p "$out"
rm -rf "$out/bin"; cp -r src/Frugal.Cli/bin/Release/net10.0 "$out/bin"
frugal=$out/bin/frugal
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD); out: $out"
echo "recipe: $MODEL, $EPOCHS epochs, train limit $TRAIN_LIMIT, test limit $TEST_LIMIT, seeds $SEEDS (sgd lr 0.05 momentum 0.9, batch 128: the defaults)"

for cfg in $CONFIGS; do
  [ "${SKIP_TRAIN:-0}" = 1 ] && break
  for seed in $SEEDS; do
    run=$out/$cfg-s$seed
    rm -rf "$run"
    # shellcheck disable=SC2046
    "$frugal" train --model "$MODEL" --epochs "$EPOCHS" --seed "$seed" --train-limit "$TRAIN_LIMIT" --test-limit "$TEST_LIMIT" \
      --out "$run" $(config_flags "$cfg") > "$run.log" 2>&1
    grep '^epoch' "$run.log" | tail -1 | sed "s|^|$cfg seed $seed: |"
  done
done

echo
echo "whole-step speed-up ($MODEL, $ROUNDS alternating rounds of $STEPS steps, exact vs sampled):"
for cfg in $CONFIGS; do
  [ "$cfg" = exact ] || [ "${SKIP_STEP:-0}" = 1 ] && continue
  # shellcheck disable=SC2046
  "$frugal" bench step --model "$MODEL" $(config_flags "$cfg") --compare "$ROUNDS" --steps "$STEPS" > "$out/$cfg-step.txt" 2>&1
  echo "$cfg: $(grep 'speed-up per round' "$out/$cfg-step.txt" | sed 's/.*per round: //')"
done

# RECALIBRATE=N: also evaluate every run's final model with its batch norms' statistics re-estimated from N training
# batches (frugal eval --bn-recalibrate N), written to RUN/recalibrated.txt and tabled below the main table.
if [ "${RECALIBRATE:-0}" -gt 0 ]; then
  for cfg in $CONFIGS; do
    for seed in $SEEDS; do
      "$frugal" eval --checkpoint "$out/$cfg-s$seed/model.safetensors" --bn-recalibrate "$RECALIBRATE" --no-install \
        | tail -1 > "$out/$cfg-s$seed/recalibrated.txt"
    done
  done
fi

echo
python3 - "$out" "$CONFIGS" "$SEEDS" "${RECALIBRATE:-0}" <<'EOF'
import json, statistics, sys
out, configs, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def final(cfg, seed):
    rows = [json.loads(l) for l in open(f"{out}/{cfg}-s{seed}/metrics.jsonl") if '"test_accuracy"' in l]
    return rows[-1]
def speed(cfg):
    try:
        line = next(l for l in open(f"{out}/{cfg}-step.txt") if "speed-up per round" in l)
        return line.split("median")[-1].strip()
    except (OSError, StopIteration):
        return "—"
base = None
print("| config | test acc % (seeds " + ", ".join(seeds) + ") | mean ± std | vs exact | approx_flops_ratio | whole-step speed-up |")
print("|---|---|---|---|---|---|")
for cfg in configs:
    rows = [final(cfg, s) for s in seeds]
    acc = [100 * r["test_accuracy"] for r in rows]
    mean, std = statistics.mean(acc), (statistics.stdev(acc) if len(acc) > 1 else 0.0)
    if base is None: base = mean
    ratio = statistics.mean(r.get("approx_flops_ratio", 1.0) for r in rows)
    delta = "—" if cfg == configs[0] else f"{mean - base:+.2f} pp"
    print(f"| {cfg} | {', '.join(f'{a:.2f}' for a in acc)} | {mean:.2f} ± {std:.2f} | {delta} | {ratio:.3f} | {'—' if cfg == 'exact' else speed(cfg)} |")
if int(sys.argv[4]) > 0:
    print(f"\nwith the batch norms' statistics re-estimated from {sys.argv[4]} training batches (frugal eval --bn-recalibrate):")
    print("| config | test acc % | mean ± std | vs exact | ± (s.e. of the difference) |")
    print("|---|---|---|---|---|")
    first = None
    for cfg in configs:
        acc = [float(open(f"{out}/{cfg}-s{s}/recalibrated.txt").read().split("test accuracy")[1].strip().rstrip("%")) for s in seeds]
        mean, var = statistics.mean(acc), (statistics.variance(acc) if len(acc) > 1 else 0.0)
        if first is None: first = (mean, var)
        delta = "—" if cfg == configs[0] else f"{mean - first[0]:+.2f} pp"
        se = "—" if cfg == configs[0] else f"{((var + first[1]) / len(acc)) ** 0.5:.2f}"
        print(f"| {cfg} | {', '.join(f'{a:.2f}' for a in acc)} | {mean:.2f} ± {var ** 0.5:.2f} | {delta} | {se} |")
EOF
