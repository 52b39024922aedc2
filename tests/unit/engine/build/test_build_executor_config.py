"""The executor's pure parts: metadata steps' run configs and created_by, RUN's
environment, and the ``POST /build`` query."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from dockyard.engine.build import instructions as ins
from dockyard.engine.build.buildrequest import parse_query
from dockyard.engine.build.parser import parse
from dockyard.engine.build.runconfig import StageState, metadata_step, set_env
from dockyard.engine.build.shellwords import Lexer
from dockyard.engine.build.stages import BuildArgs
from dockyard.errors import InvalidArgument, NotImplementedYet


def command(text: str) -> ins.AnyCommand:
    return ins.to_command(parse(text).instructions[0])


def state(config: dict[str, object] | None = None, given: dict[str, str | None] | None = None) -> StageState:
    return StageState("sha256:p", {"config": config or {"Env": ["PATH=/bin"], "Cmd": ["sh"]}},
                      BuildArgs(given).for_stage())


def step(st: StageState, text: str) -> tuple[dict[str, object], str]:
    expanded = ins.expand(command(text), Lexer(), st.substitution_env())
    config, created_by = metadata_step(expanded, st)
    st.doc = {"config": config}
    return config, created_by


def test_metadata_steps_change_the_config_as_dockerd() -> None:
    st = state()
    config, created = step(st, "ENV A=b C=\"d e\"")
    assert config["Env"] == ["PATH=/bin", "A=b", "C=d e"] and created == "/bin/sh -c #(nop)  ENV A=b C=d e"
    config, _ = step(st, "ENV PATH=/x:$PATH")
    assert config["Env"] == ["PATH=/x:/bin", "A=b", "C=d e"]
    config, created = step(st, "WORKDIR /app")
    config, created = step(st, "WORKDIR sub/$A")
    assert config["WorkingDir"] == "/app/sub/b" and created == "/bin/sh -c #(nop) WORKDIR /app/sub/b"
    config, created = step(st, "LABEL x=y")
    assert config["Labels"] == {"x": "y"}
    config, created = step(st, "EXPOSE 80 53/udp")
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    config, created = step(st, "ENTRYPOINT echo x")
    assert config["Entrypoint"] == ["/bin/sh", "-c", "echo x"] and config["Cmd"] is None
    config, created = step(st, "CMD [\"a\"]")
    assert config["Cmd"] == ["a"] and created == '/bin/sh -c #(nop)  CMD ["a"]'
    config, _ = step(st, "ENTRYPOINT [\"e\"]")
    assert config["Cmd"] == ["a"]  # a CMD earlier in the stage survives
    config, created = step(st, "SHELL [\"/bin/bash\", \"-c\"]")
    assert config["Shell"] == ["/bin/bash", "-c"] and created.startswith("/bin/bash -c #(nop)  SHELL")
    config, created = step(st, "USER nobody")
    assert config["User"] == "nobody" and created == "/bin/bash -c #(nop)  USER nobody"
    config, _ = step(st, "VOLUME /data")
    assert config["Volumes"] == {"/data": {}}
    config, _ = step(st, "STOPSIGNAL SIGKILL")
    assert config["StopSignal"] == "SIGKILL"
    config, _ = step(st, "HEALTHCHECK --interval=5s CMD true")
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}
    config, _ = step(st, "ONBUILD RUN echo hi")
    assert config["OnBuild"] == ["RUN echo hi"]
    step(st, "MAINTAINER me")
    assert st.author == "me"


def test_bad_stopsignal() -> None:
    with pytest.raises(InvalidArgument):
        step(state(), "STOPSIGNAL NOPE")


def test_run_env_has_allowed_args_but_env_wins() -> None:
    st = state({"Env": ["PATH=/bin", "B=env"]}, {"A": "given", "B": "given", "HTTP_PROXY": "p"})
    step(st, "ARG A")
    step(st, "ARG B")
    assert st.run_env() == ["PATH=/bin", "B=env", "A=given", "HTTP_PROXY=p"]
    scratch = StageState("", {}, BuildArgs().for_stage())
    assert scratch.run_env()[0].startswith("PATH=/usr/local/sbin")


def test_set_env_replaces_in_place() -> None:
    assert set_env(["A=1", "B=2"], "A", "3") == ["A=3", "B=2"]
    assert set_env(None, "A", "1") == ["A=1"]


def test_query() -> None:
    query = parse_query(MultiDict([("t", "app"), ("t", "reg:5000/x/y:2"), ("t", "app"),
                                   ("buildargs", '{"A":"1","B":null}'), ("labels", '{"l":"v"}'), ("rm", "0"),
                                   ("nocache", "1"), ("q", "true"),
                                   ("version", "1"), ("dockerfile", "sub/Dockerfile")]))
    assert query.tags == ["docker.io/library/app:latest", "reg:5000/x/y:2"]
    assert query.build_args == {"A": "1", "B": None} and query.labels == {"l": "v"}
    assert not query.rm and query.nocache and query.quiet and query.dockerfile == "sub/Dockerfile"
    assert parse_query(MultiDict()).rm
    with pytest.raises(NotImplementedYet):
        parse_query(MultiDict([("version", "2")]))
    with pytest.raises(InvalidArgument):
        parse_query(MultiDict([("buildargs", "[1]")]))
    with pytest.raises(InvalidArgument):
        parse_query(MultiDict([("t", "Bad Name")]))
