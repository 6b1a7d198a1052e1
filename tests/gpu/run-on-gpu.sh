#!/usr/bin/env bash
# On a machine with a Python install of PyTorch (CUDA or not) and no dotnet, with .gpu/ from tests/gpu/pack.sh: makes
# TorchSharp run on that machine's libtorch and runs the packed tools, stage by stage.
#
#   bash tests/gpu/run-on-gpu.sh [stage ...]        (default: build tests bench)
#     build             unpack .gpu/ into $LORALAB_GPU_WORK, then load TorchSharp's native library against this torch:
#                       first TorchSharp 0.107's prebuilt libLibTorchSharp.so (built for libtorch 2.10), checked by
#                       `lab torch`; where it does not load or computes wrongly, libLibTorchSharp built from TorchSharp
#                       0.107.0's sources (../shared/vendor/TorchSharp-0.107.0-native) with a plain compiler command
#                       against torch/include, one compiler per core. Later stages use whichever worked
#                       (LORALAB_LIBTORCHSHARP).
#     tests [filter]    LoraLab's tests by the packed runner, the CUDA ones included (device-tests.log)
#     bench             the training benchmark LoraLab vs PyTorch + PEFT (device-bench.log, bench-train.json)
#     paper NB ...      `lab run notebooks/NB.ipynb --profile $LORALAB_PROFILE` (default paper) for each
#                       notebook named (file name without .ipynb), each under $LORALAB_NOTEBOOK_TIMEOUT
#                       seconds, on a store that starts as the committed shards of data/results/PROFILE/; the
#                       runs they lacked come back as a new shard, PROFILE-<date>-<commit>.db, to commit there;
#                       reports and logs in paper-results.tar.xz; the report of each base model pretrained here
#                       (its weights' SHA-256 included) as base-NAME-KEY.json, to commit as data/results/bases/NAME-KEY.json
#
# Everything that comes back is written to $OUT (the device tool's folder; else the work folder): at most 8 files.
# Each stage's output is also printed. The exit status is the first failing stage's.
# Environment: LORALAB_PYTHON (the Python with torch; default /opt/torch/.venv/bin/python3, else python3),
# LORALAB_TORCH_DIR (a torch folder with lib/ and include/, instead of asking that Python: the CPU rehearsal points it
# at a libtorch), LORALAB_NATIVE (auto: prebuilt, else build; prebuilt or build: that one only),
# LORALAB_REQUIRE_CUDA (1, the default: the library must see a CUDA device; 0 for a CPU rehearsal),
# LORALAB_PEAK_TFLOPS (the GPU's dense bf16 peak for MFU; guessed from nvidia-smi for H100/H200/A100/L4),
# LORALAB_GPU_WORK (default /tmp/loralab-gpu), LORALAB_STAGE_TIMEOUT (seconds per stage, default 540),
# LORALAB_TOTAL_TIMEOUT (seconds for the whole call, default 570: under the device tool's 10 minutes a command, so
# that the last stage still packs what it has).
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

torch_dir="${LORALAB_TORCH_DIR:-$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)}"
[ -d "$torch_dir/lib" ] || { echo "no torch found (LORALAB_PYTHON=$python, LORALAB_TORCH_DIR=${LORALAB_TORCH_DIR:-})"; exit 1; }
export LD_LIBRARY_PATH="$torch_dir/lib:${LD_LIBRARY_PATH:-}"
export LORALAB_PYTHON="$python"
export LORALAB_DATA_ROOT="$work/node_modules"
export DOTNET_CLI_TELEMETRY_OPTOUT=1
# The library that `build` chose (a link to the prebuilt or the built one); later stages and the notebooks' kernels load it.
export LORALAB_LIBTORCHSHARP="$work/libLibTorchSharp.so"
# Sweeps start their worker processes with the packed, self-contained lab (there is no dotnet here).
export LORALAB_LAB="$work/app/lab"
# Deterministic cuBLAS, so that every GPU run pretrains the same paper base (its checksum is committed: CommittedBases).
export CUBLAS_WORKSPACE_CONFIG=:4096:8

if [ -z "${LORALAB_PEAK_TFLOPS:-}" ] && command -v nvidia-smi >/dev/null; then
  case "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" in
    *H100*|*H200*|*H20[!0-9]*|*GH200*) export LORALAB_PEAK_TFLOPS=989 ;;
    *A100*) export LORALAB_PEAK_TFLOPS=312 ;;
    *L4*) export LORALAB_PEAK_TFLOPS=121 ;;
  esac
fi

build() {
  echo "torch in $torch_dir: $("$python" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())' 2>/dev/null || echo "(no Python torch: LORALAB_TORCH_DIR)")"
  rm -rf "$work/app" "$work/node_modules" "$work/native" "$work/libLibTorchSharp.so" && mkdir -p "$work/node_modules"
  tar xJf .gpu/app.tar.xz -C "$work" || return 1
  tar xJf .gpu/data.tar.xz -C "$work/node_modules" || return 1
  ls "$work/app"/libtorch*.so >/dev/null 2>&1 && { echo "the pack holds a libtorch: pack with tests/gpu/pack.sh (TorchSharpBackend=none)"; return 1; }
  local check=("$work/app/lab" torch) mode="${LORALAB_NATIVE:-auto}"
  [ "${LORALAB_REQUIRE_CUDA:-1}" = 1 ] && check+=(--require-cuda)
  if [ "$mode" != build ] && LORALAB_LIBTORCHSHARP="$work/app/libLibTorchSharp.so" "${check[@]}"; then
    echo "LoraLab: TorchSharp's prebuilt libLibTorchSharp.so works with this torch"
    ln -sf "$work/app/libLibTorchSharp.so" "$work/libLibTorchSharp.so"
  elif [ "$mode" = prebuilt ]; then
    echo "LoraLab: the prebuilt libLibTorchSharp.so does not work with this torch (LORALAB_NATIVE=prebuilt: not building)"; return 1
  else
    [ "$mode" = auto ] && echo "LoraLab: the prebuilt libLibTorchSharp.so does not work with this torch; building it from TorchSharp's sources"
    build_native "$work/native/libLibTorchSharp.so" || return 1
    LORALAB_LIBTORCHSHARP="$work/native/libLibTorchSharp.so" "${check[@]}" || { echo "LoraLab: the built library does not work either"; return 1; }
    echo "LoraLab: libLibTorchSharp built from source works with this torch"
    ln -sf "$work/native/libLibTorchSharp.so" "$work/libLibTorchSharp.so"
  fi
  # The notebooks reference ../lib/LoraLab/bin/Release/net10.0/*.dll: put the packed libraries there.
  local bin=lib/LoraLab/bin/Release/net10.0 display=lib/LoraLab.Display/bin/Release/net10.0
  mkdir -p "$bin" "$display"
  for lib in TorchSharp LoraLab LoraLab.Data; do cp "$work/app/$lib.dll" "$bin/"; done
  cp "$work/app/LoraLab.Display.dll" "$display/"
  echo "app in $work/app; libLibTorchSharp: $(readlink "$work/libLibTorchSharp.so")"
}

# libLibTorchSharp from TorchSharp 0.107.0's native sources (MIT, vendored in ../shared), against this torch's headers and
# libraries: C++17, torch's own C++ ABI, one compiler process per core, then one link (CUDA libraries when torch has them).
build_native() {
  local target=$1 src="$root/../shared/vendor/TorchSharp-0.107.0-native/src/Native"
  local obj="$work/native/obj" log="$work/native/build.log"
  [ -d "$src/LibTorchSharp" ] || { echo "no TorchSharp native sources at $src/LibTorchSharp"; return 1; }
  [ -d "$torch_dir/include/torch" ] || { echo "no C++ headers in $torch_dir/include: cannot build libLibTorchSharp against this torch"; return 1; }
  mkdir -p "$obj"
  local abi
  abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)
  local flags="-O2 -fPIC -std=c++17 -w -D_GLIBCXX_USE_CXX11_ABI=$abi -I$src -I$src/LibTorchSharp -I$torch_dir/include -I$torch_dir/include/torch/csrc/api/include"
  local clock=$(date +%s)
  if ! ls "$src"/LibTorchSharp/*.cpp | xargs -P "$(nproc)" -I{} sh -c "g++ $flags -c {} -o $obj/\$(basename {} .cpp).o" > "$log" 2>&1; then
    echo "compiling libLibTorchSharp failed; the first errors:"; grep -m 30 -E "error" "$log"; return 1
  fi
  local cuda=()
  [ -f "$torch_dir/lib/libtorch_cuda.so" ] && cuda=(-ltorch_cuda -lc10_cuda)
  g++ -shared -o "$target" "$obj"/*.o -L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -ltorch -ltorch_cpu -lc10 "${cuda[@]}" >> "$log" 2>&1 ||
    { echo "linking libLibTorchSharp failed:"; tail -20 "$log"; return 1; }
  echo "LoraLab: built $target ($(du -h "$target" | cut -f1)) in $(( $(date +%s) - clock )) s with $(nproc) compilers${cuda:+, CUDA libraries linked}"
}

# A stage on a fresh machine (the build of an earlier call gone) builds first.
need_build() { [ -x "$work/app/LoraLab.DeviceRunner" ] && [ -e "$work/libLibTorchSharp.so" ] || build; }

tests() { need_build && "$work/app/LoraLab.DeviceRunner" LoraLab.Tests ${1:+--filter "$1"}; }

bench() {
  need_build || return 1
  "$work/app/LoraLab.DeviceRunner" bench train --json "$out/bench-train.json"
}

paper() {
  need_build || return 1
  # Each notebook gets an equal share of the stage's time, less a margin to export and pack what came out.
  local profile="${LORALAB_PROFILE:-paper}" each="${LORALAB_NOTEBOOK_TIMEOUT:-$(( (stage_timeout - 60) / ($# > 0 ? $# : 1) ))}" rc=0
  local lab="$work/app/lab" shards="$root/data/results/$profile" store="$work/$profile-store.db"
  # The committed shards (data/results/PROFILE/*.db) merged into a working store: the notebooks train only the runs
  # they lack, and only what is new comes back, as the next shard to commit.
  rm -f "$store" "$store"-*
  local committed=()
  if ls "$shards"/*.db > /dev/null 2>&1; then
    committed=(--not-in "$shards")
    "$lab" results merge "$shards" --db "$store" || { echo "merging the committed shards of $shards failed"; return 1; }
  fi
  mkdir -p "$work/reports"
  for nb in "$@"; do
    local path="notebooks/${nb%.ipynb}.ipynb"
    [ -f "$path" ] || { echo "no notebook $path"; rc=1; continue; }
    echo "== lab run $path --profile $profile (at most ${each}s)"
    timeout --signal=INT --kill-after=20 "$each" "$lab" run "$path" --profile "$profile" --param "store_path=$store" --out "$work/reports" \
      --plotly "$work/node_modules/plotly.js-dist-min/plotly.min.js" || { echo "($path stopped with status $?)"; rc=1; }
  done
  # The runs that finished (a run is stored as it ends, so a notebook stopped by its timeout keeps its finished runs)
  # and that no committed shard has: data/results/PROFILE/<date>-<commit>.db once committed.
  if [ -e "$store" ]; then
    local commit; commit="$(cat "$work/app/commit" 2> /dev/null || echo unknown)"
    local shard="$out/$profile-$(date -u +%Y%m%d-%H%M)-$commit.db"
    "$lab" results merge "$store" --db "$shard" "${committed[@]}" || rc=1
    if [ -e "$shard" ] && [ -n "$("$lab" results list "$shard")" ]; then
      echo "new shard: $(basename "$shard"), to commit as data/results/$profile/$(basename "$shard" | sed "s/^$profile-//")"
    else
      rm -f "$shard"; echo "no new runs: every run the notebooks asked for is in the committed shards"
    fi
  fi
  # The base models pretrained here, with their weights' SHA-256: committed as data/results/bases/NAME-KEY.json, they make
  # a later run whose base differs refuse to add runs (lib/LoraLab/BaseModels/CommittedBases.cs).
  local report name
  for report in "${LORALAB_CACHE_DIR:-$root/data/cache}"/base/*/report.json; do
    [ -e "$report" ] || continue
    name="$(basename "$(dirname "$report")")"
    if [ -e "$root/data/results/bases/$name.json" ]; then echo "base $name: its report is committed already"
    else cp "$report" "$out/base-$name.json" && echo "new base: base-$name.json, to commit as data/results/bases/$name.json"; fi
  done
  # Reports and the sweep logs, to read.
  local keep=()
  [ -d "$work/reports" ] && keep+=(-C "$work" reports)
  [ -d data/logs ] && keep+=(-C "$root" data/logs)
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
