#!/usr/bin/env bash
# Installs the Debian packages a Frugal task needs, saying what and why before it does.
#   tools/setup.sh run        what `frugal train` needs: OpenBLAS (fast GEMMs) and the Fashion-MNIST data set
#   tools/setup.sh test       the above, PyTorch (the tests that compare checkpoints and gradients with it) and Open MPI
#                             (the tests that launch mpirun)
#   tools/setup.sh emulator   g++ (builds the CPU emulator of the CUDA libraries, tools/cuda-emu)
# Distributed training (`mpirun -np N frugal train ...`) needs openmpi-bin (mpirun, and libopenmpi3's libmpi.so.40).
# As root it runs apt-get; otherwise it prints the exact command. FRUGAL_NO_INSTALL=1 only reports what is missing.
set -euo pipefail

declare -A why=(
  [libopenblas0-pthread]="OpenBLAS GEMMs; without it Frugal falls back to a managed GEMM about 8x slower"
  [dataset-fashion-mnist]="the default data set, /usr/share/datasets/fashion-mnist"
  [python3-torch]="PyTorch, which the interop tests run to check checkpoints and gradients"
  [openmpi-bin]="Open MPI's mpirun, which the distributed tests launch (and \`mpirun -np N frugal train\` needs)"
  [libopenmpi-dev]="mpi.h and mpicc of the same Open MPI, whose ABI the MPI process group binds (libmpi.so.40 itself comes with openmpi-bin)"
  [g++]="the compiler of the CUDA emulator the test suite's second run uses"
)
case "${1:-}" in
  run) wanted=(libopenblas0-pthread dataset-fashion-mnist) ;;
  test) wanted=(libopenblas0-pthread dataset-fashion-mnist python3-torch openmpi-bin libopenmpi-dev) ;;
  emulator) wanted=(g++) ;;
  *) echo "usage: tools/setup.sh run|test|emulator" >&2; exit 2 ;;
esac

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for p in "${wanted[@]}"; do installed "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: not a Debian system; install the equivalents of: ${missing[*]}" >&2
  for p in "${missing[@]}"; do echo "  $p: ${why[$p]}" >&2; done
  exit 0
fi
echo "setup: missing Debian packages:" >&2
for p in "${missing[@]}"; do echo "  $p: ${why[$p]}" >&2; done
command="apt-get install -y ${missing[*]}"
if [ "${FRUGAL_NO_INSTALL:-}" = 1 ]; then
  echo "setup: FRUGAL_NO_INSTALL=1, so nothing is installed; to install them run: sudo $command" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: not root, so nothing is installed; to install them run: sudo $command" >&2
  exit 0
fi
echo "setup: running: $command" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once if the first attempt cannot find the packages.
if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "setup: installed ${missing[*]}" >&2
