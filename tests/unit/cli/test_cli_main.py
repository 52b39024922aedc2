"""The command frame: dispatch, help, docker's exit codes, and ``version`` against a fake daemon."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator

import pytest
from tests.unit.cli.fake_engine import FakeEngine, Result

from dockyard.cli import command, commandtable
from dockyard.cli import flags as fl
from dockyard.cli import help as helptext

Run = Callable[..., Result]


def test_unknown_command(dockyard: Run) -> None:
    result = dockyard("foo")
    assert (result.status, result.out) == (1, "")
    assert result.err == "dockyard: unknown command: dockyard foo\n\nRun 'dockyard --help' for more information\n"


def test_unknown_global_flag_is_a_usage_error(dockyard: Run) -> None:
    result = dockyard("--nope", "version")
    assert result.status == 125
    assert result.err == ("unknown flag: --nope\n\nUsage:  dockyard [OPTIONS] COMMAND [ARG...]\n\n"
                          "Run 'dockyard --help' for more information\n")
    assert dockyard("-H").err.startswith("flag needs an argument: 'H' in -H\n")


def test_version_flag(dockyard: Run) -> None:
    result = dockyard("--version", "anything")
    assert (result.status, result.err) == (0, "")
    assert result.out.startswith("dockyard version 0.1.0, build ")


def test_help(dockyard: Run) -> None:
    bare = dockyard()
    assert (bare.status, bare.out) == (0, "")  # like docker: the usage goes to stderr
    assert bare.err.startswith("Usage:  dockyard [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n")
    assert "\nCommon Commands:\n" in bare.err
    assert "\n  version     Show the Docker version information\n" in bare.err
    assert "\nGlobal Options:\n      --config string      Location of client config files" in bare.err
    assert bare.err.endswith("\nRun 'dockyard COMMAND --help' for more information on a command.\n")
    full = dockyard("--help")
    assert (full.status, full.out, full.err) == (0, bare.err, "")
    assert dockyard("help").out == bare.err


def test_command_help(dockyard: Run) -> None:
    expected = dockyard("version", "--help")
    assert expected.status == 0 and expected.err == ""
    assert expected.out.startswith("Usage:  dockyard version [OPTIONS]\n\nShow the Docker version information\n\n"
                                   "Options:\n  -f, --format string   Format output using a custom template:\n")
    assert dockyard("help", "version").out == expected.out
    assert dockyard("version", "-h").out == expected.out


def test_bad_log_level_and_hosts(dockyard: Run) -> None:
    assert dockyard("-l", "nope", "version").err == "Unable to parse logging level: nope\n"
    assert dockyard("-H", "unix:///a", "-H", "unix:///b", "version").err == "Please specify only one -H\n"


def test_management_commands(dockyard: Run) -> None:
    group = dockyard("container")
    assert group.status == 0 and group.out == ""
    assert group.err.startswith("Usage:  dockyard container COMMAND\n\nManage containers\n")
    assert group.err.endswith("\nRun 'dockyard container COMMAND --help' for more information on a command.\n")
    unknown = dockyard("container", "foo")
    assert unknown.status == 1
    assert unknown.err == ("dockyard: unknown command: dockyard container foo\n\nUsage:  dockyard container COMMAND\n\n"
                           "Run 'dockyard container --help' for more information\n")


def test_every_alias_reaches_its_module() -> None:
    assert commandtable.PATHS["container ls"] == commandtable.PATHS["ps"] == "ps"
    assert commandtable.PATHS["image ls"] == commandtable.PATHS["images"] == "images"
    assert commandtable.PATHS["container rm"] == commandtable.PATHS["container remove"] == "rm"
    assert commandtable.PATHS["image rm"] == commandtable.PATHS["rmi"] == "rmi"
    assert commandtable.PATHS["system info"] == commandtable.PATHS["info"] == "info"
    assert helptext.aliases("ps") == ["dockyard container ls", "dockyard container list", "dockyard container ps",
                                      "dockyard ps"]
    assert ("ls", "ps") in commandtable.group_commands("container")
    for module in commandtable.COMMANDS:
        assert module.isidentifier(), module


@pytest.fixture
def fake_command(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """A command module ``greet`` (``dockyard greet``, ``dockyard container greet``) that records its calls."""
    calls: list[object] = []
    module = types.ModuleType("dockyard.cli.commands.greet")
    module.USAGE = "[OPTIONS] NAME"  # type: ignore[attr-defined]
    module.FLAGS = [fl.Flag("shout", "s", help="Shout"), fl.Flag("times", "t", fl.INT, 1,  # type: ignore[attr-defined]
                                                                help="How many times")]
    module.ARGS = command.exact_args(1)  # type: ignore[attr-defined]

    def run(cli: command.Cli, opts: fl.Options, args: list[str]) -> int:
        calls.append((opts.shout, opts.times, args, cli.invocation.path))
        if args[0] == "fail":
            raise command.StatusError(3, "greeting failed")
        text = f"hello {args[0]}"
        cli.out.write((text.upper() if opts.shout else text) * opts.times + "\n")
        return 0

    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dockyard.cli.commands.greet", module)
    monkeypatch.setitem(commandtable.COMMANDS, "greet", ("Greet someone", ("container greet", "greet")))
    monkeypatch.setitem(commandtable.PATHS, "greet", "greet")
    monkeypatch.setitem(commandtable.PATHS, "container greet", "greet")
    real = helptext.available
    monkeypatch.setattr(helptext, "available", lambda name: name == "greet" or real(name))
    yield calls


def test_a_command_runs_with_its_flags(dockyard: Run, fake_command: list[object]) -> None:
    assert dockyard("greet", "-s", "--times=2", "bob").out == "HELLO BOBHELLO BOB\n"
    assert dockyard("container", "greet", "bob").out == "hello bob\n"
    assert fake_command[-1] == (False, 1, ["bob"], "dockyard container greet")


def test_a_commands_flag_errors_exit_125_with_its_usage(dockyard: Run, fake_command: list[object]) -> None:
    result = dockyard("container", "greet", "--nope")
    assert result.status == 125
    assert result.err == ("unknown flag: --nope\n\nUsage:  dockyard container greet [OPTIONS] NAME\n\n"
                          "Run 'dockyard container greet --help' for more information\n")


def test_argument_checks_exit_1(dockyard: Run, fake_command: list[object]) -> None:
    result = dockyard("greet")
    assert result.status == 1
    assert result.err == ("dockyard: 'dockyard greet' requires 1 argument\n\nUsage:  dockyard greet [OPTIONS] NAME\n\n"
                          "Run 'dockyard greet --help' for more information\n")
    assert not fake_command


def test_status_errors_choose_the_exit_code(dockyard: Run, fake_command: list[object]) -> None:
    assert dockyard("greet", "fail") == Result(3, "", "greeting failed\n")


def test_command_help_lists_aliases(dockyard: Run, fake_command: list[object]) -> None:
    assert dockyard("greet", "--help").out == (
        "Usage:  dockyard greet [OPTIONS] NAME\n\nGreet someone\n\nAliases:\n"
        "  dockyard container greet, dockyard greet\n\nOptions:\n"
        "  -s, --shout       Shout\n  -t, --times int   How many times (default 1)\n")


def test_unimplemented_commands_say_so(dockyard: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helptext, "available", lambda name: False)
    assert dockyard("container", "ls") == Result(1, "", "dockyard: 'dockyard container ls' is not implemented yet\n")


def test_argument_check_messages() -> None:
    inv = command.Invocation("dockyard rm", "dockyard rm [OPTIONS] CONTAINER [CONTAINER...]")
    with pytest.raises(command.StatusError, match="^dockyard: 'dockyard rm' requires at least 1 argument\n\n"
                                                  r"Usage:  dockyard rm \[OPTIONS\] CONTAINER \[CONTAINER...\]\n\n"
                                                  "See 'dockyard rm --help' for more information$"):
        command.min_args(1)(inv, [])
    with pytest.raises(command.StatusError, match="requires at least 1 and at most 2 arguments"):
        command.range_args(1, 2)(inv, ["a", "b", "c"])
    with pytest.raises(command.StatusError, match="requires at most 1 argument\n"):
        command.max_args(1)(inv, ["a", "b"])
    command.exact_args(2)(inv, ["a", "b"])


# --- version ------------------------------------------------------------------------------

SERVER = """
Server: dockyard
 Engine:
  Version:          0.1.0
  API version:      1.50 (minimum version 1.24)
  Go version:       python3.11.2
  Git commit:       abc1234
  Built:            Fri May 30 12:07:26 2025
  OS/Arch:          linux/amd64
  Experimental:     false
 containerd:
  Version:          1.6.0
  GitCommit:        deadbeef
 runc:
  Version:          0.1.0
  GitCommit:        v0.1.0-0-gabc
  Spec:             1.0.2-dev
"""


def test_version(dockyard: Run, engine: FakeEngine) -> None:
    result = dockyard("-H", engine.host, "version")
    assert (result.status, result.err) == (0, "")
    lines = result.out.split("\n")
    assert lines[:3] == ["Client:", " Version:           0.1.0", " API version:       1.50"]
    assert lines[3].startswith(" Python version:    python3.")
    assert lines[7] == " Context:           default"
    assert "\n".join(lines[8:]) == SERVER


def test_version_says_when_the_api_was_downgraded(dockyard: Run, engine: FakeEngine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    engine.api_version = "1.44"
    monkeypatch.setenv("DOCKER_HOST", engine.host)
    assert " API version:       1.44 (downgraded from 1.50)\n" in dockyard("version").out


def test_version_formats(dockyard: Run, engine: FakeEngine) -> None:
    assert dockyard("-H", engine.host, "version", "-f", "{{.Server.Version}} {{.Client.APIVersion}}").out == (
        "0.1.0 1.50\n")
    json_out = dockyard("-H", engine.host, "version", "--format", "json").out
    assert json_out.startswith('{"Client":{"Version":"0.1.0","ApiVersion":"1.50","DefaultAPIVersion":"1.50",')
    assert '"Server":{"Platform":{"Name":"dockyard"},"Components":[{"Name":"Engine"' in json_out


def test_version_template_errors(dockyard: Run, engine: FakeEngine) -> None:
    assert dockyard("-H", engine.host, "version", "-f", "{{.Client.Version") == Result(
        64, "", "template parsing error: template: version:1: unclosed action\n")
    assert dockyard("-H", engine.host, "version", "-f", "x{{.Server.Nope}}") == Result(
        1, "x\n", 'template: version:1:10: executing "version" at <.Server.Nope>: '
                  "can't evaluate field Nope in type *types.Version\n")


def test_version_without_a_daemon_prints_the_client_then_fails(dockyard: Run, short_dir: str) -> None:
    result = dockyard("-H", f"unix://{short_dir}/none.sock", "version")
    assert result.status == 1
    assert result.out.startswith("Client:\n Version:           0.1.0\n API version:       1.50\n")
    assert "Server" not in result.out
    assert result.err == (f"Cannot connect to the dockyard daemon at unix://{short_dir}/none.sock. "
                          "Is the dockyard daemon running?\n")
    assert dockyard("-H", f"unix://{short_dir}/none.sock", "version", "-f", "{{.Server}}").out == "<nil>\n"


def test_version_accepts_no_arguments(dockyard: Run) -> None:
    assert dockyard("version", "extra") == Result(1, "", "dockyard: 'dockyard version' accepts no arguments\n\n"
                                                         "Usage:  dockyard version [OPTIONS]\n\n"
                                                         "Run 'dockyard version --help' for more information\n")
