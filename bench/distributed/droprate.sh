#!/usr/bin/env bash
# Accuracy vs drop rate (the DropCompute paper's random-drop experiment, METHODS.md §3): RANKS ranks, each rank's whole
# gradient zeroed with probability P per step (still averaged over N), same recipe and seeds for every P.
# Usage: bench/distributed/droprate.sh [OUT]   env: RANKS=4 RATES="0 0.1 0.2" SEEDS="0 1" EPOCHS=3 HIDDEN="256 256"
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/droprate}
ranks=${RANKS:-4}; rates=${RATES:-"0 0.1 0.2"}; seeds=${SEEDS:-"0 1"}; epochs=${EPOCHS:-3}; hidden=${HIDDEN:-"256 256"}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=$PWD/src/Frugal.Cli/bin/Release/net10.0/frugal.dll
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); $ranks ranks, $epochs epochs, seeds $seeds"
for p in $rates; do
  for seed in $seeds; do
    name=p$p-$seed
    rm -rf "${out:?}/$name"
    drop=(); [ "$p" != 0 ] && drop=(--drop-rate "$p")
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" --mca btl self,vader --mca btl_vader_single_copy_mechanism none \
      dotnet "$frugal" train --no-install --model mlp --hidden $hidden --epochs "$epochs" --batch-size 32 --seed "$seed" "${drop[@]}" \
      --out "$out/$name" > "$out/$name.log" 2>&1 || { echo "$name failed: $(tail -3 "$out/$name.log")"; exit 1; }
  done
done
python3 - "$out" "$rates" "$seeds" <<'PY'
import json, statistics as st, sys
out, rates, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def last(p, s): return [json.loads(l) for l in open(f"{out}/p{p}-{s}/metrics.jsonl")][-1]
base = st.mean(100 * last("0", s)["test_accuracy"] for s in seeds)
print("| drop rate asked | measured | test acc % per seed | mean | vs 0 (pp) |")
print("|---|---|---|---|---|")
for p in rates:
    acc = [100 * last(p, s)["test_accuracy"] for s in seeds]
    measured = st.mean(last(p, s).get("drop_rate", 0.0) for s in seeds)
    print(f"| {p} | {100*measured:.1f}% | {', '.join(f'{a:.2f}' for a in acc)} | {st.mean(acc):.2f} | {st.mean(acc) - base:+.2f} |")
PY
