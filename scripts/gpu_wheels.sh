#!/usr/bin/env bash
# Wheels the GPU check needs on a lent GPU machine (Python 3.12, no registry there) into .whl/.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl \
  dask==2026.8.0 toolz==1.2.0 cloudpickle==3.1.3 partd==1.4.2 locket==1.0.0 fsspec==2026.9.0
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl \
  zarr==3.1.6 numcodecs==0.16.6 donfig==0.8.1.post1 crc32c 2>/dev/null || true
ls -la .whl
