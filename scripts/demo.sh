#!/usr/bin/env bash
# Install ccconsole and open the console on the demo workspace (created on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/ccconsole --demo "$@"
