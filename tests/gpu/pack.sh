#!/usr/bin/env bash
# Packs what the GPU machine needs into .gpu/ (git-ignored), since that machine has no dotnet:
#   .gpu/app.tar.xz   one self-contained folder (one .NET runtime) with the `lab` CLI (the notebook runner, `lab torch`)
#                     and the device runner (LoraLab's tests by reflection, the training benchmark), their libraries,
#                     TorchSharp's managed assembly and its prebuilt libLibTorchSharp.so, reference.py and peft_bench.py.
#                     Built with -p:TorchSharpBackend=none: no CPU libtorch (about 500 MB); the GPU machine's PyTorch
#                     provides libtorch, and run-on-gpu.sh builds libLibTorchSharp from TorchSharp's sources
#                     (../shared/vendor, which travels on its own) when the prebuilt one does not work with it.
#   .gpu/data.tar.xz  the npm data packages of data/package.json (corpora, plotly.js) from data/node_modules.
# The notebooks travel with the working tree. The device tool carries at most 64 MiB in all (the working tree
# included), so the pack says its size and fails past LORALAB_PACK_LIMIT_MB (default 56).
#   ./lab gpu-pack            (or: bash tests/gpu/pack.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
limit_mb="${LORALAB_PACK_LIMIT_MB:-56}"
rm -rf .gpu && mkdir -p .gpu/app
publish() { dotnet publish "$1" -c Release -r linux-x64 --self-contained -o .gpu/app -v quiet -clp:ErrorsOnly -p:UseAppHost=true -p:TorchSharpBackend=none; }
publish tests/LoraLab.DeviceRunner
publish lib/LoraLab.Cli
# The notebooks' display library: no project the two above reference uses it, but every notebook does.
dotnet build lib/LoraLab.Display/LoraLab.Display.csproj -c Release -v quiet -clp:ErrorsOnly
cp lib/LoraLab.Display/bin/Release/net10.0/LoraLab.Display.dll .gpu/app/
cp tests/LoraLab.Benchmarks/reference.py tests/gpu/peft_bench.py .gpu/app/
rm -f .gpu/app/*.pdb
# The commit the pack was built from (plus "-dirty" for uncommitted changes): it names the shards a GPU run brings back.
echo "$(git rev-parse --short=10 HEAD)$(git diff --quiet HEAD -- lib notebooks || echo -dirty)" > .gpu/app/commit
if ls .gpu/app/libtorch*.so >/dev/null 2>&1; then echo "pack: a libtorch was published into .gpu/app (TorchSharpBackend=none should leave it out)" >&2; exit 1; fi
[ -f .gpu/app/libLibTorchSharp.so ] || { echo "pack: TorchSharp's libLibTorchSharp.so is missing from .gpu/app" >&2; exit 1; }
# The publish restored the projects without TorchSharp-cpu; restore them as the repository builds them.
dotnet restore LoraLab.slnx -v quiet >/dev/null
tar cJf .gpu/app.tar.xz -C .gpu app
rm -rf .gpu/app

# The data packages by name (data/package.json's dependencies), read through the node_modules symlink.
packages=$(python3 -c 'import json; print(" ".join(json.load(open("data/package.json"))["dependencies"]))')
for p in $packages; do
  [ -d "data/node_modules/$p" ] || { echo "pack: data/node_modules/$p is missing: run ./lab setup first" >&2; exit 1; }
done
# shellcheck disable=SC2086
tar chJf .gpu/data.tar.xz -C data/node_modules $packages

tree_kb=$(git ls-files -z | xargs -0 du -ck 2>/dev/null | tail -1 | cut -f1)
pack_kb=$(du -ck .gpu/*.tar.xz | tail -1 | cut -f1)
total_mb=$(( (tree_kb + pack_kb) / 1024 ))
echo "packed .gpu: app $(du -h .gpu/app.tar.xz | cut -f1), data $(du -h .gpu/data.tar.xz | cut -f1); with the working tree about ${total_mb} MiB to carry"
if [ "$total_mb" -gt "$limit_mb" ]; then
  echo "pack: ${total_mb} MiB is over the ${limit_mb} MiB budget for the device tool's carry (64 MiB in all)" >&2
  exit 1
fi
echo "on the GPU machine, with .gpu carried: bash tests/gpu/run-on-gpu.sh [stage ...]  (see that script)"
