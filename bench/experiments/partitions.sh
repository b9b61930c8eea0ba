#!/usr/bin/env bash
# Partition-wise training (METHODS.md §4.4, PROPOSAL; issue 15 item 3): the cnn on Fashion-MNIST end-to-end (K = 1,
# SGD with softmax cross-entropy: the baseline) and cut into K = 2, 3 and 6 (layer-wise, all at once) partitions with
# local heads, in the sequential and the pipelined schedule, all in one run: test accuracy of the whole model, each
# partition's local test accuracy, samples/s and training memory (peak_memory_mb); then the largest batch under a
# training-memory cap, end-to-end and partitioned (frugal bench memory).
#
# Budget: the defaults take about 15 minutes on the 2-core dev machine: EPOCHS=2 on TRAIN_LIMIT=5000 examples,
# TEST_LIMIT=2000 test images, LR=0.02 for every run (the recipe's 0.05 made the local heads' losses jump).
# Pipelined runs use FRUGAL_THREADS=1 (one BLAS/kernel thread per partition thread: K threads × 2 would
# oversubscribe 2 cores); the others keep the default (all cores). samples/s is noisy on a shared machine.
# Usage: bench/experiments/partitions.sh [OUT_DIR]   (default runs/partitions-<UTC time>); knobs via the variables below.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/partitions-$(date -u +%Y%m%dT%H%M)}
TRAIN_LIMIT=${TRAIN_LIMIT:-5000}; EPOCHS=${EPOCHS:-2}; TEST_LIMIT=${TEST_LIMIT:-2000}; LR=${LR:-0.02}; SEED=${SEED:-0}
KS=${KS:-"2 3 6"}; CAP_MB=${CAP_MB:-256}; CAP_K=${CAP_K:-3}; MAX_BATCH=${MAX_BATCH:-1024}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); out: $out"

train() {   # train NAME [flags...]
  local name=$1; shift
  rm -rf "$out/$name"
  "$frugal" train --model cnn --seed "$SEED" --lr "$LR" --epochs "$EPOCHS" --train-limit "$TRAIN_LIMIT" --test-limit "$TEST_LIMIT" \
    --out "$out/$name" "$@" | grep '^epoch' | tail -1 | sed "s|^|$name: |"
}

train end-to-end
for k in $KS; do
  train "k$k-sequential" --partitions "$k"
  [ "$k" = 6 ] || FRUGAL_THREADS=1 train "k$k-pipelined" --partitions "$k" --partition-schedule pipelined
done

python3 - "$out" > "$out/table.md" <<'PY'
import json, os, sys
out = sys.argv[1]
# Epoch 1's training memory: later epochs start with the evaluation's buffers resident (1000-image test batches).
print("| run | test acc | local test acc per partition | samples/s per epoch | peak_memory_mb (epoch 1) | max batches in flight |")
print("|---|---:|---|---:|---:|---:|")
for name in sorted(os.listdir(out), key=lambda n: (n != "end-to-end", n)):
    f = os.path.join(out, name, "metrics.jsonl")
    if not os.path.exists(f): continue
    ms = [json.loads(l) for l in open(f) if l.strip()]
    last = ms[-1]; k = last.get("partitions", 1)
    local = "/".join(f"{100 * last[f'partition{p}_test_accuracy']:.1f}" for p in range(1, k + 1)) if "partitions" in last else "-"
    sps = ", ".join(f"{m['samples_per_second']:.0f}" for m in ms)
    print(f"| {name} | {100 * last['test_accuracy']:.2f}% | {local} | {sps} | {ms[0]['peak_memory_mb']:.0f} | {last.get('partition_max_in_flight', 1)} |")
PY
cat "$out/table.md"
"$frugal" bench memory --model cnn --partitions "$CAP_K" --cap-mb "$CAP_MB" --max-batch "$MAX_BATCH" | tee "$out/largest-batch.md"
