"""pflag's parsing and help layout, compared with docker's own output."""

from __future__ import annotations

import pytest

from dockyard.cli import flags as fl

PS_FLAGS = [
    fl.Flag("all", "a", help="Show all containers (default shows just running)"),
    fl.Flag("filter", "f", fl.LIST, type_name="filter", help="Filter output based on conditions provided"),
    fl.Flag("format", "", fl.STRING, help=fl.FORMAT_HELP_TABLE),
    fl.Flag("last", "n", fl.INT, -1, help="Show n last created containers (includes all states)"),
    fl.Flag("latest", "l", help="Show the latest created container (includes all states)"),
    fl.Flag("no-trunc", help="Don't truncate output"),
    fl.Flag("quiet", "q", help="Only display container IDs"),
    fl.Flag("size", "s", help="Display total file sizes"),
]

# `docker ps --help` (docker 28.2.2), from "Options:" on
PS_OPTIONS = """\
  -a, --all             Show all containers (default shows just running)
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a custom template:
                        'table':            Print output in table format
                        with column headers (default)
                        'table TEMPLATE':   Print output in table format
                        using the given Go template
                        'json':             Print in JSON format
                        'TEMPLATE':         Print output using the given
                        Go template.
                        Refer to https://docs.docker.com/go/formatting/
                        for more information about formatting output with
                        templates
  -n, --last int        Show n last created containers (includes all
                        states) (default -1)
  -l, --latest          Show the latest created container (includes all
                        states)
      --no-trunc        Don't truncate output
  -q, --quiet           Only display container IDs
  -s, --size            Display total file sizes
"""

# `docker --help` (docker 28.2.2), the global options
DOCKER_GLOBALS = [
    fl.Flag("config", "", fl.STRING, "/root/.docker", help="Location of client config files"),
    fl.Flag("context", "c", fl.STRING, help='Name of the context to use to connect to the daemon (overrides '
            'DOCKER_HOST env var and default context set with "docker context use")'),
    fl.Flag("debug", "D", help="Enable debug mode"),
    fl.Flag("host", "H", fl.LIST, help="Daemon socket to connect to"),
    fl.Flag("log-level", "l", fl.STRING, "info",
            help='Set the logging level ("debug", "info", "warn", "error", "fatal")'),
    fl.Flag("tls", help="Use TLS; implied by --tlsverify"),
    fl.Flag("tlscacert", "", fl.STRING, "/root/.docker/ca.pem", help="Trust certs signed only by this CA"),
    fl.Flag("tlscert", "", fl.STRING, "/root/.docker/cert.pem", help="Path to TLS certificate file"),
    fl.Flag("tlskey", "", fl.STRING, "/root/.docker/key.pem", help="Path to TLS key file"),
    fl.Flag("tlsverify", help="Use TLS and verify the remote"),
    fl.Flag("version", "v", help="Print version information and quit"),
    fl.Flag("help", "h", hidden=True),
]
DOCKER_GLOBAL_OPTIONS = """\
      --config string      Location of client config files (default
                           "/root/.docker")
  -c, --context string     Name of the context to use to connect to the
                           daemon (overrides DOCKER_HOST env var and
                           default context set with "docker context use")
  -D, --debug              Enable debug mode
  -H, --host list          Daemon socket to connect to
  -l, --log-level string   Set the logging level ("debug", "info",
                           "warn", "error", "fatal") (default "info")
      --tls                Use TLS; implied by --tlsverify
      --tlscacert string   Trust certs signed only by this CA (default
                           "/root/.docker/ca.pem")
      --tlscert string     Path to TLS certificate file (default
                           "/root/.docker/cert.pem")
      --tlskey string      Path to TLS key file (default
                           "/root/.docker/key.pem")
      --tlsverify          Use TLS and verify the remote
  -v, --version            Print version information and quit
"""


def test_help_layout_is_dockers() -> None:
    assert fl.usages(PS_FLAGS) == PS_OPTIONS
    assert fl.usages(DOCKER_GLOBALS) == DOCKER_GLOBAL_OPTIONS


@pytest.mark.parametrize(("argv", "values", "args"), [
    (["-aq=1"], {"all": True, "quiet": True}, []),
    (["-n", "5", "x"], {"last": 5}, ["x"]),
    (["-n5"], {"last": 5}, []),
    (["-n=0x10"], {"last": 16}, []),
    (["--last=-2", "--no-trunc=false", "-s"], {"last": -2, "no_trunc": False, "size": True}, []),
    (["-f", "status=exited", "--filter=label=a", "x", "--filter", "name=y"],
     {"filter": ["status=exited", "label=a", "name=y"]}, ["x"]),
    (["--", "-a"], {"all": False}, ["-a"]),
    (["-"], {}, ["-"]),
])
def test_parsing(argv: list[str], values: dict[str, object], args: list[str]) -> None:
    opts, rest = fl.parse(PS_FLAGS, argv)
    for name, value in values.items():
        assert getattr(opts, name) == value
    assert rest == args
    assert "all" not in opts.changed or "a" in "".join(argv)


def test_not_interspersed_stops_at_the_first_argument() -> None:
    opts, rest = fl.parse(PS_FLAGS, ["-a", "alpine", "ls", "-q"], interspersed=False)
    assert opts.all and not opts.quiet and rest == ["alpine", "ls", "-q"]


@pytest.mark.parametrize(("argv", "message"), [
    (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["-ax"], "unknown shorthand flag: 'x' in -ax"),
    (["--nope"], "unknown flag: --nope"),
    (["--format"], "flag needs an argument: --format"),
    (["-n"], "flag needs an argument: 'n' in -n"),
    (["-n", "abc"], 'invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--no-trunc=maybe"],
     'invalid argument "maybe" for "--no-trunc" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
])
def test_errors_have_pflags_text(argv: list[str], message: str) -> None:
    with pytest.raises(fl.FlagError) as info:
        fl.parse(PS_FLAGS, argv)
    assert str(info.value) == message


def test_value_types() -> None:
    assert fl.parse_duration("1h30m") == 5400 and fl.parse_duration("-1.5ms") == -0.0015
    assert fl.parse_duration("0") == 0
    for bad, message in (("5", 'time: missing unit in duration "5"'), ("x", 'time: invalid duration "x"')):
        with pytest.raises(ValueError, match=message):
            fl.parse_duration(bad)
    assert fl.parse_bytes("512m") == 512 << 20 and fl.parse_bytes("1.5GiB") == 3 << 29
    assert fl.parse_bytes("100kb") == 102400 and fl.parse_bytes("12") == 12
    with pytest.raises(ValueError, match="invalid size: 'x'"):
        fl.parse_bytes("x")
    assert fl.parse_int("010") == 8 and fl.parse_int("-0b11") == -3
    opts, _ = fl.parse([fl.Flag("time", "t", fl.DURATION), fl.Flag("memory", "m", fl.BYTES),
                        fl.Flag("cpus", "", fl.FLOAT)], ["-t", "10s", "-m", "1g", "--cpus", "1.5"])
    assert (opts.time, opts.memory, opts.cpus) == (10.0, 1 << 30, 1.5)
