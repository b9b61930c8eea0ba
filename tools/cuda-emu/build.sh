#!/usr/bin/env bash
# Builds the CPU emulator of the CUDA backend (libfrugal_cuda_emu.so) from the backend's own kernel sources.
# Usage: tools/cuda-emu/build.sh [OUT_DIR]   (default .cuda-emu/ in the repository root)
# Then: FRUGAL_CUDA_EMULATOR=$PWD/.cuda-emu/libfrugal_cuda_emu.so dotnet test tests/Frugal.Tests -c Release
# runs every op test on "cuda" through the emulator (see README.md here).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.cuda-emu}
mkdir -p "$out/gen"
dotnet build "$root/src/Frugal.Cli" -c Release -v q --nologo >/dev/null
dotnet "$root/src/Frugal.Cli/bin/Release/net10.0/frugal.dll" cuda-emulator-sources --out "$out/gen"
g++ -std=c++17 -O2 -fPIC -shared -Wall -Wno-unused-function -Wno-unused-variable -I "$root/tools/cuda-emu" \
    -o "$out/libfrugal_cuda_emu.so" "$root/tools/cuda-emu/runtime.cpp" "$out"/gen/*.cpp
echo "$out/libfrugal_cuda_emu.so"
