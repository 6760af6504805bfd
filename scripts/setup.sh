#!/usr/bin/env bash
# Create the virtual environment and install LabelLight. With --test also the test tools and the
# system packages the tests use (Debian's chromium for e2e, docker-compose v1 to validate the compose file).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
fi
# torch and torchvision first, pinned: pip takes them from the local wheel cache where one exists.
.venv/bin/pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
if [ "${1:-}" = "--test" ]; then
    .venv/bin/pip install --quiet -e ".[dev]"
    missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
else
    .venv/bin/pip install --quiet -e .
fi
