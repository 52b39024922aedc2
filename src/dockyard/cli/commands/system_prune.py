"""``dockyard system prune``: stopped containers, unused networks, dangling (``-a``: unused)
images, build cache and, with ``--volumes``, anonymous volumes.

Lists what will go and asks "Are you sure you want to continue? [y/N]" unless ``-f``; then
runs each prune in docker's order, printing each report and the total space reclaimed.
"""

from __future__ import annotations

from dockyard.cli import command, prune, term
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import Flag
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    Flag("all", "a", help="Remove all unused images not just dangling ones"),
    filter_flag('Provide filter values (e.g. "label=<key>=<value>")', short=""),
    Flag("force", "f", help="Do not prompt for confirmation"),
    Flag("volumes", help="Prune anonymous volumes"),
]
ARGS = command.no_args


def _natural_key(text: str) -> list[tuple[int, int | str]]:
    """sortorder.NaturalLess: runs of digits compare as numbers."""
    parts: list[tuple[int, int | str]] = []
    i = 0
    while i < len(text):
        j = i
        digits = text[i].isdigit()
        while j < len(text) and text[j].isdigit() == digits:
            j += 1
        chunk = text[i:j]
        parts.append((0, int(chunk)) if digits else (1, chunk))
        i = j
    return parts


def confirmation(cli: command.Cli, opts: Options, filters: Filters) -> str:
    warnings = ["all stopped containers", "all networks not used by at least one container"]
    if opts.volumes:
        warnings.append("all anonymous volumes not used by at least one container")
    warnings.append("all images without at least one container associated to them" if opts.all
                    else "all dangling images")
    warnings.append("all build cache" if opts.all else "unused build cache")
    merged = prune.prune_filters(cli, filters)
    shown = sorted((f"{name}={value}" for name in ("label", "label!", "until") for value in merged.get(name)),
                   key=_natural_key)
    text = "WARNING! This will remove:" + "".join(f"\n  - {w}" for w in warnings) + "\n"
    if shown:
        text += "\n  Items to be pruned will be filtered with:" + "".join(f"\n  - {f}" for f in shown) + "\n"
    return text + "\nAre you sure you want to continue?"


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    filters = Filters(opts.filter)
    if opts.volumes and filters.contains("until"):
        raise InvalidArgument('ERROR: The "until" filter is not supported with "--volumes"')
    if not opts.force and not term.confirm(cli.inp, cli.out, confirmation(cli, opts, filters)):
        return 0
    pruners: list[prune.Pruner] = [prune.containers, prune.networks]
    if opts.volumes:
        pruners.append(prune.volumes)
    pruners += [prune.images, prune.build_cache]
    prune.run(cli, pruners, opts.all, filters)
    return 0
