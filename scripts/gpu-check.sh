#!/usr/bin/env bash
# Run on a GPU machine with the binary of scripts/build-cuda.sh: trains a short
# MNIST experiment on the CPU and on CUDA from the same seed, checks that every
# model's test metrics agree within a tolerance, and prints the throughput of
# both. Needs no Rust toolchain, only python3 and the CUDA 13 libraries of a
# Python environment (e.g. torch's nvidia/cu13/lib). See docs/gpu.md.
#
#   scripts/gpu-check.sh
#
# Environment (defaults in brackets):
#   CHECK_BIN       the CUDA build of mtl-run [target/cuda/release/mtl-run]
#   CUDA_LIB_DIR    the CUDA 13 libraries [nvidia/cu13/lib of python3's site-packages]
#   CHECK_FILE      the experiment [experiments/mnist-multitask.toml: the reference CNN, 3 tasks]
#   CHECK_EPOCHS    epochs per model [2]
#   CHECK_TOLERANCE largest allowed |CPU − CUDA| of a test metric (accuracy, macro F1) [0.02]
#   CHECK_OUT       where both runs go [a new temporary folder]
# (Not MTL_*: mtl-run reads those as config overrides.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CHECK_BIN:-$root/target/cuda/release/mtl-run}"
file="${CHECK_FILE:-$root/experiments/mnist-multitask.toml}"
epochs="${CHECK_EPOCHS:-2}"
tolerance="${CHECK_TOLERANCE:-0.02}"
out="${CHECK_OUT:-$(mktemp -d)}"

fail() { echo "gpu-check: $*" >&2; exit 1; }
[[ -x "$bin" ]] || fail "$bin is not there: build it with scripts/build-cuda.sh (or set CHECK_BIN)"
[[ "$out" != *'"'* ]] || fail "CHECK_OUT=$out: a folder name without a double quote, please"
gpus="$(nvidia-smi -L 2>/dev/null || true)"
[[ "$gpus" == GPU* ]] || fail "no GPU here (nvidia-smi lists none): this check is for a machine with an NVIDIA GPU and driver"
if [[ -z "${CUDA_LIB_DIR:-}" ]]; then
    CUDA_LIB_DIR="$(python3 -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null || true)"
fi
for lib in libnvrtc.so.13 libcublas.so.13 libcublasLt.so.13; do
    [[ -e "$CUDA_LIB_DIR/$lib" ]] ||
        fail "no $lib in '${CUDA_LIB_DIR}': set CUDA_LIB_DIR to the nvidia/cu13/lib folder of a Python environment with CUDA 13 wheels"
done
# The driver's own libcuda.so.1 comes from the system; never the link stub.
export LD_LIBRARY_PATH="$CUDA_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$bin" --version >/dev/null || fail "$bin does not start with LD_LIBRARY_PATH=$LD_LIBRARY_PATH (see the loader's message above)"

echo "$gpus"
nvidia-smi --query-gpu=driver_version,compute_cap,memory.total --format=csv 2>/dev/null || true
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "experiment: $file, $epochs epochs, results under $out"

now() { python3 -c 'import time; print(time.time())'; }
declare -A seconds
for device in cpu cuda; do
    echo "--- $device"
    start=$(now)
    # The last epoch of each model, so both devices report the same epoch;
    # --force, so a reused CHECK_OUT is trained (and timed) again.
    "$bin" "$file" --device "$device" -q --force \
        --set "train.epochs=$epochs" --set 'train.select="last"' \
        --set "experiment.output_dir=\"$out/$device\"" ||
        fail "the $device run failed (its message is above)"
    seconds[$device]=$(python3 -c "print($(now) - $start)")
done

echo "--- test metrics, CPU (A) against CUDA (B)"
status=0
python3 "$root/scripts/compare_metrics.py" "$out/cpu" "$out/cuda" "$tolerance" || status=1

# Training samples per second of the whole invocation (every model, each
# epoch's evaluation and the data loading included).
python3 - "$out/cpu" "${seconds[cpu]}" "${seconds[cuda]}" "$epochs" <<'PY'
import csv, glob, os, sys
root, cpu_s, cuda_s, epochs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
points = next(csv.DictReader(open(glob.glob(os.path.join(root, "*", "points.csv"))[0])))
train = int(points["train_samples"])
models = len(glob.glob(os.path.join(root, "*", "**", "metrics.csv"), recursive=True))
samples = train * epochs * models
print(f"--- throughput: {models} models x {epochs} epochs x {train} training samples = {samples} samples")
for name, s in (("cpu", cpu_s), ("cuda", cuda_s)):
    print(f"{name:<5} {s:8.1f} s  {samples / s:9.0f} samples/s")
print(f"cuda / cpu: {cpu_s / cuda_s:.2f}x")
PY
exit $status
