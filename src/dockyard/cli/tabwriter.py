"""Go's ``text/tabwriter`` (docker's fork): tab-terminated cells aligned into columns.

Docker renders its tables with ``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`` (``TABLE``)
and ``docker version`` with ``(20, 1, 1, ' ', 0)``. The algorithm is Go's elastic tabstops:
a column is a run of consecutive lines that have a tab-terminated cell at that index; its
width is the widest cell plus the padding, at least ``minwidth``; the text after a line's
last tab is not part of any column and is never padded. Widths count display cells (East
Asian wide characters take two), as docker's fork does with go-runewidth.
"""

from __future__ import annotations


def display_width(text: str) -> int:
    """Terminal cells ``text`` takes: wide and full-width characters count two, marks zero."""
    if text.isascii():
        return len(text)
    import unicodedata

    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


class _Cell:
    __slots__ = ("htab", "text", "width")

    def __init__(self, text: str, htab: bool) -> None:
        self.text = text
        self.width = display_width(text)
        self.htab = htab


class TabWriter:
    """Collects text with ``write`` and returns it aligned from ``flush``."""

    def __init__(self, minwidth: int, tabwidth: int, padding: int, padchar: str = " ",
                 align_right: bool = False, discard_empty_columns: bool = False) -> None:
        self.minwidth = minwidth
        self.tabwidth = tabwidth
        self.padding = padding
        self.padchar = padchar
        self.align_right = align_right and padchar != "\t"
        self.discard_empty = discard_empty_columns
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> str:
        """The aligned text of everything written so far; the writer starts empty again."""
        text = "".join(self.parts)
        self.parts = []
        sections = text.split("\f")  # a formfeed ends the line and every column: a flush
        return "".join(self._flush_section(s + ("\n" if i < len(sections) - 1 else ""))
                       for i, s in enumerate(sections))

    def _flush_section(self, text: str) -> str:
        lines: list[list[_Cell]] = []
        raws = text.split("\n")
        for i, raw in enumerate(raws):
            fields = raw.split("\t")
            line = [_Cell(f, True) for f in fields[:-1]]
            if fields[-1] or i < len(raws) - 1:  # Go's Flush keeps an unterminated last cell only if not empty
                line.append(_Cell(fields[-1], False))
            lines.append(line)
        out: list[str] = []
        self._format(lines, [], 0, len(lines), out)
        return "".join(out)

    def _format(self, lines: list[list[_Cell]], widths: list[int], line0: int, line1: int,
                out: list[str]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            self._write_lines(lines, widths, line0, this, out)
            line0 = this
            width, discardable = self.minwidth, True
            while this < line1 and column < len(lines[this]) - 1:
                cell = lines[this][column]
                width = max(width, cell.width + self.padding)
                if cell.width > 0 or cell.htab:
                    discardable = False
                this += 1
            if discardable and self.discard_empty:
                width = 0
            widths.append(width)
            self._format(lines, widths, line0, this, out)
            widths.pop()
            line0 = this
        self._write_lines(lines, widths, line0, line1, out)

    def _padding(self, textw: int, cellw: int) -> str:
        if self.padchar == "\t":
            if self.tabwidth == 0:
                return ""
            cellw = (cellw + self.tabwidth - 1) // self.tabwidth * self.tabwidth
            return "\t" * ((cellw - textw + self.tabwidth - 1) // self.tabwidth)
        return self.padchar * (cellw - textw)

    def _write_lines(self, lines: list[list[_Cell]], widths: list[int], line0: int, line1: int,
                     out: list[str]) -> None:
        for i in range(line0, line1):
            for j, cell in enumerate(lines[i]):
                pad = self._padding(cell.width, widths[j]) if j < len(widths) else ""
                if cell.text and self.align_right:
                    out.append(pad + cell.text)
                else:
                    out.append(cell.text + pad)
            if i + 1 < len(lines):
                out.append("\n")


def tabwrite(text: str, minwidth: int = 10, tabwidth: int = 1, padding: int = 3, padchar: str = " ") -> str:
    """Align ``text`` in one go; the defaults are docker's table settings."""
    writer = TabWriter(minwidth, tabwidth, padding, padchar)
    writer.write(text)
    return writer.flush()
