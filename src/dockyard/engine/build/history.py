"""``created_by`` strings as dockerd 20.10's classic builder writes them in image history.

Observed with ``docker history --no-trunc`` on dockerd 20.10 (see the unit tests):

- metadata instructions run the stage's current SHELL with a ``#(nop)`` comment, two blanks
  after it: ``/bin/sh -c #(nop)  ENV A=b C=d e``; after ``SHELL ["/bin/sh", "-x", "-c"]``
  it is ``/bin/sh -x -c #(nop)  ENV X=1``;
- COPY, ADD and WORKDIR have one blank: ``/bin/sh -c #(nop) COPY file:<hash> in /dst/ ``
  (trailing blank; ``file:``, ``dir:`` or ``multi:`` + hash; ``--chown=1file:<hash>`` with
  --chown; nothing for --from) and ``/bin/sh -c #(nop) WORKDIR /work/sub`` (the resolved
  path, :func:`~dockyard.engine.build.values.resolve_workdir`);
- ONBUILD triggers run in the child build are recorded like the instruction itself
  (``/bin/sh -c echo trig $abc``);
- RUN: the shell and the command (``/bin/sh -c echo hi``), or the exec-form words
  (``echo exec``); when the RUN has build args, ``|N K=v ...`` first (sorted; N counts
  them; ``|0`` when only undeclared proxy args were given);
- CMD/ENTRYPOINT: Go's ``%q`` of the resulting list (``CMD ["/bin/sh" "-c" "echo hi"]``);
  VOLUME and SHELL Go's ``%v`` (``VOLUME [/data /other]``); EXPOSE the ports as written,
  sorted as strings; HEALTHCHECK Go's ``%q`` of the config
  (``HEALTHCHECK &{["CMD-SHELL" "echo hi"] "5s" "3s" "0s" '\\x02'}``).
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.engine.build.buildflags import format_duration
from dockyard.engine.build.shellwords import go_char, go_quote

DEFAULT_SHELL = ("/bin/sh", "-c")
def go_quote_list(items: Sequence[str]) -> str:
    """Go's ``%q`` of a string slice: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(item) for item in items) + "]"


def go_quote_rune(value: int) -> str:
    """Go's ``%q`` of an integer (``strconv.QuoteRune``): ``'\\x02'``, ``'A'``."""
    if value < 0 or value > 0x10FFFF or 0xD800 <= value < 0xE000:
        return "'\ufffd'"
    return "'" + go_char(chr(value), "'") + "'"


def nop(text: str, shell: Sequence[str] = DEFAULT_SHELL) -> str:
    """A metadata instruction's entry: ``/bin/sh -c #(nop)  <text>`` (two blanks)."""
    return " ".join([*shell, "#(nop) ", text])


def nop_string(text: str, shell: Sequence[str] = DEFAULT_SHELL) -> str:
    """COPY/ADD/WORKDIR's entry: ``/bin/sh -c #(nop) <text>`` (one blank)."""
    return " ".join([*shell, "#(nop) " + text])


def env_text(keyword: str, pairs: Sequence[tuple[str, str]]) -> str:
    """``ENV A=b C=d e`` / ``LABEL x=y`` (values substituted, unquoted)."""
    return keyword + " " + " ".join(f"{name}={value}" for name, value in pairs)


def arg_text(args: Sequence[tuple[str, str | None]]) -> str:
    """``ARG FOO=bar NOVAL`` (the defaults as written, substituted; not the build args)."""
    return "ARG " + " ".join(name if value is None else f"{name}={value}" for name, value in args)


def expose_text(ports: Sequence[str]) -> str:
    return "EXPOSE " + " ".join(sorted(ports))


def go_list(items: Sequence[str]) -> str:
    """Go's ``%v`` of a string slice: ``[/data /other]``."""
    return "[" + " ".join(items) + "]"


def volume_text(paths: Sequence[str]) -> str:
    return "VOLUME " + go_list(paths)


def shell_text(shell: Sequence[str]) -> str:
    return "SHELL " + go_list(shell)


def command_text(keyword: str, command: Sequence[str]) -> str:
    """``CMD ["sh"]`` / ``ENTRYPOINT ["/bin/sh" "-c" "echo x"]`` (the list the image gets)."""
    return f"{keyword} {go_quote_list(command)}"


def healthcheck_text(test: Sequence[str], interval: int = 0, timeout: int = 0, start_period: int = 0,
                     retries: int = 0) -> str:
    """``HEALTHCHECK &{["CMD-SHELL" "echo hi"] "5s" "3s" "0s" '\\x02'}`` (durations in ns)."""
    durations = " ".join(go_quote(format_duration(value)) for value in (interval, timeout, start_period))
    return f"HEALTHCHECK &{{{go_quote_list(test)} {durations} {go_quote_rune(retries)}}}"


def copy_created_by(keyword: str, source_hash: str, dest: str, shell: Sequence[str] = DEFAULT_SHELL,
                    chown: str = "") -> str:
    """``/bin/sh -c #(nop) COPY file:<sha256> in /dst `` (``source_hash`` is ``file:…``,
    ``dir:…`` or ``multi:…``; the destination as written; note the trailing blank). With
    ``--chown`` dockerd writes ``COPY --chown=1file:<sha256> in /c `` (no blank)."""
    owner = f"--chown={chown}" if chown else ""
    return nop_string(f"{keyword} {owner}{source_hash} in {dest} ", shell)


def workdir_created_by(path: str, shell: Sequence[str] = DEFAULT_SHELL) -> str:
    return nop_string(f"WORKDIR {path}", shell)


def run_created_by(command: Sequence[str], prepend_shell: bool, build_args: Sequence[str] | None,
                   shell: Sequence[str] = DEFAULT_SHELL) -> str:
    """A RUN's entry: ``[|N K=v ...] [shell] command`` (``build_args`` from
    :meth:`~dockyard.engine.build.stages.StageArgs.history_args`)."""
    words = [*shell, *command] if prepend_shell else list(command)
    if build_args is not None:
        words = [f"|{len(build_args)}", *build_args, *words]
    return " ".join(words)


def shell_form(command: Sequence[str], prepend_shell: bool, shell: Sequence[str] = DEFAULT_SHELL) -> list[str]:
    """The list an image's Cmd/Entrypoint (or a RUN's process) gets: shell form runs in the
    current SHELL (``CMD`` alone gives ``["/bin/sh", "-c"]``)."""
    return [*shell, *command] if prepend_shell else list(command)
