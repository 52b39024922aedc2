#!/usr/bin/env bash
# Make a busybox root filesystem from Debian's busybox-static at $1 (created if missing).
set -euo pipefail
dest=${1:?usage: busybox-rootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "busybox-rootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dest"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,tmp,root,var,run}
chmod 1777 "$dest/tmp"
cp "$bb" "$dest/bin/busybox"
for applet in $("$bb" --list); do
  [ -e "$dest/bin/$applet" ] || ln -s busybox "$dest/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dest/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dest/etc/group"
