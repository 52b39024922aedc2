"""``python -m dockyard.shim``: the same as the ``dockyard-shim`` console script."""

from dockyard.shim.main import entry

entry()
