"""The ``--help`` texts, laid out as docker's cobra templates lay them out.

``root_help`` is ``dockyard --help`` (commands by category, then the global options),
``group_help`` a management command's (``dockyard container``), ``command_help`` one
command's (usage line, description, aliases, examples, options). Only commands whose module
exists are listed.
"""

from __future__ import annotations

import posix

from dockyard.cli import commandtable as table
from dockyard.cli.flags import Flag, usages

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

_COMMANDS_DIR = __file__.rpartition("/")[0] + "/commands"
DESCRIPTION = "A self-sufficient runtime for containers"


def available(module: str) -> bool:
    """Whether ``dockyard.cli.commands.<module>`` exists (is implemented)."""
    try:
        posix.stat(f"{_COMMANDS_DIR}/{module}.py")
    except OSError:
        return False
    return True


def usage_line(path: str, module: ModuleType) -> str:
    usage = getattr(module, "USAGE", "[OPTIONS]")
    return f"dockyard {path} {usage}".rstrip()


def aliases(module: str) -> list[str]:
    return [f"dockyard {path}" for path in table.COMMANDS[module][1]]


def _listing(entries: list[tuple[str, str]]) -> list[str]:
    width = max([11, *(len(name) for name, _ in entries)])
    return [f"  {name:<{width}} {summary}" for name, summary in entries]


def command_help(path: str, module_name: str, module: ModuleType) -> str:
    summary = table.COMMANDS[module_name][0]
    lines = [f"Usage:  {usage_line(path, module)}", "", getattr(module, "DESCRIPTION", "") or summary]
    names = aliases(module_name)
    if len(names) > 1:
        lines += ["", "Aliases:", "  " + ", ".join(names)]
    examples = getattr(module, "EXAMPLES", "")
    if examples:
        lines += ["", "Examples:", examples.rstrip("\n")]
    options = usages(getattr(module, "FLAGS", [])).rstrip()
    if options:
        lines += ["", "Options:", options]
    return "\n".join(lines) + "\n"


def group_help(group: str) -> str:
    entries = [(name, table.COMMANDS[module][0]) for name, module in table.group_commands(group) if available(module)]
    lines = [f"Usage:  dockyard {group} COMMAND", "", table.GROUPS[group]]
    if entries:
        lines += ["", "Commands:", *_listing(entries)]
    lines += ["", f"Run 'dockyard {group} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def root_help(global_flags: list[Flag]) -> str:
    top = dict(table.top_level_commands())
    common = [(name, table.COMMANDS[top[name]][0]) for name in table.COMMON if available(top[name])]
    groups = [(g, summary) for g, summary in sorted(table.GROUPS.items())
              if any(available(m) for _, m in table.group_commands(g))]
    others = [(name, table.COMMANDS[module][0]) for name, module in sorted(top.items())
              if name not in table.COMMON and available(module)]
    lines = ["Usage:  dockyard [OPTIONS] COMMAND", "", DESCRIPTION]
    for title, entries in (("Common Commands:", common), ("Management Commands:", groups), ("Commands:", others)):
        if entries:
            lines += ["", title, *_listing(entries)]
    lines += ["", "Global Options:", usages(global_flags).rstrip(), "",
              "Run 'dockyard COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"
