#!/usr/bin/env bash
# The one command for the GPU machine (no .NET there; see ../shared/gpu/README.md and docs/GPU.md).
#
#   bench/gpu/run.sh prepare    here: publish frugal self-contained into .gpu/frugal and a Fashion-MNIST subset into
#                               .gpu/data (~50 MB; .gpu/ is git-ignored and travels as a carried path)
#   bench/gpu/run.sh            on the GPU machine (run tool, carry [".gpu"]): self-test of every kernel against the
#                               CPU, GEMM TFLOP/s, training-step throughput next to PyTorch, a short training run.
#                               Everything is printed and copied to $OUT/gpu-run.log.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${1:-}" = "prepare" ]; then
  set -e
  rm -rf .gpu/frugal
  dotnet publish src/Frugal.Cli -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
    -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -o .gpu/frugal -v q -nologo
  rm -f .gpu/frugal/*.xml .gpu/frugal/*.pdb
  data=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
  if [ -d "$data" ]; then python3 bench/gpu/subset.py "$data" .gpu/data 10000; fi
  du -sh .gpu
  exit 0
fi

export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
out=${OUT:-/tmp}
log="$out/gpu-run.log"
frugal=.gpu/frugal/frugal
[ -x "$frugal" ] || { echo "run.sh: $frugal missing: run 'bench/gpu/run.sh prepare' here first and carry .gpu"; exit 2; }
status=0
section() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
{
  section "machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  ls /usr/local 2>/dev/null | grep -i cuda || true

  section "selftest: every kernel against the CPU, gradient checks, one training step per model"
  if ! "$frugal" selftest --device cuda; then
    status=1
    section "selftest again with a synchronisation after every launch (names the first faulting kernel)"
    FRUGAL_CUDA_SYNC=1 "$frugal" selftest --device cuda || true
  fi

  section "GEMM (cuBLAS through Frugal's matmul)"
  "$frugal" bench gemm --device cuda || status=1

  for model in mlp cnn; do
    for math in fp32 tf32; do
      tf=$([ "$math" = tf32 ] && echo 1 || echo 0)
      section "training step: $model, batch 128, $math"
      FRUGAL_CUDA_TF32=$tf "$frugal" bench step --model "$model" --device cuda --batch-size 128 --steps 50 || status=1
      python3 bench/gpu/torch_step.py "$model" 128 50 "$math" || true
    done
  done

  if [ -d .gpu/data ]; then
    section "training: cnn, 2 epochs on 10k Fashion-MNIST examples, evaluated on the 10k test set"
    "$frugal" train --model cnn --device cuda --epochs 2 --data-dir .gpu/data --out "$out/run-cnn" || status=1
  fi
  section "done: status $status"
  exit "$status"   # the group runs in a subshell (the pipe): its exit status is what PIPESTATUS reports
} 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
