#!/usr/bin/env bash
# The GPU check as one script, for a CUDA box with NO network (run from anywhere; it works in the repository):
#
#     bash benchmarks/fetch_gpu_wheels.sh      # first, where there is network: the wheels into .whl/
#     bash benchmarks/gpu_check.sh             # then, on the GPU box (the repository and .whl/ copied there)
#
# The box is expected to have python3 (3.12) with a CUDA build of torch + torchvision and numpy, and nothing
# else lrtui needs: everything else is installed from .whl/ into $SITE (--no-index --no-deps, so the box's
# torch is never touched) and found through PYTHONPATH, with the repository itself first on it.
# Then, each part with a time limit inside one overall budget ($BUDGET_S, default 420 s; $RESERVE_S of it, 10 s,
# is kept for the summary), the checks of what is right first and the throughput figures last:
#   one sample of the machine (lrtui/system_load.py: CPU, memory, load and, on CUDA, the GPU's figures through
#   NVML while the GPU multiplies matrices), the CUDA tests (every test file marked cuda), a single run and a
#   stacked sweep with `lrtui run --device cuda` on the embedded 5k digits (their epochs' GPU figures counted),
#   a --model sweep of examples/mlp.py stacked through torch.func against the same runs one by one
#   (benchmarks/gpu_func_stack.py: the CUDA graph captured, the final losses equal), a --data sweep of datasets
#   with random transforms (examples/shifted_digits.py: read again every epoch), the real `lrtui` app in a
#   pseudo-terminal (first frame, a run, ctrl+q), the three lessons on full MNIST when $DATA holds it,
#   throughput (benchmarks/sweep.py: reference loop, one run, K=8 one by one / stacked) and the engine against
#   the notebook loop (vs_reference.py). Each part prints its time and the budget used so far; a summary
#   table is printed last. $OUT (else ./gpu-check) gets at most 7 files: summary.txt, logs.txt (every part's
#   whole output) and the runs' --json documents.
# Without CUDA every CUDA part prints one "skipped: no CUDA" line and the script exits 0; REHEARSE=1 runs
# them on the CPU at tiny sizes instead (to try the script itself on a machine without a GPU).
# Exit status: 0 when no part failed or was left out for lack of time (no-CUDA skips do not count), else 1.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
out="${OUT:-$repo/gpu-check}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
L="${LOGS:-/tmp/lrtui-gpu-check-logs}"  # each part's log; joined into $out/logs.txt at the end
rm -rf "$L" && mkdir -p "$L"
PY=$(command -v "${PYTHON:-python3}") || { echo "gpu_check: no ${PYTHON:-python3} on PATH"; exit 1; }
SITE="${SITE:-/tmp/lrtui-gpu-site}"
BUDGET_S="${BUDGET_S:-420}"
RESERVE_S="${RESERVE_S:-10}"  # of the budget, kept for the summary and logs after the last part
start=$(date +%s)
export LRTUI_HOME="${LRTUI_HOME:-/tmp/lrtui-gpu-home}" LRTUI_CACHE="${LRTUI_CACHE:-/tmp/lrtui-gpu-cache}"
export PYTHONPATH="$repo:$SITE${PYTHONPATH:+:$PYTHONPATH}" PATH="$SITE/bin:$PATH" PYTHONUNBUFFERED=1
: >"$L/summary.tsv"
failed=0

row() {  # part, result, figure, seconds: one line of the summary table (after a part the budget left out: says so)
  local fig=$3
  [ "${rc:-}" = skip ] && fig="not run: the budget of ${BUDGET_S} s was spent" && rc=
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$fig" "$4" >>"$L/summary.tsv"
}
left() { echo $((start + BUDGET_S - RESERVE_S - $(date +%s))); }
used() { echo "$(($(date +%s) - start)) s of the budget of ${BUDGET_S} s used"; }
# part NAME LIMIT_S LOG CMD...: run CMD with a time limit (never past the budget), its output to LOG; the last
# lines of LOG are shown. Sets $rc and $secs for the summary row the caller writes.
part() {
  local name=$1 limit=$2 log=$3
  shift 3
  local remaining
  remaining=$(left)
  ((limit > remaining - 5)) && limit=$((remaining - 5))  # timeout's 5 s of grace after its TERM fit too
  echo "== $name (limit ${limit} s)"
  if ((limit < 15)); then
    echo "   skipped: the budget of ${BUDGET_S} s is spent"
    rc=skip secs=0 failed=1  # the check is incomplete
    : >"$log"
    return
  fi
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@" >"$log" 2>&1
  rc=$? secs=$((SECONDS - t0))
  tail -n "${TAIL:-6}" "$log" | sed 's/^/   /'
  if ((rc == 124 || rc == 137)); then echo "   TIMED OUT after ${limit} s"; fi
  echo "   -- $(status_of) in ${secs} s; $(used)"
  ((rc != 0)) && failed=1
}
status_of() { case $rc in 0) echo ok ;; skip) echo "NOT RUN" ;; 124 | 137) echo TIMEOUT ;; *) echo "FAILED rc=$rc" ;; esac; }

# the summary table (last on screen), summary.txt and logs.txt into $out; exits with the status
finish() {
  {
    echo
    echo "GPU check summary ($(($(date +%s) - start)) s; logs in $out/logs.txt)"
    "$PY" -c '
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
rows.insert(0, ["part", "result", "figure", "s"])
w = [max(len(r[i]) for r in rows) for i in range(2)]
for r in rows:
    print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[3]:>4}  {r[2]}")
' "$L/summary.tsv"
  } | tee "$out/summary.txt"
  for f in "$L"/*.txt "$L"/*.log; do [ -f "$f" ] && printf '\n===== %s\n' "$(basename "$f")" && cat "$f"; done \
    >"$out/logs.txt"
  exit "$failed"
}

# -- 1. install: the wheels into $SITE, once per set of wheels (a warm machine reuses them) -------------------
t0=$SECONDS
wheels=("$repo"/.whl/*.whl)
if [ ! -e "${wheels[0]}" ]; then
  echo "gpu_check: no wheels in $repo/.whl (run benchmarks/fetch_gpu_wheels.sh where there is network)"
  row install FAILED "no .whl/" 0
  failed=1
  finish
else
  want=$(printf "%s " "${wheels[@]##*/}")  # the names, in the glob's sorted order
  echo "== install: ${#wheels[@]} wheels into $SITE"
  if [ "$(cat "$SITE/.wheels" 2>/dev/null)" = "$want" ]; then
    echo "   already there (the same wheels)"
  else
    rm -rf "$SITE" && mkdir -p "$SITE/bin"
    if "$PY" -m pip --version >/dev/null 2>&1; then
      "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        "${wheels[@]}" >"$L/install.log" 2>&1
    else  # no pip on the box: a wheel is a zip to unpack onto the path
      "$PY" -c 'import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]' \
        "$SITE" "${wheels[@]}" >"$L/install.log" 2>&1
    fi && echo "$want" >"$SITE/.wheels"
  fi
  mkdir -p "$SITE/bin"  # `lrtui` as an installed entry point would be (the app check starts it by that name)
  printf '#!/bin/sh\nexec "%s" -m lrtui "$@"\n' "$PY" >"$SITE/bin/lrtui" && chmod +x "$SITE/bin/lrtui"
  # every module lrtui and the checks import that the box may lack (lrtui.cli alone imports few of them)
  if "$PY" -c "import lrtui.cli, lrtui.runner, lrtui.sessions.schema, lrtui.tui.app, msgspec, psutil, pynvml, \
platformdirs, plotext, textual_plotext, scipy.stats, sklearn.metrics, sklearn.model_selection, mlxtend.data, pytest" \
    >>"$L/install.log" 2>&1; then
    row install ok "${#wheels[@]} wheels -> $SITE" $((SECONDS - t0))
    echo "   -- ok in $((SECONDS - t0)) s; $(used)"
  else
    why=$(grep -E "Error|error" "$L/install.log" | tail -n 1)
    echo "gpu_check: lrtui does not import after the install: $why"
    echo "   (a box without scikit-learn or pytest needs the full set: fetch_gpu_wheels.sh without --minimal)"
    row install FAILED "$why" $((SECONDS - t0))
    failed=1
    finish
  fi
fi

# -- 2. the machine ------------------------------------------------------------------------------------------
t0=$SECONDS
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv \
  >"$L/gpu.txt" 2>&1
"$PY" - >"$L/env.txt" 2>&1 <<'EOF'
import os, platform, sys
import numpy, torch, torchvision
cuda = torch.cuda.is_available()
print(f"python {platform.python_version()}, torch {torch.__version__} (CUDA {torch.version.cuda}), "
      f"torchvision {torchvision.__version__}, numpy {numpy.__version__}, {os.cpu_count()} CPUs")
print(f"cuda: {torch.cuda.get_device_name(0) + ', ' + str(torch.cuda.device_count()) + ' device(s)' if cuda else 'no CUDA'}")
EOF
cat "$L/env.txt" "$L/gpu.txt" 2>/dev/null
if grep -q "^cuda: no CUDA" "$L/env.txt" || ! grep -q "^cuda: " "$L/env.txt"; then
  have_cuda=0
  row machine "no CUDA" "$(head -n 1 "$L/env.txt")" $((SECONDS - t0))
else
  have_cuda=1
  row machine ok "$(sed -n 's/^cuda: //p' "$L/env.txt"); $(head -n 1 "$L/env.txt")" $((SECONDS - t0))
fi
echo "   -- $((SECONDS - t0)) s; $(used)"
dev=cuda
if ((!have_cuda)); then
  if [ "${REHEARSE:-0}" = 1 ]; then
    dev=cpu
    echo "REHEARSE=1: every CUDA part runs on the CPU at tiny sizes (its figures say nothing about a GPU)"
  else
    dev=
  fi
fi
# sizes: the real ones on CUDA (sweep.py's K=8 alone and one timed round, to fit the budget with the rest),
# tiny ones for a CPU rehearsal
if [ "$dev" = cuda ]; then
  run_size=(--epochs 3) sweep_lrs=1,0.5,0.1,0.05,0.01,1e-3,1e-4,1e-5 sweep_size=(--epochs 1 --ks 8 --repeats 1)
  ref_size=(--epochs 1 --repeats 1) model_size=(--train-limit 400) app_limit=""
else
  run_size=(--epochs 1 --train-limit 300) sweep_lrs=0.5,0.05,1e-3,1e-5
  sweep_size=(--epochs 1 --train-limit 200 --ks 2 --repeats 1) ref_size=(--epochs 1 --repeats 1)
  model_size=(--train-limit 200) app_limit=300
fi
skip_line() { echo "== $1"; echo "   skipped: no CUDA"; row "$1" "skipped" "no CUDA" 0; }

# summary figures out of the --json documents: status, device and speed of each run, and how many of its epoch
# records hold the machine's figures (on CUDA the GPU's: the runner's sampler reads them through NVML)
runs_figure() {
  "$PY" - "$1" <<'EOF'
import json, sys
from collections import Counter
runs = json.load(open(sys.argv[1]))["runs"]
ends = ", ".join(f"{n} {status}" for status, n in Counter(r["status"] for r in runs).items())
acc = "/".join(f"{100 * r['test']['accuracy']:.1f}" if r.get("test") else "-" for r in runs)
sps = sum(r["samples_per_s"] or 0 for r in runs)
epochs = [s for r in runs for s in r.get("system") or []]
gpu = [s for s in epochs if any(s.get(k) is not None for k in ("gpu_util", "gpu_mem_mb", "gpu_temp_c"))]
machine = (f"GPU figures in {len(gpu)}/{len(epochs)} epoch records" if runs[0]["device"].startswith("cuda")
           else f"machine figures in {len(epochs)} epoch records")
print(f"{ends} on {runs[0]['device']}; test acc {acc}%; {sps:,.0f} samples/s in all; {machine}")
EOF
}
runs_row() {  # name, log stem: the figure (or the log's last lines) on screen and in the summary
  local fig=""
  [ "$rc" = 0 ] && fig=$(runs_figure "$2.json")
  if [ -n "$fig" ]; then echo "   $fig"; else tail -n 3 "$L/$(basename "$2").txt" | sed 's/^/   /'; fi
  row "$1" "$(status_of)" "${fig:-see logs.txt}" "$secs"
}

# -- 3. one sample of the machine as the status line shows it, on CUDA with the GPU's figures (NVML) while the GPU
# works: no GPU figures on CUDA fail the part (pynvml missing, NVML failing, CUDA's GPU 0 not found in NVML) --
TAIL=4 part "system sample" 45 "$L/system.txt" "$PY" - "$dev" <<'EOF'
import os, sys, time
from lrtui.system_load import SystemSampler, cuda_index
from lrtui.tui.widgets.status import load_parts
cuda = sys.argv[1] == "cuda"
if cuda:
    import torch
    x = torch.randn(4096, 4096, device="cuda")
    torch.cuda.synchronize()
    print(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}; cuda:0 is "
          f"{torch.cuda.get_device_name(0)} (uuid {torch.cuda.get_device_properties(0).uuid})")
sampler = SystemSampler(0.5)
sampler.watch_gpu(cuda_index("cuda:0") if cuda else None)  # as the runner watches a run's device
sampler.start()
t0 = time.monotonic()
while time.monotonic() - t0 < 2.2:  # on CUDA the GPU works meanwhile: the last samples show it busy
    if cuda:
        x = torch.tanh(x @ x)
        torch.cuda.synchronize()
    else:
        time.sleep(0.05)
sample = sampler.latest
sampler.stop()
print(sample)
if sample is None or (cuda and not sample.has_gpu):
    print("no GPU figures: NVML (pynvml) is missing or failing" if sample else "no sample taken")
    sys.exit(1)
if cuda:
    import pynvml
    pynvml.nvmlInit()
    count = pynvml.nvmlDeviceGetCount()
    print(f"NVML sees {[pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]}")
    if not sample.gpu_util:
        print("note: the GPU read 0% (or no) utilisation while it multiplied matrices: another GPU's figures?")
print("sample: " + " · ".join(load_parts(sample)))
EOF
row "system sample" "$(status_of)" "$(sed -n 's/^sample: //p' "$L/system.txt" | tail -n 1)" "$secs"

# -- 4. the CUDA tests: every test file marked cuda (they skip themselves without CUDA); the box's own pytest
# plugins are not loaded (none is needed, and a carried pytest may not match them): pyproject's `timeout`
# option then has no plugin, and the part's own limit stands in for it ---------------------------------------
mapfile -t cuda_tests < <(cd "$repo" && grep -rl --include='test_*.py' "pytest.mark.cuda" tests | sort)
if ((${#cuda_tests[@]} == 0)); then
  echo "== pytest -m cuda"
  echo "   no test file is marked cuda"
  row "pytest -m cuda" FAILED "no test file marked cuda" 0
  failed=1
else
  TAIL=4 part "pytest -m cuda" 120 "$L/pytest-cuda.txt" \
    env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$PY" -m pytest -m cuda -q -p no:cacheprovider \
    -W ignore::pytest.PytestConfigWarning "${cuda_tests[@]}"
  result=$(status_of)
  [ "$rc" = 0 ] && ! grep -q " passed" "$L/pytest-cuda.txt" && result=skipped  # all skipped: no CUDA
  row "pytest -m cuda" "$result" "$(grep -E '(passed|failed|skipped|error)' "$L/pytest-cuda.txt" \
    | tail -n 1 | tr -d '=' | sed 's/^ *//') (${#cuda_tests[@]} file(s))" "$secs"
fi

# -- 5. lrtui run: one run (the graph path), a stacked sweep of 8 lrs; the --model sweep through torch.func -----
if [ -z "$dev" ]; then
  skip_line "lrtui run, one run"
  skip_line "lrtui run, stacked sweep"
  skip_line "--model sweep, torch.func"
  skip_line "--data datasets, stacked"
  skip_line "--data read ahead"
else
  TAIL=0 part "lrtui run, one run ($dev)" 75 "$L/run-one.txt" \
    lrtui run --lr 0.05 "${run_size[@]}" --device "$dev" --quiet --json "$out/run-one.json"
  runs_row "lrtui run, one run" "$out/run-one"
  TAIL=0 part "lrtui run, stacked sweep ($dev)" 90 "$L/run-stacked.txt" \
    lrtui run --lr "$sweep_lrs" "${run_size[@]}" --batched --device "$dev" --quiet --json "$out/run-stacked.json"
  runs_row "lrtui run, stacked sweep" "$out/run-stacked"
  TAIL=0 part "--model sweep: examples/mlp.py stacked through torch.func vs one by one ($dev)" 90 \
    "$L/model-sweep.txt" "$PY" benchmarks/gpu_func_stack.py --device "$dev" "${model_size[@]}" --out "$out"
  grep -E "^(step:|plan of|plans:|figure:|ok:|FAILED:)" "$L/model-sweep.txt" | sed 's/^/   /'
  fig="see logs.txt"
  [ "$rc" = 0 ] && fig=$(sed -n 's/^figure: //p' "$L/model-sweep.txt")
  [ "$rc" != 0 ] && grep -q "^FAILED: " "$L/model-sweep.txt" && fig=$(grep -m 1 "^FAILED: " "$L/model-sweep.txt")
  row "--model sweep, torch.func" "$(status_of)" "$fig" "$secs"
  # datasets with random transforms: the training split read again every epoch into the stack's buffer (its
  # CUDA graph reads that buffer); the --json stays with the logs ($OUT keeps at most 7 files)
  TAIL=0 part "--data datasets, read every epoch: examples/shifted_digits.py, stacked ($dev)" 75 "$L/run-data.txt" \
    lrtui run --data examples/shifted_digits.py:shifted_digits --lr 0.05,0.01 --epochs 2 --train-limit 1000 \
    --batched --device "$dev" --quiet --json "$L/run-data.json"
  runs_row "--data datasets, stacked" "$L/run-data"
  TAIL=2 part "--data datasets: the next epoch read ahead vs in turn ($dev)" 90 "$L/read-ahead.txt" \
    "$PY" benchmarks/dataset_read.py --device "$dev" --epochs 3 --repeats 1
  fig="see logs.txt"
  [ "$rc" = 0 ] && fig=$(sed -n 's/^whole run on [^,]*, //p' "$L/read-ahead.txt")
  row "--data read ahead" "$(status_of)" "$fig" "$secs"
fi

# -- 6. the app: the real `lrtui` in a pseudo-terminal (80x24): first frame, a run (auto: CUDA), ctrl+q -------
TAIL=2 part "lrtui app in a pseudo-terminal" 75 "$L/app.txt" "$PY" - "$app_limit" <<'EOF'
import os, sys, tempfile
sys.path.insert(0, "benchmarks")
from tui_overhead import first_frame_and_quit  # the figures of the README, measured the same way
with tempfile.TemporaryDirectory() as home:
    raw = {"lr": "0.01", "epochs": "3", **({"train_limit": sys.argv[1]} if sys.argv[1] else {})}
    first_frame_and_quit(raw, {**os.environ, "LRTUI_HOME": home})
EOF
if grep -q "never seen\|still running" "$L/app.txt"; then [ "$rc" = 0 ] && rc=1 && failed=1; fi
row "lrtui app (pty 80x24)" "$(status_of)" "$(sed -n 's/^first frame: \([0-9.]* s\).*/first frame \1/p' "$L/app.txt"); \
$(sed -n 's/^quit during a run: process gone \([0-9.]* s\).*/quit \1 after ctrl+q/p' "$L/app.txt")" "$secs"

# -- 7. the three lessons on full MNIST, where $DATA (or shared/data) holds it --------------------------------
data="${DATA:-}"
[ -z "$data" ] && for d in "$repo/shared/data" "$repo/../shared/data"; do [ -d "$d/MNIST" ] && data=$d && break; done
if [ "$dev" = cuda ] && [ -n "$data" ] && [ -d "$data/MNIST" ]; then
  TAIL=3 part "the three lessons, full MNIST, 5 epochs, cuda" 120 "$L/lessons.txt" \
    lrtui run --lr 0.5,0.01,1e-4 --epochs 5 --dataset mnist --data-dir "$data" --device cuda --quiet \
    --json "$out/lessons.json"
  runs_row "lessons, full MNIST" "$out/lessons"
else
  echo "== lessons on full MNIST"
  echo "   skipped: $([ "$dev" = cuda ] && echo "no MNIST folder (set DATA)" || echo "no CUDA")"
  row "lessons, full MNIST" skipped "$([ "$dev" = cuda ] && echo "no full MNIST (DATA)" || echo "no CUDA")" 0
fi

# -- 8. throughput, last (the longest parts, figures rather than checks): the reference loop, one run, K runs one
# by one and stacked; the engine against the notebook loop -----------------------------------------------------
if [ -z "$dev" ]; then
  skip_line "sweep.py"
  skip_line "vs_reference.py"
else
  TAIL=9 part "benchmarks/sweep.py ($dev)" 150 "$L/sweep.txt" \
    "$PY" benchmarks/sweep.py --device "$dev" "${sweep_size[@]}"
  fig="see logs.txt"
  [ "$rc" = 0 ] && fig=$(awk '/^one run \(train\)/ {one = $5 " samples/s, " $6 "x reference"}
                             /^K=[0-9]+ stacked/ {k = $1 " stacked " $6 "x one run wall"}
                             END {print one "; " k " (goals >= 10x, <= 1.5x)"}' "$L/sweep.txt")
  row "sweep.py" "$(status_of)" "$fig" "$secs"
  TAIL=3 part "benchmarks/vs_reference.py ($dev)" 75 "$L/vs_reference.txt" \
    "$PY" benchmarks/vs_reference.py --device "$dev" "${ref_size[@]}"
  fig="see logs.txt"
  [ "$rc" = 0 ] && fig=$(grep -E '^median samples/s' "$L/vs_reference.txt" | sed 's/median //')
  row "vs_reference.py" "$(status_of)" "$fig" "$secs"
fi

finish
