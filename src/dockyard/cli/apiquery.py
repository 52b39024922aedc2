"""URL pieces of Engine API requests, as docker's Go client builds them.

``path_escape`` quotes a name for a path segment the way Go's ``url.URL`` does (``/``, ``:``
and ``@`` stay, so ``/images/localhost:5000/app:v1/json`` reaches the daemon as docker
sends it); ``with_query`` appends a query with repeated keys (``names=a&names=b``), which
the client's dict queries cannot express.
"""

from __future__ import annotations

from dockyard.cli.client import quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

PATH_SAFE = "/:@$&+,;="  # what Go's url.URL leaves unescaped in a path


def path_escape(name: str) -> str:
    return quote(name, PATH_SAFE)


def with_query(path: str, pairs: Iterable[tuple[str, str | None]]) -> str:
    """``path?k=v&k=w`` with the pairs whose value is not None (Go's url.Values order: by key)."""
    encoded = [f"{quote(k)}={quote(v)}" for k, v in sorted(pairs, key=lambda kv: kv[0]) if v is not None]
    return f"{path}?{'&'.join(encoded)}" if encoded else path
