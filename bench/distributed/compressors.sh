#!/usr/bin/env bash
# Gradient compressors under mpirun on emulated links (bench/distributed/link.sh): per compressor and link rate, the
# bytes each rank puts on the wire per step, the step time, and samples/s, against the exact fp32 exchange in the
# same sweep. mlp 784-1024-1024-10 (7.45 MB of fp32 gradient), batch 64 per rank, RANKS ranks over TCP on a
# rate-limited loopback. Accuracy is measured by bench/distributed/accuracy.sh on shared memory (the link does not
# change it). Usage: bench/distributed/compressors.sh [OUT]   (env: RANKS=2 RATES="1gbit 200mbit" LIMIT=6400)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/compressors}
ranks=${RANKS:-2}
rates=${RATES:-"1gbit 200mbit"}
limit=${LIMIT:-6400}
compressors=${COMPRESSORS:-"none fp16 fp8 fp6 prune topk-crs powersgd"}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=$PWD/src/Frugal.Cli/bin/Release/net10.0/frugal.dll
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); $ranks ranks"
for rate in $rates; do
  for c in $compressors; do
    name=$rate-$c
    rm -rf "${out:?}/$name"
    # topk-crs samples every layer but the classifier here (the mlp's first layer holds most of its weights).
    extra=(); [ "$c" = topk-crs ] && extra=(--config bench/distributed/topk_crs_layers.json)
    bench/distributed/link.sh "$rate" -- bash -c 'mpirun --allow-run-as-root --oversubscribe --bind-to none -np '"$ranks"' $FRUGAL_MPI_TCP \
      dotnet '"$frugal"' train --no-install --model mlp --epochs 1 --batch-size 64 --train-limit '"$limit"' --test-limit 1000 \
      --compress '"$c"' '"${extra[*]}"' --out '"$out/$name" > "$out/$name.log" 2>&1 || { echo "$name failed: $(tail -3 "$out/$name.log")"; continue; }
    python3 - "$out/$name/metrics.jsonl" "$rate" "$c" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])][-1]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {m['wire_bytes_per_step']/1e6:.3f} | {m['fp32_bytes_per_step']/m['wire_bytes_per_step']:.1f}x | "
      f"{1000*m['compute_seconds_per_step']:.0f} | {1000*m['communication_seconds_per_step']:.0f} | {m['samples_per_second']:.0f} |")
PY
  done
done
