"""The JSON-message progress renderer (``dockyard.cli.jsonmessage``) on recorded streams.

The expected bytes were captured from the real docker CLI 28 rendering the same recorded
pull stream (``image_engine.PULL_STREAM``) on a pseudo-terminal of 120 and 80 columns and
off a terminal; ``test_cli_image_oracle`` compares against docker live where it is installed.
"""

from __future__ import annotations

import io

import pytest
from tests.unit.cli import image_engine

from dockyard.cli import jsonmessage
from dockyard.cli.jsonmessage import JSONMessageError, Renderer, display, go_duration, progress_string

A, B = image_engine.LAYER_A, image_engine.LAYER_B
DIGEST = image_engine.BUSYBOX_DIGEST
TAIL = f"Digest: {DIGEST}\nStatus: Downloaded newer image for busybox:latest\n"

PULL_TTY_120 = (
    "latest: Pulling from library/busybox\n"
    f"\n\x1b[1A\x1b[2K\r{A}: Pulling fs layer \r\x1b[1B"
    f"\n\x1b[1A\x1b[2K\r{B}: Pulling fs layer \r\x1b[1B"
    f"\x1b[2A\x1b[2K\r{A}: Downloading [=================>                                 ]    1.2MB/3.4MB\r\x1b[2B"
    f"\x1b[1A\x1b[2K\r{B}: Downloading [=========================>                         ]     512B/1.024kB\r\x1b[1B"
    f"\x1b[1A\x1b[2K\r{B}: Download complete \r\x1b[1B"
    f"\x1b[2A\x1b[2K\r{A}: Downloading [==================================================>]    3.4MB/3.4MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Verifying Checksum \r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Download complete \r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Extracting [==================================================>]    3.4MB/3.4MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Pull complete \r\x1b[2B"
    f"\x1b[1A\x1b[2K\r{B}: Extracting [==================================================>]  1.024kB/1.024kB\r\x1b[1B"
    f"\x1b[1A\x1b[2K\r{B}: Pull complete \r\x1b[1B" + TAIL
)

PULL_TTY_80 = (
    "latest: Pulling from library/busybox\n"
    f"\n\x1b[1A\x1b[2K\r{A}: Pulling fs layer \r\x1b[1B"
    f"\n\x1b[1A\x1b[2K\r{B}: Pulling fs layer \r\x1b[1B"
    f"\x1b[2A\x1b[2K\r{A}: Downloading    1.2MB/3.4MB\r\x1b[2B"
    f"\x1b[1A\x1b[2K\r{B}: Downloading     512B/1.024kB\r\x1b[1B"
    f"\x1b[1A\x1b[2K\r{B}: Download complete \r\x1b[1B"
    f"\x1b[2A\x1b[2K\r{A}: Downloading    3.4MB/3.4MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Verifying Checksum \r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Download complete \r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Extracting    3.4MB/3.4MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{A}: Pull complete \r\x1b[2B"
    f"\x1b[1A\x1b[2K\r{B}: Extracting  1.024kB/1.024kB\r\x1b[1B"
    f"\x1b[1A\x1b[2K\r{B}: Pull complete \r\x1b[1B" + TAIL
)

PULL_PLAIN = (
    "latest: Pulling from library/busybox\n"
    f"{A}: Pulling fs layer\n{B}: Pulling fs layer\n{B}: Download complete\n{A}: Verifying Checksum\n"
    f"{A}: Download complete\n{A}: Pull complete\n{B}: Pull complete\n" + TAIL
)


def render(messages: list[dict[str, object]], tty: bool, width: int = 200) -> str:
    out = io.StringIO()
    display(messages, out, tty, width)
    return out.getvalue()


@pytest.mark.parametrize(("width", "expected"), [(120, PULL_TTY_120), (80, PULL_TTY_80)])
def test_pull_on_a_terminal_redraws_each_layer_in_place(width: int, expected: str) -> None:
    assert render(image_engine.PULL_STREAM, True, width) == expected


def test_pull_off_a_terminal_is_plain_lines_without_progress() -> None:
    assert render(image_engine.PULL_STREAM, False) == PULL_PLAIN


def test_push_and_load_streams() -> None:
    aux: list[object] = []
    out = io.StringIO()
    display(image_engine.PUSH_STREAM, out, True, 120, aux=aux.append)
    assert out.getvalue() == (
        "The push refers to repository [localhost:5000/team/app]\n"
        f"\n\x1b[1A\x1b[2K\r{A}: Preparing \r\x1b[1B"
        f"\x1b[1A\x1b[2K\r{A}: Pushing [>                                                  ]     512B/4.262MB\r\x1b[1B"
        f"\x1b[1A\x1b[2K\r{A}: Pushed \r\x1b[1B"
        f"v1.2: digest: {DIGEST} size: 527\n")
    assert aux == [image_engine.PUSH_STREAM[-1]]
    assert render(image_engine.LOAD_STREAM, True, 120) == (
        f"\n\x1b[1A\x1b[2K\r{A}: Loading layer [>                                                  ]  32.77kB/4.262MB\r"
        "\x1b[1BLoaded image: busybox:latest\n")
    assert render(image_engine.LOAD_STREAM, False) == "Loaded image: busybox:latest\n"


def test_an_error_detail_stops_the_stream_with_its_message() -> None:
    out = io.StringIO()
    with pytest.raises(JSONMessageError) as info:
        display([*image_engine.PULL_ERROR_STREAM, {"status": "never shown"}], out, False)
    assert str(info.value) == "manifest for busybox:nope not found: manifest unknown: manifest unknown"
    assert out.getvalue() == "latest: Pulling from library/busybox\n"


def test_a_new_group_forgets_the_lines_above() -> None:
    # a message without id (a new tag of pull -a) ends the group: a known id gets a new line
    messages = [{"status": "Downloading", "id": "x", "progressDetail": {"current": 1, "total": 2}},
                {"status": "next"},
                {"status": "Done", "id": "x", "progressDetail": {}}]
    assert render(messages, True, 80) == ("\n\x1b[1A\x1b[2K\rx: Downloading       1B/2B\r\x1b[1B" "next\n"
                                          "\n\x1b[1A\x1b[2K\rx: Done \r\x1b[1B")


def test_times_from_and_deprecated_progress_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    messages = [{"status": "pull", "id": "abc", "from": "busybox", "time": 1764334800},
                {"status": "x", "timeNano": 1764334800123456789},
                {"status": "Downloading", "id": "l", "progress": "[==>  ] 1MB/2MB"},
                {"stream": "Step 1/2 : FROM busybox\n"}]
    assert render(messages, False) == ("2025-11-28T13:00:00.000000000Z abc: (from busybox) pull\n"
                                       "2025-11-28T13:00:00.123456789Z x\n"
                                       "l: Downloading [==>  ] 1MB/2MB"
                                       "Step 1/2 : FROM busybox\n")


def test_progress_string_forms() -> None:
    assert progress_string({}) == ""
    assert progress_string({"current": 1_500_000}) == "   1.5MB"
    assert progress_string({"current": 3, "units": "items"}) == "3 items"
    bar = "[=========================>                         ] "
    assert progress_string({"current": 5, "total": 10}, 111) == bar + "      5B/10B"
    assert progress_string({"current": 5, "total": 10}, 110) == "      5B/10B"
    assert progress_string({"current": 20, "total": 10}, 80) == "     20B"
    assert progress_string({"current": 2, "total": 4, "units": "layers"}, 80) == "2/4 layers"
    assert progress_string({"current": 5, "total": 4, "units": "layers"}, 80) == "5 layers"
    assert progress_string({"current": 1, "total": 2, "hidecounts": True}, 120) == (
        "[=========================>                         ] ")


def test_progress_time_left_from_the_start() -> None:
    # 10 s for 1 MB of 4 MB: 30 s left, shown when the terminal is wider than 50 columns
    detail = {"current": 1_000_000, "total": 4_000_000, "start": 1000}
    assert progress_string(detail, 80, now=1010) == "     1MB/4MB 30s"
    assert progress_string(detail, 50, now=1010) == "     1MB/4MB"
    assert progress_string(dict(detail, current=4_000_000), 80, now=1010) == "     4MB/4MB"
    assert [go_duration(s) for s in (0, 45, 90, 3600, 3725, -5)] == ["0s", "45s", "1m30s", "1h0m0s", "1h2m5s", "-5s"]


def test_quiet_rendering_still_fails_on_errors() -> None:
    renderer = Renderer(None)
    renderer.feed(image_engine.PULL_STREAM[0])
    with pytest.raises(JSONMessageError):
        renderer.feed(image_engine.PULL_ERROR_STREAM[1])


class _Tty(io.StringIO):
    columns = 120

    def isatty(self) -> bool:
        return True


def test_display_stream_follows_what_the_output_is() -> None:
    tty, plain = _Tty(), io.StringIO()
    jsonmessage.display_stream(iter(image_engine.PULL_STREAM), tty)
    jsonmessage.display_stream(iter(image_engine.PULL_STREAM), plain)
    assert (tty.getvalue(), plain.getvalue()) == (PULL_TTY_120, PULL_PLAIN)
