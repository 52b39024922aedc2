#!/usr/bin/env bash
# Set up dockyard and run `echo hello` in a busybox container with dockyard-runc.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bundle=$(mktemp -d /tmp/dockyard-quickstart.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
scripts/busybox-rootfs.sh "$bundle/rootfs"
cd "$bundle"
"$OLDPWD/.venv/bin/dockyard-runc" spec
"$OLDPWD/.venv/bin/python" - <<'PY'
import json
with open("config.json") as f:
    config = json.load(f)
config["process"]["terminal"] = False
config["process"]["args"] = ["echo", "hello"]
with open("config.json", "w") as f:
    json.dump(config, f, indent=2)
PY
"$OLDPWD/.venv/bin/dockyard-runc" --root "$bundle/state" run quickstart-$$
