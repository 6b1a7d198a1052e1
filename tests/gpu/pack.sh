#!/usr/bin/env bash
# Packs what the GPU machine needs into .gpu/ (git-ignored): a self-contained publish of the
# device runner (the binding's tests and the overhead benchmark), since that machine has no dotnet.
# The native shim is NOT packed: run-on-gpu.sh builds it there, against that machine's CUDA libtorch.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
rm -rf .gpu && mkdir -p .gpu
dotnet publish tests/LoraLab.DeviceRunner -c Release -r linux-x64 --self-contained -o .gpu/app -v quiet -clp:ErrorsOnly
cp tests/LoraLab.Benchmarks/reference.py .gpu/app/
rm -f .gpu/app/libloralab_torch.so   # built here against CPU libtorch; the GPU machine builds its own
tar cJf .gpu/app.tar.xz -C .gpu app
rm -rf .gpu/app
echo "packed $(du -h .gpu/app.tar.xz | cut -f1) into .gpu/app.tar.xz; run tests/gpu/run-on-gpu.sh there with .gpu carried"
