"""``dockyard-runc features``: what this runtime supports, as JSON shaped like ``runc features``.

The layout follows the runtime-spec "features" document as runc 1.1 prints it (indented with
four spaces). Seccomp details come from libseccomp when it can be loaded.
"""

from __future__ import annotations

import sys

from dockyard.errors import InvalidArgument
from dockyard.oci import jsonio
from dockyard.runtime import capabilities, linux

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.context import Context
    from dockyard.runtime.flags import Flag, Parsed

FLAGS: list[Flag] = []
USAGE = "[arguments...]"
SUMMARY = "show the enabled features"

OCI_VERSION_MIN = "1.0.0"
HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
# runc 1.1.5's list, sorted
MOUNT_OPTIONS = [
    "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
    "lazytime", "loud", "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
    "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
    "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev",
    "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro",
    "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
    "rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
    "symfollow", "sync", "tmpcopyup", "unbindable",
]
ANNOTATION_PREFIX = "io.github.dockyard.runc."


def _seccomp() -> dict[str, Any]:
    from dockyard.runtime import seccomp

    if not seccomp.available():
        return {"enabled": False}
    return {
        "enabled": True,
        "actions": sorted(seccomp.ACTIONS),
        "operators": sorted(seccomp.OPERATORS),
        "archs": seccomp.supported_arches(),
    }


def features() -> dict[str, Any]:
    """The features document as a dict (keys in runc's order)."""
    from dockyard.runtime.cli import SPEC_VERSION, VERSION

    seccomp = _seccomp()
    annotations = {
        ANNOTATION_PREFIX + "checkpoint.enabled": "false",
    }
    if seccomp["enabled"]:
        from dockyard.runtime.seccomp import library_version

        annotations[ANNOTATION_PREFIX + "libseccomp.version"] = library_version()
    annotations[ANNOTATION_PREFIX + "version"] = VERSION
    return {
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": SPEC_VERSION,
        "hooks": HOOKS,
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": sorted(linux.NAMESPACE_FLAGS),
            "capabilities": list(capabilities.CAPABILITIES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": seccomp,
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": dict(sorted(annotations.items())),
    }


def run(ctx: Context, opts: Parsed) -> int:
    if opts.args:
        raise InvalidArgument('dockyard-runc: "features" requires exactly 0 argument(s)')
    sys.stdout.write(jsonio.dumps(features(), indent="    ") + "\n")
    return 0
