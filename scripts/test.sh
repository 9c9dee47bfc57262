#!/usr/bin/env bash
# Install everything the tests need (Debian's PostgreSQL, tmux and OpenSSH, the Python packages) and run them:
# the whole suite (store and many-staff tests on SQLite and PostgreSQL), then — when no arguments are
# given — every console and command-line test a second time on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
{ [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1; } || need+=(openssh-server openssh-client)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "Installing ${need[*]} (Debian packages)…"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash scripts/setup.sh test
export CCCONSOLE_REQUIRE_PG=1
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
.venv/bin/python -m pytest -q -p no:cacheprovider
echo "Second pass: every console and command-line test on PostgreSQL (the store tests ran on both above)"
CCCONSOLE_TEST_BACKEND=postgres exec .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/tui tests/test_cli.py tests/test_cli_import.py tests/test_cli_broadcast.py
