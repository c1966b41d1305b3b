#!/usr/bin/env bash
# mtl against PyTorch on the same CPU, side by side in one run.
#
#   scripts/bench-vs-pytorch.sh            # ROUNDS=3, THREADS=all cores
#
# Sets up PyTorch once in a virtual environment (target/bench-venv, or
# $BENCH_VENV; PyPI's torch is about 5.4 GB installed), then runs
# scripts/torch_reference.py and `cargo bench --bench throughput` alternately,
# ROUNDS times each, with the same thread count, and prints for every model
# and configuration the median over rounds of each side's samples/s and the
# ratio mtl ÷ PyTorch (above 1: mtl is faster), then each side's step time
# as a ratio to fixed weights. Finally one full run of the throughput bench
# (data loading, --dry-run times, peak memory). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
ROUNDS=${ROUNDS:-3}
VENV=${BENCH_VENV:-target/bench-venv}

if ! "$VENV/bin/python" -c "import torch, numpy" 2>/dev/null; then
    echo "setting up PyTorch in $VENV (once; a download of several GB)..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet torch numpy
fi
echo "building the benchmark..." >&2
cargo bench --bench throughput --no-run >&2

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round of $ROUNDS: PyTorch, then mtl ($THREADS threads)" >&2
    "$VENV/bin/python" scripts/torch_reference.py --threads "$THREADS" | grep '^TSV' >>"$out"
    BENCH_THREADS=$THREADS BENCH_STEPS_ONLY=1 cargo bench --bench throughput -q -- --tsv 2>/dev/null |
        grep '^TSV' >>"$out"
done

"$VENV/bin/python" - "$out" "$THREADS" <<'PY'
import statistics, sys
import torch
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
rate = {}
for _, side, model, config, samples, *_ in rows:
    rate.setdefault((side, model, config), []).append(float(samples))
med = {k: statistics.median(v) for k, v in rate.items()}
print(f"\nmtl vs PyTorch {torch.__version__}, {sys.argv[2]} threads, batch 32, data/mnist10k;"
      f" median over {len(rate[next(iter(rate))])} alternating rounds")
print(f"{'model':<5} {'config':<12} {'PyTorch/s':>10} {'mtl/s':>10} {'mtl÷PyTorch':>12}"
      f" {'PyTorch ÷fixed':>15} {'mtl ÷fixed':>11}")
for model in ("cnn", "mlp"):
    for config in ("fixed", "uncertainty", "gradnorm", "stl"):
        t, m = med[("torch", model, config)], med[("mtl", model, config)]
        # step-time ratio to fixed weights = inverse ratio of throughput
        tf, mf = med[("torch", model, "fixed")] / t, med[("mtl", model, "fixed")] / m
        print(f"{model:<5} {config:<12} {t:>10.0f} {m:>10.0f} {m / t:>11.2f}x {tf:>14.2f}x {mf:>10.2f}x")
PY
echo
BENCH_THREADS=$THREADS cargo bench --bench throughput -q 2>/dev/null
