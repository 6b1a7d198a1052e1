#!/usr/bin/env bash
# On a machine with a CUDA libtorch (a PyTorch install) and no dotnet: builds the native shim
# against that torch, then runs the packed device runner (tests, then the overhead benchmark).
#   bash tests/gpu/run-on-gpu.sh [test filter]
# Needs .gpu/app.tar.xz from tests/gpu/pack.sh. Results also go to $OUT (when set) as device-*.log.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
python="${LORALAB_PYTHON:-/opt/torch/.venv/bin/python3}"
[ -x "$python" ] || python=python3
prefix="$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
torch_lib="$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
echo "torch $("$python" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())')"

work=/tmp/loralab-gpu
rm -rf "$work" && mkdir -p "$work"
tar xJf .gpu/app.tar.xz -C "$work"
# Debian's python3-torch has no CMake config; then the shim's own search finds libtorch-dev.
libtorch=()
[ -f "$prefix/Torch/TorchConfig.cmake" ] && libtorch=(-DLIBTORCH_DIR="$prefix")
cmake -S lib/LoraLab.Torch/shim -B "$work/shim" -DCMAKE_BUILD_TYPE=Release "${libtorch[@]}" > "$work/cmake.log"
cmake --build "$work/shim" -j "$(nproc)" >> "$work/cmake.log" || { cat "$work/cmake.log"; exit 1; }
grep -E "LoraLab:" "$work/cmake.log" || true
cp "$work/shim/libloralab_torch.so" "$work/app/"

export LD_LIBRARY_PATH="$torch_lib:${LD_LIBRARY_PATH:-}"
export LORALAB_PYTHON="$python"
logs="${OUT:-$work}"
set +e
"$work/app/LoraLab.DeviceRunner" LoraLab.Torch.Tests ${1:+--filter "$1"} | tee "$logs/device-tests.log"
tests=${PIPESTATUS[0]}
"$work/app/LoraLab.DeviceRunner" bench | tee "$logs/device-bench.log"
exit "$tests"
