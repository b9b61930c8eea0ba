#!/usr/bin/env bash
# Accuracy of each gradient exchange against the exact fp32 all-reduce, same recipe and seeds: mlp
# 784-1024-1024-10 on full Fashion-MNIST, RANKS ranks over shared memory (the link changes time, not accuracy),
# batch 64 per rank, EPOCHS epochs, per seed. Prints test accuracy per compressor and seed, then mean ± std and the
# difference from none. Usage: bench/distributed/accuracy.sh [OUT]  (env: RANKS=2 EPOCHS=3 SEEDS="0 1")
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/exchange-accuracy}
ranks=${RANKS:-2}; epochs=${EPOCHS:-3}; seeds=${SEEDS:-"0 1"}
compressors=${COMPRESSORS:-"none fp16 fp8 fp6 prune topk-crs powersgd"}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=$PWD/src/Frugal.Cli/bin/Release/net10.0/frugal.dll
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); $ranks ranks, $epochs epochs, seeds $seeds"
for seed in $seeds; do
  for c in $compressors; do
    name=$c-$seed
    rm -rf "${out:?}/$name"
    extra=(); [ "$c" = topk-crs ] && extra=(--config bench/distributed/topk_crs_layers.json)
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" --mca btl self,vader --mca btl_vader_single_copy_mechanism none \
      dotnet "$frugal" train --no-install --model mlp --epochs "$epochs" --batch-size 64 --seed "$seed" --compress "$c" "${extra[@]}" \
      --out "$out/$name" > "$out/$name.log" 2>&1 || { echo "$name failed: $(tail -3 "$out/$name.log")"; exit 1; }
  done
done
python3 - "$out" "$compressors" "$seeds" <<'PY'
import json, statistics as st, sys
out, comps, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
acc = {c: [100 * [json.loads(l) for l in open(f"{out}/{c}-{s}/metrics.jsonl")][-1]["test_accuracy"] for s in seeds] for c in comps}
base = st.mean(acc["none"])
print("| exchange | test acc % per seed | mean ± std | vs none (pp) |")
print("|---|---|---|---|")
for c in comps:
    a = acc[c]
    sd = st.stdev(a) if len(a) > 1 else 0.0
    print(f"| {c} | {', '.join(f'{x:.2f}' for x in a)} | {st.mean(a):.2f} ± {sd:.2f} | {st.mean(a) - base:+.2f} |")
PY
