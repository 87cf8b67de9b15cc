#!/usr/bin/env bash
# The GPU check, as one script for a machine with CUDA (run from the repository root):
# the CUDA tests, the sweep and reference benchmarks on the GPU, and the three lessons on the
# full MNIST for 5 epochs. Everything it prints goes to ${OUT:-gpu-check}/ as well.
# DATA: the full MNIST in torchvision's layout (default ../shared/data).
set -uo pipefail
out="${OUT:-gpu-check}"
data="${DATA:-../shared/data}"
mkdir -p "$out"
export LRTUI_HOME="$out/home"
step() { echo "== $*" | tee -a "$out/summary.txt"; }
pip install -q -e ".[test]" >"$out/install.log" 2>&1 || { echo "install failed"; tail "$out/install.log"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
step "pytest -m cuda"
python -m pytest -m cuda -q -p no:xdist 2>&1 | tee "$out/pytest-cuda.txt" | tail -5
step "sweep.py --device cuda"
python benchmarks/sweep.py --device cuda 2>&1 | tee "$out/sweep.txt" | tail -15
step "vs_reference.py --device cuda"
python benchmarks/vs_reference.py --device cuda 2>&1 | tee "$out/vs_reference.txt" | tail -15
if [ -d "$data/MNIST" ]; then
  step "the three lessons, full MNIST, 5 epochs, cuda"
  python -m lrtui run --lr 0.5,0.01,1e-4 --epochs 5 --dataset mnist --data-dir "$data" --device cuda \
    --quiet --json "$out/lessons.json" 2>&1 | tee "$out/lessons.txt" | tail -12
else
  step "no full MNIST at $data: lessons skipped"
fi
