#!/usr/bin/env bash
# One-time setup, run by `make` when the virtual environment is missing or
# pyproject.toml changed.  Installs Debian packages when missing (as root via
# apt-get; otherwise it says exactly what to install), then creates .venv
# and installs the pinned Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
need_apt=()
command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || need_apt+=(gcc-riscv64-unknown-elf)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
# picolibc gives firmware printf/stdio through the console register (optional libc).
dpkg -s picolibc-riscv64-unknown-elf >/dev/null 2>&1 || need_apt+=(picolibc-riscv64-unknown-elf)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v perl >/dev/null 2>&1 || need_apt+=(perl)
"$PYTHON" -c "import venv, ensurepip" >/dev/null 2>&1 || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "[setup] installing Debian packages: ${need_apt[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "[setup] missing system packages: ${need_apt[*]}" >&2
        echo "[setup] install them with:  sudo apt-get install -y ${need_apt[*]}" >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv"
    "$PYTHON" -m venv .venv
fi
echo "[setup] installing pinned Python packages (pyproject.toml)"
.venv/bin/python -m pip install -q -e ".[test,plot]"
echo "[setup] done"
