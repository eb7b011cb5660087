#!/usr/bin/env bash
# One-time setup, run by `make` when the virtual environment is missing or
# pyproject.toml changed.  Installs Debian packages when missing (as root via
# apt-get; otherwise it says exactly what to install), then creates .venv
# and installs the pinned Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
need_apt=()
# True when the Debian package is installed (not merely known or removed).
deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || need_apt+=(gcc-riscv64-unknown-elf)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
# picolibc gives firmware printf/stdio through the console register (optional libc).
deb_installed picolibc-riscv64-unknown-elf || need_apt+=(picolibc-riscv64-unknown-elf)
# Verilator's FST waveform writer (WAVES=1) includes <lz4.h> and <zlib.h> and
# links -llz4 -lz.
deb_installed liblz4-dev || need_apt+=(liblz4-dev)
deb_installed zlib1g-dev || need_apt+=(zlib1g-dev)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v perl >/dev/null 2>&1 || need_apt+=(perl)
"$PYTHON" -c "import venv, ensurepip" >/dev/null 2>&1 || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "[setup] installing Debian packages: ${need_apt[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # apt's chatter (debconf notes included) goes to a log shown only on failure.
        apt_log=$(mktemp)
        if ! { apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"; } >"$apt_log" 2>&1; then
            cat "$apt_log" >&2
            rm -f "$apt_log"
            echo "[setup] apt-get failed installing: ${need_apt[*]}" >&2
            exit 1
        fi
        rm -f "$apt_log"
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
