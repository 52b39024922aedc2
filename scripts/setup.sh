#!/usr/bin/env bash
# Install what dockyard needs on Debian 12 (as root) and build the venv in .venv.
# Safe to run again: apt-get and pip skip what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(python3 python3-venv busybox-static libseccomp2 runc crun containerd procps iproute2 util-linux time
  skopeo umoci docker-registry apache2-utils attr tini nftables git)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's own python3.11 first: it is linked statically and starts ~2 ms faster than a
# shared-library build (every runtime command is a fresh interpreter); never a pyenv shim.
PY=""
for cand in /usr/bin/python3.11 /usr/bin/python3 /root/.pyenv/versions/3.11*/bin/python3.11; do
  if [ -x "$cand" ] && "$cand" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY="$cand"; break
  fi
done
[ -n "$PY" ] || { echo "setup: no Python >= 3.11 with venv found" >&2; exit 1; }

# (Re)build the venv when it is missing or made from another interpreter.
if [ -x .venv/bin/python ] && ! grep -qx "home = $(dirname "$PY")" .venv/pyvenv.cfg 2>/dev/null; then
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c 'import dockyard, pytest, ruff, mypy' 2>/dev/null || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  touch .venv/.installed
fi

# Byte-compile dockyard: every runtime command starts a fresh interpreter, and with
# PYTHONDONTWRITEBYTECODE set nothing would ever be cached (each import would recompile).
.venv/bin/python -m compileall -q src/dockyard >/dev/null

# Lean launchers for the per-container commands and the CLI: pip's console scripts import `re` and run
# `site` (~10 ms of every start); these start the venv's interpreter with -IS and put
# dockyard's own directory on sys.path (the runtime needs only the standard library).
pkgdir=$(.venv/bin/python -c 'import dockyard, os; print(os.path.dirname(os.path.dirname(os.path.abspath(dockyard.__file__))))')
for entry in "dockyard-runc:dockyard.runtime.cli" "dockyard-shim:dockyard.shim.main" "dockyard:dockyard.cli.main"; do  # module:entry() that exits
  name=${entry%%:*}; module=${entry#*:}
  tmp=.venv/bin/.$name.tmp
  cat >"$tmp" <<PY
#!$PWD/.venv/bin/python -IS
import sys
sys.path.insert(0, "$pkgdir")
from $module import entry
entry()
PY
  chmod 755 "$tmp" && mv "$tmp" ".venv/bin/$name"
done
