#!/usr/bin/env bash
# DropCompute under mpirun with injected stragglers (METHODS.md §3): RANKS ranks, M micro-batches per step, each
# followed by a log-normal straggler sleep (--straggler-delay F). Three runs per seed on the same data and seed:
# the synchronous baseline under the same stragglers, a fixed threshold (0.8 × the baseline's mean compute time per
# step before the exchange), and the automatic threshold. Prints steps/s, effective samples/s (micro-batches that reached the gradient),
# the drop rate and test accuracy. Usage: bench/distributed/dropcompute.sh [OUT]
#   env: RANKS=4 M=12 BATCH=16 F=1 EPOCHS=3 SEEDS="0 1" HIDDEN="256 256"
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/dropcompute}
ranks=${RANKS:-4}; m=${M:-12}; batch=${BATCH:-16}; f=${F:-1}; epochs=${EPOCHS:-3}; seeds=${SEEDS:-"0 1"}; hidden=${HIDDEN:-"256 256"}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=$PWD/src/Frugal.Cli/bin/Release/net10.0/frugal.dll
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); $ranks ranks, M=$m, batch $batch, F=$f, $epochs epochs"
train() {   # NAME SEED [flags...]
  local name=$1 seed=$2; shift 2
  rm -rf "${out:?}/$name"
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" --mca btl self,vader --mca btl_vader_single_copy_mechanism none \
    dotnet "$frugal" train --no-install --model mlp --hidden $hidden --epochs "$epochs" --batch-size "$batch" --micro-batches "$m" \
    --seed "$seed" --straggler-delay "$f" --out "$out/$name" "$@" > "$out/$name.log" 2>&1 || { echo "$name failed: $(tail -3 "$out/$name.log")"; exit 1; }
}
summary() {   # NAME SEED LABEL
  python3 - "$out/$1/metrics.jsonl" "$2" "$3" "$out/$1.log" <<'PY'
import json, re, sys
ms = [json.loads(l) for l in open(sys.argv[1])]
secs = sum(m["seconds"] for m in ms)
steps = len(ms) * int(re.search(r"(\d+) steps/epoch", open(sys.argv[4]).read()).group(1))
samples = sum(m["samples_per_second"] * m["seconds"] for m in ms)
drop = sum(m.get("drop_rate", 0) * m["seconds"] for m in ms) / secs
tau = ms[-1].get("drop_threshold_seconds")
print(f"| {sys.argv[2]} | {sys.argv[3]} | {'' if tau is None else f'{1000*tau:.0f}'} | {steps/secs:.2f} | {samples/secs:.0f} | {100*drop:.1f}% | {100*ms[-1]['test_accuracy']:.2f} |")
PY
}
echo "| seed | run | τ ms | steps/s | effective samples/s | dropped | test acc % |"
echo "|---|---|---|---|---|---|---|"
for seed in $seeds; do
  train sync-$seed "$seed"
  summary sync-$seed "$seed" synchronous
  tau=$(python3 -c "import json,sys; ms=[json.loads(l) for l in open('$out/sync-$seed/metrics.jsonl')]; print(f'{0.8*sum(m[\"compute_seconds_per_step\"] for m in ms)/len(ms):.4f}')")
  train fixed-$seed "$seed" --drop-compute "$tau"
  summary fixed-$seed "$seed" "fixed τ"
  train auto-$seed "$seed" --drop-compute auto
  summary auto-$seed "$seed" "auto τ"
done
