"""JSON without the json module: same values as json, clear errors."""

from __future__ import annotations

import json

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import jsonio

DOC = {"a": [1, 2.5, {"b": None, "c": True, "d": False}], "e": "é\"\n\\", "f": [], "g": {}}


def test_round_trip_matches_json() -> None:
    text = jsonio.dumps(DOC)
    assert json.loads(text) == DOC
    assert jsonio.loads(json.dumps(DOC)) == DOC
    assert jsonio.loads(b"  [1]\n") == [1]


def test_indented_output_matches_go_marshal_indent() -> None:
    assert jsonio.dumps({"a": [1], "b": {}}, indent="  ") == '{\n  "a": [\n    1\n  ],\n  "b": {}\n}'


@pytest.mark.parametrize("text", ['{"a":}', '{"a": 1} x', "", "[1,", b"\xff"])
def test_errors_name_the_input(text: str | bytes) -> None:
    with pytest.raises(InvalidArgument, match=r"^config\.json: "):
        jsonio.loads(text, "config.json")


def test_write_file_atomic(tmp_path: object) -> None:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "s.json"
    jsonio.write_file_atomic(str(path), {"x": 1})
    assert json.loads(path.read_text()) == {"x": 1}
    assert [p.name for p in path.parent.iterdir()] == ["s.json"]


def test_syntax_errors_without_json_module_loaded() -> None:
    """_json needs json.decoder loaded to raise its error; without it loads() must still
    raise InvalidArgument (not SystemError). A fresh interpreter, as dockyard-runc runs."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from dockyard.oci import jsonio\n"
        "from dockyard.errors import InvalidArgument\n"
        "assert 'json.decoder' not in sys.modules\n"
        "for text in ['{\"a\": {', '\"abc', '{\"a\" 1}', '{']:\n"
        "    try:\n"
        "        jsonio.loads(text, 'config.json')\n"
        "    except InvalidArgument as exc:\n"
        "        assert str(exc).startswith('config.json: invalid JSON'), exc\n"
        "    else:\n"
        "        raise AssertionError(text)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
