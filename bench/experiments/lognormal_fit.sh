#!/usr/bin/env bash
# How lognormal are the neural gradients? Per hooked layer (every conv/linear but the classifier) of a short
# Fashion-MNIST run: KS statistic of standardised ln|g| against N(0,1), and for contrast of g against a Gaussian and
# a Laplace, with the fitted μ, σ (averages over the epoch; ../shared/METHODS.md §1). The statistics come from the
# gradient-pruning method, run at 1% sparsity so the gradients are practically untouched (measured cosine ≈ 1).
# Budget: ~1–2 min at the defaults. Override with MODEL, LIMIT, EPOCHS, SEED, OUT.
# Usage: bench/experiments/lognormal_fit.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${MODEL:-cnn}; limit=${LIMIT:-10000}; epochs=${EPOCHS:-1}; seed=${SEED:-1}; out=${OUT:-runs/lognormal_fit}
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
rm -rf "$out"
src/Frugal.Cli/bin/Release/net10.0/frugal train --model "$model" --epochs "$epochs" --train-limit "$limit" --test-limit 1000 \
  --seed "$seed" --grad-prune 0.01 --out "$out" | grep '^epoch' || true
python3 - "$out/metrics.jsonl" "$model" "$limit" "$epochs" <<'PY' | tee "$out/summary.md"
import json, sys
path, model, limit, epochs = sys.argv[1:]
print(f"# Lognormal fit of neural gradients: {model}, Fashion-MNIST, {epochs} epoch(s) × {limit} images")
print()
print("KS = sup |F_n − F| (16k-entry subsample; noise floor ≈ 0.007). Lower is a better fit.")
for line in open(path):
    m = json.loads(line)
    print()
    print(f"Epoch {m['epoch']}:")
    print()
    print("| layer | elements | μ (ln\\|g\\|) | σ | KS lognormal | KS Gaussian | KS Laplace |")
    print("|---|---|---|---|---|---|---|")
    for name, f in m["grad_layers"].items():
        print(f"| {name} | {f.get('elements', 0):.0f} | {f['mu']:.2f} | {f['sigma']:.2f} | {f['ks']:.3f} | {f['ks_gauss']:.3f} | {f['ks_laplace']:.3f} |")
PY
