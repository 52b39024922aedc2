"""The prune calls of ``image prune`` and ``system prune`` (and the other ``* prune`` commands).

Each pruner posts ``/<kind>/prune`` with the filters (plus the config file's
``pruneFilters``, merged as docker's ``PruneFilters`` does) and returns the space reclaimed
and docker's report (``Deleted Containers:`` and the IDs, ``untagged: ...``/``deleted: ...``
for images); ``run`` prints the reports followed by ``Total reclaimed space: 1.2MB``.
"""

from __future__ import annotations

from dockyard.cli.filteropt import Filters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from dockyard.cli.command import Cli

    Pruner = Callable[[Cli, bool, Filters], tuple[int, str]]


def prune_filters(cli: Cli, filters: Filters) -> Filters:
    """docker's PruneFilters: the command's filters and the config file's ``pruneFilters``."""
    from dockyard.cli.dockerconfig import load

    merged = filters.copy()
    for entry in load(cli).get("pruneFilters") or []:
        key, sep, value = str(entry).partition("=")
        if not sep:
            continue
        opposite = {"label": "label!", "label!": "label"}.get(key)
        if opposite is not None and (not merged.contains(opposite) or value in merged.get(opposite)):
            continue  # docker's ExactMatch, true when the opposite filter is absent too (docker's quirk)
        merged.add(key, value)
    return merged


def _listing(title: str, items: list[str] | None) -> str:
    return f"{title}\n" + "".join(f"{item}\n" for item in items) if items else ""


def containers(cli: Cli, all_: bool, filters: Filters) -> tuple[int, str]:
    report = cli.client.post("/containers/prune", {"filters": prune_filters(cli, filters).encode()}) or {}
    output = _listing("Deleted Containers:", report.get("ContainersDeleted"))
    return (int(report.get("SpaceReclaimed") or 0) if output else 0), output


def networks(cli: Cli, all_: bool, filters: Filters) -> tuple[int, str]:
    report = cli.client.post("/networks/prune", {"filters": prune_filters(cli, filters).encode()}) or {}
    return 0, _listing("Deleted Networks:", report.get("NetworksDeleted"))


def volumes(cli: Cli, all_: bool, filters: Filters) -> tuple[int, str]:
    report = cli.client.post("/volumes/prune", {"filters": prune_filters(cli, filters).encode()}) or {}
    output = _listing("Deleted Volumes:", report.get("VolumesDeleted"))
    return (int(report.get("SpaceReclaimed") or 0) if output else 0), output


def images(cli: Cli, all_: bool, filters: Filters) -> tuple[int, str]:
    wanted = filters.copy()
    wanted.add("dangling", "false" if all_ else "true")
    report = cli.client.post("/images/prune", {"filters": prune_filters(cli, wanted).encode()}) or {}
    deleted = report.get("ImagesDeleted") or []
    if not deleted:
        return 0, ""
    lines = [f"untagged: {item['Untagged']}" if item.get("Untagged") else f"deleted: {item.get('Deleted', '')}"
             for item in deleted]
    return int(report.get("SpaceReclaimed") or 0), "Deleted Images:\n" + "".join(f"{line}\n" for line in lines)


def build_cache(cli: Cli, all_: bool, filters: Filters) -> tuple[int, str]:
    query = {"all": True if all_ else None, "filters": prune_filters(cli, filters).encode()}
    report = cli.client.post("/build/prune", query) or {}
    return int(report.get("SpaceReclaimed") or 0), _listing("Deleted build cache objects:", report.get("CachesDeleted"))


def run(cli: Cli, pruners: list[Pruner], all_: bool, filters: Filters) -> None:
    """Run the pruners in order, printing each report, then the total space reclaimed."""
    space = 0
    for pruner in pruners:
        reclaimed, output = pruner(cli, all_, filters)
        space += reclaimed
        if output:
            cli.out.write(output + "\n")
    from dockyard.cli.tables import human_size

    cli.out.write(f"Total reclaimed space: {human_size(space)}\n")
