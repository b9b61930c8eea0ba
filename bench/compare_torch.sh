#!/usr/bin/env bash
# Side-by-side training throughput and accuracy: Frugal vs the PyTorch reference (../shared/bench/torch_fashion.py)
# in one run, interleaved, same model, recipe, batch 128. PyTorch at its fastest setting on 2 cores:
# 1 torch thread, OPENBLAS_NUM_THREADS=2 (see the script's header).
# Usage: bench/compare_torch.sh MODEL EPOCHS [TRAIN_LIMIT] [ROUNDS]
# BASELINE=path/to/another/frugal adds that build to every round (e.g. the previous commit's, to compare before/after);
# the two builds swap order every other round, so neither always runs on a cooler or warmer machine.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-mlp}; epochs=${2:-1}; limit=${3:-0}; rounds=${4:-1}
torch_py=../shared/bench/torch_fashion.py
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ)"
run() {   # run LABEL BINARY
  echo "--- round $r: $1"
  "$2" train --model "$model" --epochs "$epochs" --train-limit "$limit" | grep '^epoch'
}
for r in $(seq "$rounds"); do
  if [ -z "${BASELINE:-}" ]; then run frugal "$frugal"
  elif [ $((r % 2)) = 1 ]; then run frugal "$frugal"; run "baseline $BASELINE" "$BASELINE"
  else run "baseline $BASELINE" "$BASELINE"; run frugal "$frugal"
  fi
  echo "--- round $r: pytorch"
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 "$torch_py" "$model" "$epochs" 128 1 "$limit"
done
