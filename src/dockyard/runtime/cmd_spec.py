"""``dockyard-runc spec``: write runc's starter ``config.json`` into the bundle.

The bytes are those ``runc spec`` writes: tab-indented, no trailing newline, mode 0666 less
the umask. An existing config.json is never overwritten.
"""

from __future__ import annotations

import os

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.oci import jsonio
from dockyard.oci.default_spec import default_spec
from dockyard.oci.runtime_spec import CONFIG_FILE
from dockyard.runtime import flags as fl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "create a new specification file"
USAGE = "[command options] [arguments...]"
FLAGS = [
    fl.Flag("bundle, b", fl.STR, help="path to the root of the bundle directory"),
    fl.Flag("rootless", help="generate a configuration for a rootless container"),
]


def run(ctx: Context, opts: fl.Parsed) -> int:
    """Write the default spec; raise AlreadyExists if config.json is there already."""
    if opts.args:
        raise InvalidArgument('dockyard-runc: "spec" requires exactly 0 argument(s)')
    bundle = opts.str("bundle")
    path = os.path.join(bundle, CONFIG_FILE) if bundle else CONFIG_FILE
    if bundle and not os.path.isdir(bundle):
        what = "no such file or directory" if not os.path.exists(bundle) else "not a directory"
        raise NotFound(f"chdir {bundle}: {what}")
    data = jsonio.dumps(default_spec(rootless=opts.bool("rootless")), indent="\t")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        raise AlreadyExists(f"File {CONFIG_FILE} exists. Remove it first") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)
    return 0
