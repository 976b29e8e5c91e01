#!/usr/bin/env bash
# The bounded attack of issue 16 on a fresh `podpromo serve` (127.0.0.1 only; ATTACK_SECONDS, default 20): see
# bench/attack.py. Builds the server first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build podpromo > /dev/null
ulimit -n 65536 2> /dev/null || true
exec python3 bench/attack.py build/podpromo
