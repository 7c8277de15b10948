#!/usr/bin/env bash
# Issue 36 on a machine with an NVIDIA GPU, in under 8 minutes: the GPU test tier (every kind
# of run on the GPU, against the CPU's costs and gradients) and the device tests, then the
# README example painted on the GPU and on the CPU in the same run (benchmarks/device_check.py: both times, the peak GPU memory,
# and the pictures' independent distances, which must agree within two CPU seeds' noise).
#
# Such a machine may reach no package registry: impasto goes in with `pip install --no-deps
# -e .` (or from src/ where that cannot build), pytest from wheels carried in .device/wheels,
# and the weights from .device/vgg16-hed-relu5_1.pt (benchmarks/device_weights.py: the
# convolutions a painting runs, 38 MiB, as what travels there is at most 64 MiB). Prepare
# both here, on a machine with the registry and the weights cached:
#
#   python -m benchmarks.device_weights pack .device/vgg16-hed-relu5_1.pt
#   pip download -d .device/wheels pytest
#
# then, there, with .device carried along:   bash benchmarks/device_check.sh [OUT_FOLDER]
# Exit status 0 only when every test passed and the GPU's pictures agree with the CPU's.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-device_out}}
mkdir -p "$out"
py=${PYTHON:-python3}
export IMPASTO_HOME
IMPASTO_HOME=$(mktemp -d)
failed=0
began=$SECONDS

echo "== the machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader || true
lscpu | grep -E "^Model name|^CPU\(s\)|^Flags" | cut -c1-200 || true
$py -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__,
         "CUDA", torch.version.cuda, "GPU available", torch.cuda.is_available())'

echo "== impasto, pytest and the weights"
if ! $py -m pip install -q --no-deps -e . >"$out/pip.log" 2>&1; then
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
  echo "pip install -e . could not build here (see $out/pip.log): impasto from src/"
fi
$py -c "import pytest" 2>/dev/null || $py -m pip install -q --no-index --no-deps .device/wheels/*.whl
$py -m benchmarks.device_weights unpack .device/vgg16-hed-relu5_1.pt || failed=1

echo "== the GPU tier"
start=$SECONDS
timeout 150 $py -m pytest -q -p no:cacheprovider -m gpu -rs tests/ || failed=1
timeout 60 $py -m pytest -q -p no:cacheprovider tests/test_devices.py || failed=1
echo "GPU tier: $((SECONDS - start)) s"

echo "== the README example on the GPU and on the CPU"
start=$SECONDS
timeout 240 $py -m benchmarks.device_check "$out" || failed=1
echo "paintings: $((SECONDS - start)) s"

echo "== device_check: $([ $failed = 0 ] && echo passed || echo FAILED) in $((SECONDS - began)) s"
exit $failed
