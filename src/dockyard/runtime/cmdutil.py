"""Small helpers shared by the verb modules: argument counts and loading a container."""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.runtime.state import ContainerState, StateStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context
    from dockyard.runtime.flags import Parsed


def require_args(opts: Parsed, verb: str, exactly: int | None = None, minimum: int | None = None) -> None:
    """runc's wording: '"start" requires exactly 1 argument(s)'."""
    count = len(opts.args)
    if exactly is not None and count != exactly:
        raise InvalidArgument(f'dockyard-runc: "{verb}" requires exactly {exactly} argument(s)')
    if minimum is not None and count < minimum:
        raise InvalidArgument(f'dockyard-runc: "{verb}" requires a minimum of {minimum} argument(s)')


def load(ctx: Context, opts: Parsed, verb: str) -> ContainerState:
    """The container named by the first positional argument."""
    if not opts.args:
        raise InvalidArgument(f'dockyard-runc: "{verb}" requires a minimum of 1 argument(s)')
    return StateStore(ctx.root).load(opts.args[0])
