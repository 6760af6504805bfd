#!/usr/bin/env bash
# GPU check (issue 3): CIFAR-size ResNet-18 images/s, P1 (our BYOL step against the lightly reference)
# and P2 (embedding) on the GPU, in about five minutes. CI never runs it.
#
#   bash benchmarks/gpu_check.sh --prepare   # on the development machine: put the lightly wheel and the
#                                            # cifar10_5k archive into .bench/ (git-ignored locally)
#   bash benchmarks/gpu_check.sh             # on the GPU machine (carry .bench/ there)
#   GPU_CHECK_TINY=1 bash benchmarks/gpu_check.sh   # tiny settings on the CPU: checks that the script works
#
# Figures (JSON) and logs go to $OUT when it is set, else to /tmp/labellight-gpu-check/. PYTHON picks the
# interpreter (default: .venv/bin/python when present, else python3); it needs torch, torchvision,
# numpy and Pillow; lightly is installed from .bench/wheels when it is missing.
set -uo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=.bench
ARCHIVE_NAME=cifar10_5k.tar.gz

if [ "${1:-}" = "--prepare" ]; then
    set -e
    mkdir -p "$BENCH_DIR/wheels"
    grep -qx "/$BENCH_DIR/" .git/info/exclude 2>/dev/null || echo "/$BENCH_DIR/" >>.git/info/exclude
    .venv/bin/pip download --no-deps --only-binary=:all: --dest "$BENCH_DIR/wheels" "lightly==1.6.0"
    for archive in ../shared/datasets/$ARCHIVE_NAME shared/datasets/$ARCHIVE_NAME; do
        if [ -f "$archive" ]; then install -m 0644 "$archive" "$BENCH_DIR/$ARCHIVE_NAME"; break; fi
    done
    ls -l "$BENCH_DIR" "$BENCH_DIR/wheels"
    echo "prepared: carry $BENCH_DIR to the GPU machine and run bash benchmarks/gpu_check.sh there"
    exit 0
fi

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="backend${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
RESULTS=${OUT:-${TMPDIR:-/tmp}/labellight-gpu-check}
mkdir -p "$RESULTS"

if ! "$PYTHON" -c "import lightly" 2>/dev/null; then
    if ! ls "$BENCH_DIR"/wheels/lightly-*.whl >/dev/null 2>&1; then
        echo "lightly is not installed and $BENCH_DIR/wheels holds no wheel: run 'bash benchmarks/gpu_check.sh --prepare'" \
            "where a package registry is reachable, or pip install -e '.[bench]'" >&2
        exit 2
    fi
    "$PYTHON" -m pip install --quiet --no-index --no-deps --find-links "$BENCH_DIR/wheels" lightly || exit 2
fi

DATA=()
if [ -n "${BENCH_DATA:-}" ]; then
    DATA=(--data "$BENCH_DATA")
elif [ -f "$BENCH_DIR/$ARCHIVE_NAME" ]; then
    DATA=(--data "$BENCH_DIR/$ARCHIVE_NAME")
fi

if [ -n "${GPU_CHECK_TINY:-}" ]; then
    DEVICE=cpu
    RESNET=(--batch-size 16 --steps 2 --rounds 1 --warmup 1)
    P1=(--images 64 --batch-size 32 --rounds 1 --warmup 1 --workers 1)
    P2=(--images 128 --rounds 1 --workers 1)
else
    DEVICE=cuda
    if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        echo "no CUDA device is visible to $PYTHON; for a dry run on the CPU set GPU_CHECK_TINY=1" >&2
        exit 2
    fi
    RESNET=(--batch-size 512 --steps 50 --rounds 3 --warmup 10)
    P1=(--images 5000 --rounds 5 --warmup 5 --reference-fp32)
    P2=(--images 5000 --rounds 5)
fi

{
    date -u
    uname -m
    nproc
    "$PYTHON" -c "import torch, torchvision, lightly; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'lightly', lightly.__version__)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
} >"$RESULTS/gpu_check_env.txt" 2>&1
cat "$RESULTS/gpu_check_env.txt"

failed=0
step() {
    local name=$1 limit=$2
    shift 2
    echo "== $name"
    timeout "$limit" "$PYTHON" "$@" 2>&1 | tee "$RESULTS/$name.log"
    local status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
        echo "== $name failed (exit $status)"
        failed=1
    fi
}

step resnet18 120 benchmarks/resnet18_throughput.py --device "$DEVICE" "${RESNET[@]}" --json "$RESULTS/resnet18.json"
step p1_byol 300 benchmarks/byol_throughput.py --device "$DEVICE" "${DATA[@]}" "${P1[@]}" --json "$RESULTS/p1_byol.json"
step p2_embed 120 benchmarks/embed_throughput.py --device "$DEVICE" "${DATA[@]}" "${P2[@]}" --json "$RESULTS/p2_embed.json"
exit "$failed"
