#!/usr/bin/env bash
# On a machine with a PyTorch install (CUDA or not) and no dotnet, with .gpu/ from tests/gpu/pack.sh:
# builds the native shim against that torch and runs the packed tools, stage by stage.
#
#   bash tests/gpu/run-on-gpu.sh [stage ...]        (default: build tests bench)
#     build             unpack .gpu/ into $LORALAB_GPU_WORK, build the shim against this torch
#                       (retried without CUDA graphs if that build fails); later stages need it
#     tests [filter]    the binding's tests, CUDA ones included (device-tests.log)
#     bench             the overhead benchmark, then the training benchmark LoraLab vs PyTorch + PEFT
#                       (device-bench.log, bench-train.json)
#     paper NB ...      `lab run notebooks/NB.ipynb --profile $LORALAB_PROFILE` (default paper) for each
#                       notebook named (file name without .ipynb), each under $LORALAB_NOTEBOOK_TIMEOUT
#                       seconds; reports, results database and logs come back in paper-results.tar.xz
#
# Everything that comes back is written to $OUT (the device tool's folder; else the work folder):
# at most 6 files. Each stage's output is also printed. The exit status is the first failing stage's.
# Environment: LORALAB_PYTHON (the Python with torch; default /opt/torch/.venv/bin/python3, else
# python3), LORALAB_PEAK_TFLOPS (the GPU's dense bf16 peak for MFU; guessed from nvidia-smi for
# H100/H200/A100/L4), LORALAB_GPU_WORK (default /tmp/loralab-gpu), LORALAB_STAGE_TIMEOUT (seconds per
# stage, default 540), LORALAB_TOTAL_TIMEOUT (seconds for the whole call, default 570: under the device
# tool's 10 minutes a command, so that the last stage still packs what it has).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
python="${LORALAB_PYTHON:-/opt/torch/.venv/bin/python3}"
[ -x "$python" ] || python=python3
work="${LORALAB_GPU_WORK:-/tmp/loralab-gpu}"
out="${OUT:-$work/out}"
stage_timeout="${LORALAB_STAGE_TIMEOUT:-540}"
total_timeout="${LORALAB_TOTAL_TIMEOUT:-570}"
started=$(date +%s)
mkdir -p "$work" "$out"
status=0
fail() { [ "$status" -eq 0 ] && status=$1; }

torch_lib="$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$torch_lib:${LD_LIBRARY_PATH:-}"
export LORALAB_PYTHON="$python"
export LORALAB_DATA_ROOT="$work/node_modules"
export DOTNET_CLI_TELEMETRY_OPTOUT=1

if [ -z "${LORALAB_PEAK_TFLOPS:-}" ] && command -v nvidia-smi >/dev/null; then
  case "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" in
    *H100*|*H200*|*H20[!0-9]*|*GH200*) export LORALAB_PEAK_TFLOPS=989 ;;
    *A100*) export LORALAB_PEAK_TFLOPS=312 ;;
    *L4*) export LORALAB_PEAK_TFLOPS=121 ;;
  esac
fi

build() {
  echo "torch $("$python" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())')"
  rm -rf "$work/app" "$work/node_modules" && mkdir -p "$work/node_modules"
  tar xJf .gpu/app.tar.xz -C "$work" || return 1
  tar xJf .gpu/data.tar.xz -C "$work/node_modules" || return 1
  local prefix libtorch=()
  prefix="$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
  # Debian's python3-torch has no CMake config; then the shim's own search finds libtorch-dev.
  [ -f "$prefix/Torch/TorchConfig.cmake" ] && libtorch=(-DLIBTORCH_DIR="$prefix")
  local shim="$work/shim"
  if ! { cmake -S lib/LoraLab.Torch/shim -B "$shim" -DCMAKE_BUILD_TYPE=Release "${libtorch[@]}" &&
         cmake --build "$shim" -j "$(nproc)"; } > "$work/cmake.log" 2>&1; then
    echo "shim build failed; the errors:"; grep -E "error|Error" "$work/cmake.log" | head -30
    echo "retrying without CUDA graphs (-DLORALAB_CUDA_GRAPHS=OFF)"
    rm -rf "$shim"
    { cmake -S lib/LoraLab.Torch/shim -B "$shim" -DCMAKE_BUILD_TYPE=Release -DLORALAB_CUDA_GRAPHS=OFF "${libtorch[@]}" &&
      cmake --build "$shim" -j "$(nproc)"; } >> "$work/cmake.log" 2>&1 || { tail -40 "$work/cmake.log"; return 1; }
  fi
  grep -E "LoraLab:|warning" "$work/cmake.log" | head -20
  cp "$shim/libloralab_torch.so" "$work/app/"
  # The notebooks reference ../lib/LoraLab/bin/Release/net10.0/*.dll: put the packed libraries there.
  local bin=lib/LoraLab/bin/Release/net10.0
  mkdir -p "$bin"
  for lib in LoraLab LoraLab.Torch LoraLab.Data LoraLab.Display; do cp "$work/app/$lib.dll" "$bin/"; done
  cp "$work/app/libloralab_torch.so" "$bin/"
  echo "built $(ls -la "$work/app/libloralab_torch.so" | awk '{print $5}') bytes; app in $work/app"
}

# A stage on a fresh machine (the build of an earlier call gone) builds first.
need_build() { [ -x "$work/app/LoraLab.DeviceRunner" ] && [ -f "$work/app/libloralab_torch.so" ] || build; }

tests() { need_build && "$work/app/LoraLab.DeviceRunner" LoraLab.Torch.Tests ${1:+--filter "$1"}; }

bench() {
  need_build || return 1
  "$work/app/LoraLab.DeviceRunner" bench || return 1
  "$work/app/LoraLab.DeviceRunner" bench train --json "$out/bench-train.json"
}

paper() {
  need_build || return 1
  # Each notebook gets an equal share of the stage's time, less a margin to pack what came out.
  local profile="${LORALAB_PROFILE:-paper}" each="${LORALAB_NOTEBOOK_TIMEOUT:-$(( (stage_timeout - 40) / ($# > 0 ? $# : 1) ))}" rc=0
  mkdir -p "$work/reports"
  for nb in "$@"; do
    local path="notebooks/${nb%.ipynb}.ipynb"
    [ -f "$path" ] || { echo "no notebook $path"; rc=1; continue; }
    echo "== lab run $path --profile $profile (at most ${each}s)"
    timeout --signal=INT --kill-after=20 "$each" "$work/app/lab" run "$path" --profile "$profile" --out "$work/reports" \
      --plotly "$work/node_modules/plotly.js-dist-min/plotly.min.js" || { echo "($path stopped with status $?)"; rc=1; }
  done
  # Whatever finished: reports, the results database (runs are stored as they end) and the sweep logs.
  local keep=()
  for f in reports data/results.db data/logs; do
    case "$f" in reports) [ -d "$work/reports" ] && keep+=(-C "$work" reports) ;; *) [ -e "$f" ] && keep+=(-C "$root" "$f") ;; esac
  done
  [ ${#keep[@]} -gt 0 ] && tar cJf "$out/paper-results.tar.xz" "${keep[@]}" && echo "paper-results.tar.xz: $(tar tJf "$out/paper-results.tar.xz" | wc -l) files"
  return $rc
}

run_stage() {
  local name=$1; shift
  echo "=== stage $name $* ($(date -u +%H:%M:%S))"
  local log="$out/device-$name.log"
  # A stage runs as its own process under a timeout, so one that hangs cannot eat the device's time;
  # it gets what is left of the call's total, less a margin.
  local left=$(( total_timeout - ($(date +%s) - started) - 15 ))
  [ "$left" -lt 30 ] && { echo "=== stage $name skipped: ${left}s left of LORALAB_TOTAL_TIMEOUT=${total_timeout}"; fail 124; return 124; }
  local limit=$(( left < stage_timeout ? left : stage_timeout ))
  timeout --kill-after=10 "$limit" env LORALAB_STAGE_TIMEOUT="$limit" bash "$0" --one "$name" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  echo "=== stage $name: status $rc"
  fail "$rc"
  return "$rc"
}

if [ "${1:-}" = --one ]; then shift; "$@"; exit $?; fi
[ $# -eq 0 ] && set -- build tests bench
while [ $# -gt 0 ]; do
  stage=$1; shift
  args=()
  case "$stage" in
    tests) [ $# -gt 0 ] && [[ "$1" != build && "$1" != bench && "$1" != paper ]] && { args=("$1"); shift; } ;;
    paper) while [ $# -gt 0 ] && [[ "$1" != build && "$1" != tests && "$1" != bench ]]; do args+=("$1"); shift; done ;;
    build|bench) ;;
    *) echo "unknown stage '$stage' (build, tests [filter], bench, paper NB ...)"; exit 2 ;;
  esac
  run_stage "$stage" "${args[@]}" || { [ "$stage" = build ] && break; }
done
exit "$status"
