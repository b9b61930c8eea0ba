#!/usr/bin/env bash
# Weight/update entropy and the entropy-coded gradient exchange (METHODS.md §4.1, Øland; issue 15 item 4; PROPOSALs).
# (a) One process, the entropy report on: per epoch and layer, bits per weight of the weights, of one-step updates
#     (mean of 8 steps an epoch) and of the epoch's update, each quantised with a fixed step and with 3·RMS/2^(b−1),
#     as the empirical entropy H(q) and as rANS-coded bits (table included).
# (b) RANKS ranks under mpirun over shared memory, exact fp32 all-reduce (none: end-to-end SGD with softmax, the
#     baseline) against --compress entropy, same recipe and seeds: test accuracy and bits per gradient element on the
#     wire. Target of the issue: ≥ 10× fewer than fp32's at equal accuracy (here: the mean over seeds within 1 pp).
#
# Budget: the defaults take about 10 minutes on the loaded 2-core dev machine: mlp 784-256-256-10 (the compressor
# benchmarks use 1024-1024; a quarter of the width keeps this inside the budget), batch 64 per rank, EPOCHS=6 on the
# first TRAIN_LIMIT=12000 training images, TEST_LIMIT=2000 test images, SEEDS="0 1".
# PARTS=a or PARTS=b runs one part.
# Usage: bench/experiments/entropy.sh [OUT_DIR]   (default runs/entropy-<UTC time>); knobs via the variables below.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/entropy-$(date -u +%Y%m%dT%H%M)}
TRAIN_LIMIT=${TRAIN_LIMIT:-12000}; TEST_LIMIT=${TEST_LIMIT:-2000}; EPOCHS=${EPOCHS:-6}
HIDDEN=${HIDDEN:-"256 256"}; SEEDS=${SEEDS:-"0 1"}; RANKS=${RANKS:-2}; BITS=${BITS:-4}; PARTS=${PARTS:-"a b"}
B0=${B0:-4}   # the exchange's b0 (--entropy-bits); BITS is the report's b
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=$PWD/src/Frugal.Cli/bin/Release/net10.0/frugal.dll
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ); out: $out"
common=(--model mlp --hidden $HIDDEN --epochs "$EPOCHS" --batch-size 64 --train-limit "$TRAIN_LIMIT" --test-limit "$TEST_LIMIT")

# (a) the report
if [[ " $PARTS " == *" a "* ]]; then
rm -rf "${out:?}/report"
dotnet "$frugal" train --no-install "${common[@]}" --seed 0 --entropy-report --entropy-report-bits "$BITS" --out "$out/report" | grep '^epoch' | tail -1 | sed 's|^|report: |'
python3 - "$out/report/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["weights_fixed_bits", "weights_rms_bits", "update_fixed_bits", "update_fixed_coded_bits", "update_rms_bits",
        "update_rms_coded_bits", "epoch_update_fixed_bits", "epoch_update_rms_bits"]
print("\n(a) all layers, bits per weight (size-weighted mean); fixed steps: weights 2^-8, updates 3·RMS_max/2^(b-1) of each layer's largest update so far")
print("| epoch | test acc % | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 2) + "|")
for m in rows:
    a = m["entropy_report"]["all"]
    print(f"| {m['epoch']} | {100 * m['test_accuracy']:.2f} | " + " | ".join(f"{a[k]:.3f}" for k in keys) + " |")
first, last = rows[0]["entropy_report"], rows[-1]["entropy_report"]
print(f"\nper layer, epoch 1 → {rows[-1]['epoch']}:")
print("| layer | numel | weights_fixed | weights_rms | update_fixed | update_fixed_coded | update_rms |")
print("|---|---|---|---|---|---|---|")
for name in [k for k in last if k != "all"]:
    f, l = first[name], last[name]
    print(f"| {name} | {l['numel']} | " + " | ".join(f"{f[k]:.2f} → {l[k]:.2f}" for k in
          ["weights_fixed_bits", "weights_rms_bits", "update_fixed_bits", "update_fixed_coded_bits", "update_rms_bits"]) + " |")
PY
dotnet "$frugal" plot "$out/report" --y entropy_report.all.{weights_fixed_bits,weights_rms_bits,update_fixed_bits,update_fixed_coded_bits,update_rms_bits} \
  --title "Entropy of quantised weights and updates, mlp ${HIDDEN// /-}" --ylabel "bits per weight" --out "$out/entropy_bits.png"
fi

# (b) exact vs entropy-coded exchange
[[ " $PARTS " == *" b "* ]] || exit 0
for seed in $SEEDS; do
  for c in none entropy; do
    name=$c-$seed
    rm -rf "${out:?}/$name"
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$RANKS" --mca btl self,vader --mca btl_vader_single_copy_mechanism none \
      dotnet "$frugal" train --no-install "${common[@]}" --seed "$seed" --compress "$c" $([ "$c" = entropy ] && echo --entropy-bits "$B0") \
      --out "$out/$name" > "$out/$name.log" 2>&1 || { echo "$name failed: $(tail -3 "$out/$name.log")"; exit 1; }
  done
done
python3 - "$out" "$SEEDS" "$RANKS" <<'PY'
import json, statistics as st, sys
out, seeds, n = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
run = lambda c, s: [json.loads(l) for l in open(f"{out}/{c}-{s}/metrics.jsonl")]
print(f"\n(b) {n} ranks: exact fp32 all-reduce (none) vs entropy-coded exchange; bits per gradient element on the wire, epoch mean")
print("| exchange | test acc % per seed | mean | wire bits/element | vs fp32 wire | coded bits/element | H(q) | b per epoch (seed 0) |")
print("|---|---|---|---|---|---|---|---|")
acc = {}
for c in ["none", "entropy"]:
    runs = [run(c, s) for s in seeds]
    acc[c] = [100 * r[-1]["test_accuracy"] for r in runs]
    # L gradient values: the exact ring all-reduce puts 2(N-1)/N·4L bytes on the wire.
    wire = [8 * m["wire_bytes_per_step"] / (m["fp32_bytes_per_step"] * n / (8 * (n - 1))) for r in runs for m in r]
    ratio = st.mean(m["fp32_bytes_per_step"] / m["wire_bytes_per_step"] for r in runs for m in r)
    coded = st.mean(m.get("entropy_coded_bits_per_element", 32) for r in runs for m in r)
    h = "-" if c == "none" else f"{st.mean(m['entropy_q_entropy_bits'] for r in runs for m in r):.3f}"
    b = "-" if c == "none" else ", ".join(f"{m['entropy_bits_mean']:.2f}" for m in runs[0])
    print(f"| {c} | {', '.join(f'{a:.2f}' for a in acc[c])} | {st.mean(acc[c]):.2f} | {st.mean(wire):.3f} | {ratio:.1f}x | {coded:.3f} | {h} | {b} |")
print(f"\nentropy − none: {st.mean(acc['entropy']) - st.mean(acc['none']):+.2f} pp test accuracy (mean over seeds {' '.join(seeds)})")
PY
