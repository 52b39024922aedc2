#!/usr/bin/env bash
# Set up dockyard, start the engine (dockyardd, which starts dockyard-containerd) in a
# temporary directory, import a busybox image made from Debian's busybox-static, and run
# `echo hello` in a container through the whole stack:
#   dockyard CLI -> dockyardd -> dockyard-containerd -> dockyard-shim -> dockyard-runc.
# Everything it starts is stopped, and its directory removed, when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
repo=$PWD
work=$(mktemp -d /tmp/dockyard-quickstart.XXXXXX)
export DOCKER_HOST="unix://$work/dockyard.sock"
engine_pid=""
finish() {
  if [ -n "$engine_pid" ]; then
    kill -TERM "$engine_pid" 2>/dev/null || true
    wait "$engine_pid" 2>/dev/null || true
  fi
  if grep -q " $work/" /proc/self/mounts; then
    echo "quickstart: mounts left under $work (kept for a look)" >&2
  else
    rm -rf "$work"
  fi
}
trap finish EXIT

# --bridge none: no default bridge on this host (the container runs with loopback only)
"$repo/.venv/bin/dockyardd" --host "$DOCKER_HOST" --data-root "$work/data" --exec-root "$work/exec" --bridge none \
  >"$work/dockyardd.log" 2>&1 &
engine_pid=$!
for _ in $(seq 1 200); do
  "$repo/.venv/bin/dockyard" version >/dev/null 2>&1 && break
  kill -0 "$engine_pid" 2>/dev/null || { cat "$work/dockyardd.log" >&2; exit 1; }
  sleep 0.1
done

scripts/busybox-rootfs.sh "$work/rootfs"
tar -C "$work/rootfs" -c . | "$repo/.venv/bin/dockyard" import --change 'CMD ["sh"]' - quickstart/busybox:latest
"$repo/.venv/bin/dockyard" run --rm quickstart/busybox echo hello
"$repo/.venv/bin/dockyard" images
