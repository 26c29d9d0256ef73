#!/usr/bin/env bash
# One short run on a machine with a CUDA GPU (a few minutes; meant to fit 5):
#   bash benchmarks/gpu_check.sh
# On this workplace's lent GPU machines the image has torch, numpy, scipy, h5py, tifffile,
# safetensors and threadpoolctl but not dask, zarr or RosettaSciIO: first run, here,
#   bash scripts/gpu_wheels.sh      # downloads those wheels into .whl/ (git-ignored)
# and carry .whl to the machine; this script installs them when it finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD/src
else
  export PYTHONPATH=$PWD/src
fi
export FERROMAP_BENCH_DATA=${FERROMAP_BENCH_DATA:-/tmp/ferromap-bench}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
cd benchmarks && PYTHONUNBUFFERED=1 $PY gpu_check.py
