"""Tables' formats (text and ``{{.Method}}`` only) take a fast path over row objects; it
writes what the general walk writes, and leaves anything else to it."""

from __future__ import annotations

import pytest

from dockyard.cli.gotemplate import Template, TemplateError


class Row:
    def ID(self) -> str:
        return "abc"

    def Size(self) -> int:
        return 42

    def Nothing(self) -> None:
        return None

    def Labels(self) -> dict[str, str]:
        return {"b": "2", "a": "1"}

    def Label(self, name: str) -> str:
        return name.upper()

    def Broken(self) -> str:
        raise ValueError("bad row")


@pytest.mark.parametrize("text", [
    "{{.ID}}\t{{.Size}}", "x {{.Nothing}} y", "{{.Labels}}", '{{.Label "k"}}', "{{.ID | printf \"%q\"}}",
])
def test_fast_and_general_walk_agree(text: str) -> None:
    fast = Template(text)
    general = Template(text)
    general._flat = None
    assert fast.execute(Row()) == general.execute(Row())


def test_only_flat_templates_take_it() -> None:
    assert Template("a{{.ID}}b")._flat == [(False, "a"), (True, "ID"), (False, "b")]
    assert Template('{{.Label "k"}}')._flat is None
    assert Template("{{.A.B}}")._flat is None


def test_an_error_is_the_general_walks() -> None:
    out: list[str] = []
    with pytest.raises(TemplateError, match="error calling Broken: bad row"):
        Template("{{.ID}} {{.Broken}}").execute_into(out, Row())
    assert out == ["abc", " "]  # what the general walk wrote before the error
