"""A pair's missing names as one text: their TXT lines (contract §3), joined by newlines.

A large day has a million missing names. As Python strings, one object each, they cost ~60
bytes and a pass of the interpreter per name every time they are packed, unpacked, compared or
written. As one text per pair they cost their bytes, and packing, compressing and writing the
TXT are a few C calls per pair; DuckDB builds the text itself (queries.missing_name_lines).
Each line is a name escaped as the TXT writes it (backslash, newline and carriage return as
`\\\\`, `\\n`, `\\r`), so one name is one line and the escaping can be undone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

# One name per line and one line per name (contract §13): a line break inside a name would
# split it into two bogus names, so it is written as the two characters `\n` (or `\r`); a
# backslash itself is doubled, so a name holding a literal backslash-n stays distinguishable
# from one holding a real newline, and the escaping can be undone.
_TXT_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r"})
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r"}


def escape_txt_name(name: str) -> str:
    """`name` as its one TXT line (without the line end): backslash, newline and CR escaped."""
    if "\\" not in name and "\n" not in name and "\r" not in name:  # the common case, cheaply
        return name
    return name.translate(_TXT_ESCAPES)


def unescape_txt_line(line: str) -> str:
    """The name a TXT line stands for (escape_txt_name undone)."""
    if "\\" not in line:
        return line
    out, chars = [], iter(line)
    for ch in chars:
        if ch == "\\":
            after = next(chars, "")
            ch = _UNESCAPES.get(after, ch + after)
        out.append(ch)
    return "".join(out)


class NameLines(Sequence[str]):
    """A pair's names, sorted and each once, held as their TXT lines in one text; reads as
    the sequence of the names themselves."""

    __slots__ = ("text", "_count")

    def __init__(self, text: str = "", count: int | None = None):
        self.text = text
        self._count = count

    @classmethod
    def of(cls, names: Iterable[str]) -> NameLines:
        lines = [escape_txt_name(n) for n in names]
        return cls("\n".join(lines), len(lines))

    @property
    def escaped(self) -> bool:
        """Whether some name needed escaping (holds a backslash, newline or CR)."""
        return "\\" in self.text

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.text.count("\n") + 1 if self.text else 0
        return self._count

    def __iter__(self) -> Iterator[str]:
        if not self.text:
            return iter(())
        lines = self.text.split("\n")
        return iter(lines) if not self.escaped else map(unescape_txt_line, lines)

    def head(self, count: int) -> list[str]:
        """The first `count` names, without splitting the rest."""
        if count <= 0 or not self.text:
            return []
        return [unescape_txt_line(line) for line in self.text.split("\n", count)[:count]]

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index):
        if (
            isinstance(index, slice)
            and index.start in (None, 0)
            and index.step in (None, 1)
            and (index.stop is None or index.stop >= 0)
        ):
            return self.head(len(self) if index.stop is None else index.stop)
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NameLines):
            return self.text == other.text
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NameLines({len(self)} names)"


def as_lines(names: Sequence[str]) -> NameLines:
    """`names` (sorted, each once) as NameLines, without copying when they already are."""
    return names if isinstance(names, NameLines) else NameLines.of(names)
