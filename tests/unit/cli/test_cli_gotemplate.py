"""Go text/template as docker's --format uses it: fields, functions, control flow, errors."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.gotemplate import Formatter, GoNil, GoStruct, Template, TemplateError, parse
from dockyard.errors import InvalidArgument

DATA: dict[str, Any] = {
    "Name": "web",
    "Id": "f" * 64,
    "Labels": {"com.example.b": "2", "a": "1"},
    "Ports": [80, 443],
    "Nested": {"X": {"Y": "deep"}},
    "Null": None,
    "N": 3,
    "F": 1234567.0,
    "Ok": True,
    "Empty": [],
}


def render(text: str, data: Any = DATA) -> str:
    return parse(text).execute(data)


@pytest.mark.parametrize(("text", "expected"), [
    ("{{.Name}}", "web"),
    ("{{.Nested.X.Y}}", "deep"),
    ('{{index .Labels "a"}}', "1"),
    ('{{index .Labels "nope"}}', ""),  # the zero value of a map[string]string
    ("{{.Nope}}", "<no value>"),
    ("{{.Null}}", "<no value>"),
    ("{{.Labels}}", "map[a:1 com.example.b:2]"),
    ("{{.Ports}}", "[80 443]"),
    ("{{.F}}", "1.234567e+06"),
    ("{{.Ok}}", "true"),
    ("{{json .Labels}}", '{"com.example.b":"2","a":"1"}'),
    ("{{json .Ports}}", "[80,443]"),
    ('{{json "<&>"}}', '"<&>"'),  # docker turns HTML escaping off
    ("{{json .Null}}", "null"),
    ('{{.Name | printf "%s!"}}', "web!"),
    ('{{printf "%5.2f|%-4d|%q|%v|%x" 3.14159 7 "hi" .Ports 255}}', " 3.14|7   |\"hi\"|[80 443]|ff"),
    ('{{printf "%d %s" "s"}}', "%!d(string=s) %!s(MISSING)"),
    ("{{if .Name}}yes{{else}}no{{end}}", "yes"),
    ("{{if .Empty}}yes{{else if .N}}n{{else}}no{{end}}", "n"),
    ("{{with .Nested.X}}{{.Y}}{{end}}", "deep"),
    ("{{with .Null}}x{{else}}none{{end}}", "none"),
    ("{{range .Ports}}[{{.}}]{{end}}", "[80][443]"),
    ("{{range .Empty}}x{{else}}empty{{end}}", "empty"),
    ("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "a=1;com.example.b=2;"),
    ("{{range $i, $p := .Ports}}{{if $i}},{{end}}{{$p}}{{end}}", "80,443"),
    ("{{range .Ports}}{{if eq . 443}}{{break}}{{end}}{{.}}{{end}}", "80"),
    ("{{range .Ports}}{{if eq . 80}}{{continue}}{{end}}{{.}}{{end}}", "443"),
    ('{{"text"}} {{`raw`}} {{1}} {{1.5}} {{true}}', "text raw 1 1.5 true"),
    ("a  {{- .Name -}}  b", "awebb"),
    ("{{- /* a comment */ -}} x", "x"),
    ("{{$x := .N}}{{$x = 4}}{{$x}}", "4"),
    ("{{len .Ports}} {{len .Name}} {{len .Labels}}", "2 3 2"),
    ("{{slice .Name 1}} {{index .Ports 1}}", "eb 443"),
    ("{{and .Name .N}} {{or .Empty .Name}} {{not .Ok}}", "3 web false"),
    ('{{eq .Name "web"}} {{ne .N 3}} {{lt .N 4}} {{ge .N 4}} {{eq .N 1 2 3}}', "true false true false true"),
    ("{{upper .Name}} {{lower \"ABC\"}} {{title \"hello wOrld-x_y\"}}", "WEB abc Hello WOrld-X_y"),
    ('{{split "a,b" ","}} {{join (split "a,b" ",") "+"}}', "[a b] a+b"),
    ("{{pad .Name 2 1}}|{{truncate .Name 2}}|{{truncate .Name 9}}", "  web |we|web"),
    ('{{html "<a>"}} {{urlquery "a b&c"}} {{js "it\'s"}}', "&lt;a&gt; a+b%26c it\\'s"),
    ("{{print 1 2 \"a\" \"b\" 3}}", "1 2ab3"),
    ("{{(index .Nested \"X\").Y}}", "deep"),
])
def test_template_output(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("{{.Name", "template: :1: unclosed action"),
    ("{{nope}}", 'template: :1: function "nope" not defined'),
    ("{{if .Name}}", "template: :1: unexpected EOF"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{else}}", "template: :1: unexpected {{else}}"),
    ("{{}}", "template: :1: missing value for command"),
    ("{{$y}}", 'template: :1: undefined variable "$y"'),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{.Name | 3}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{.Name!}}", "template: :1: bad character U+0021 '!'"),
    ("{{.Name)}}", "template: :1: unexpected right paren"),
    ("{{(.Name}}", "template: :1: unclosed left paren"),
    ('{{"open}}', "template: :1: unterminated quoted string"),
    ("{{.Name.}}", "template: :1: unexpected <.> in operand"),
    ("x\n\n{{.A\n", "template: :4: unclosed action started at :3"),
    ("{{if .A}}\n\n", "template: :3: unexpected EOF"),
    ("a\n{{.A | nope}}", 'template: :2: function "nope" not defined'),
])
def test_parse_errors_have_gos_message(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse(text)
    assert str(info.value) == message
    assert isinstance(info.value, InvalidArgument)


@pytest.mark.parametrize(("text", "message"), [
    ("{{.Null.X}}", 'template: :1:7: executing "" at <.Null.X>: nil pointer evaluating interface {}.X'),
    ("{{.N.X}}", 'template: :1:4: executing "" at <.N.X>: can\'t evaluate field X in type int'),
    ("{{index .Ports 5}}", 'template: :1:2: executing "" at <index .Ports 5>: error calling index: '
                           "index out of range: 5"),
    ("{{upper .N}}", 'template: :1:8: executing "" at <.N>: wrong type for value; expected string; got int'),
    ('{{eq .Name 3}}', 'template: :1:2: executing "" at <eq .Name 3>: error calling eq: '
                       "incompatible types for comparison"),
    ("{{range .Name}}{{end}}", 'template: :1:8: executing "" at <.Name>: range can\'t iterate over web'),
    ("x\n {{len 3}}", 'template: :2:3: executing "" at <len 3>: error calling len: len of type int'),
    ("{{.Name 1}}", 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'),
])
def test_execution_errors_have_gos_message(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(text)
    assert str(info.value) == message


def test_struct_fields_methods_and_nil_pointers() -> None:
    class Context:
        GO_TYPE = "*formatter.ContainerContext"

        def __init__(self) -> None:
            self.Plain = "field"

        def ID(self) -> str:
            return "abc"

        def Label(self, name: str) -> str:
            return {"k": "v"}.get(name, "")

    ctx = Context()
    assert render('{{.ID}} {{.Plain}} {{.Label "k"}}', ctx) == "abc field v"
    with pytest.raises(TemplateError, match=r"can't evaluate field Nope in type \*formatter.ContainerContext"):
        render("{{.Nope}}", ctx)
    with pytest.raises(TemplateError, match="wrong number of args for Label: want 1 got 0"):
        render("{{.Label}}", ctx)
    version = GoStruct("*types.Version", {"APIVersion": "1.50", "Os": "linux"}, {"APIVersion": "ApiVersion"})
    assert render("{{.APIVersion}} {{json .}}", version) == '1.50 {"ApiVersion":"1.50","Os":"linux"}'
    assert render("{{if eq .S nil}}nil{{end}} {{.S}}", {"S": GoNil("*types.Version")}) == "nil <nil>"
    with pytest.raises(TemplateError, match=r"nil pointer evaluating \*types.Version.Os"):
        render("{{.S.Os}}", {"S": GoNil("*types.Version")})


def test_partial_output_stays_when_execution_fails() -> None:
    out: list[str] = []
    with pytest.raises(TemplateError):
        Template("a{{.Name}}b{{.N.X}}c").execute_into(out, DATA)
    assert "".join(out) == "awebb"


def test_commands_may_add_functions() -> None:
    template = Template("{{double .N}}", funcs={"double": lambda v: v * 2})
    assert template.execute(DATA) == "6"


ROWS = [
    {"ID": "aaaaaaaaaaaa", "Image": "nginx:latest", "Names": "web"},
    {"ID": "cccccccccccc", "Image": "dddddddddddd", "Names": "db"},
]
HEADER = {"ID": "CONTAINER ID", "Image": "IMAGE", "Names": "NAMES"}


def test_table_format_has_a_header_and_aligned_columns() -> None:
    # docker ps --format 'table {{.ID}}\t{{.Names}}' (docker 28, captured)
    out = Formatter(r"table {{.ID}}\t{{.Names}}", HEADER).render(ROWS)
    assert out == "CONTAINER ID   NAMES\naaaaaaaaaaaa   web\ncccccccccccc   db\n"


class Row(dict):  # type: ignore[type-arg]
    def Label(self, name: str) -> str:
        return "x"


def test_table_header_functions_keep_the_titles() -> None:
    out = Formatter("table {{upper .Names}}\t{{json .Image}}\t{{.Label \"com.example.my-label\"}}", HEADER)
    lines = out.render([Row(r) for r in ROWS]).splitlines()
    assert lines[0] == "NAMES     IMAGE            my label"
    assert lines[1] == 'WEB       "nginx:latest"   x'
    # docker ps --format 'table {{pad .Names 2 2}}|{{.Image}}': pad still pads the title
    assert Formatter("table {{pad .Names 2 2}}|{{.Image}}", HEADER).render(ROWS) == (
        "  NAMES  |IMAGE\n  web  |nginx:latest\n  db  |dddddddddddd\n")


def test_table_of_json_has_an_empty_header_and_no_rows_keep_the_header() -> None:
    out = Formatter("table {{json .}}", HEADER).render(ROWS)
    assert out.splitlines()[0] == ""
    assert Formatter(r"table {{.ID}}\t{{.Names}}", HEADER).render([]) == "CONTAINER ID   NAMES\n"


def test_json_and_custom_formats() -> None:
    assert Formatter("json").render(ROWS[:1]) == '{"ID":"aaaaaaaaaaaa","Image":"nginx:latest","Names":"web"}\n'
    assert Formatter(r"{{.ID}}\t{{.Names}}").render(ROWS) == "aaaaaaaaaaaa\tweb\ncccccccccccc\tdb\n"


def test_formatter_errors_are_wrapped_as_docker_prints_them() -> None:
    with pytest.raises(TemplateError, match=r"^template parsing error: template: :1: unclosed action$"):
        Formatter("{{.ID")
    with pytest.raises(TemplateError) as info:
        Formatter("table {{.Nope.X}}").render([{"ID": "x"}, {"ID": "y", "Nope": 1}])
    assert str(info.value) == ('template parsing error: template: :1:7: executing "" at <.Nope.X>: '
                               "can't evaluate field X in type int")
