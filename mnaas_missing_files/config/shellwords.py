"""Lexer for the bash subset the legacy properties files use.

It only cuts text into words made of literal pieces, variable references and `$(...)`
sources; deciding what a reference or a substitution means is `properties.py`'s job. Nothing
here runs anything: a backtick is rejected as soon as it is seen.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from mnaas_missing_files.core.errors import ConfigError

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_BRACED_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(@|\*|[0-9]+)\])?", re.ASCII)
# Characters that end an unquoted word in bash and start some other syntax.
METACHARS = ";&|<>()"
_SPECIAL_PARAMS = "0123456789?$!@*#-"
# Runs of characters with no special meaning, taken in one step: a value is a handful of
# pieces rather than one per character, which keeps parsing linear in the file's size.
_PLAIN_RUN = re.compile(r"[^ \t\n;&|<>()'\"\\`$]+")
_QUOTED_RUN = re.compile(r'[^"\\`$]+')


@dataclass(frozen=True)
class Lit:
    text: str
    quoted: bool


@dataclass(frozen=True)
class Var:
    name: str
    index: str | None  # None, "@", "*" or a decimal subscript
    quoted: bool
    pos: int


@dataclass(frozen=True)
class Cmd:
    source: str  # the text between "$(" and ")"
    quoted: bool
    pos: int


Piece = Lit | Var | Cmd


class Lexer:
    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        self.pos = 0
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def where(self, pos: int | None = None) -> str:
        line = bisect.bisect_right(self._line_starts, self.pos if pos is None else pos)
        return f"{self.path}:{line}"

    def fail(self, message: str, pos: int | None = None, key: str | None = None) -> ConfigError:
        return ConfigError(message, key=key, where=self.where(pos))

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
        return found

    def skip_blanks(self, *, newlines: bool = False) -> bool:
        """Skip spaces, tabs and backslash-newlines (and newlines if asked); True if any."""
        start = self.pos
        while True:
            c = self.peek()
            if c in (" ", "\t") or (newlines and c == "\n"):
                self.pos += 1
            elif c == "\\" and self.peek(1) == "\n":
                self.pos += 2
            else:
                return self.pos > start

    def skip_comment(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def end_statement(self, complaint: str, key: str | None, *, comment_may_touch: bool = False):
        """Accept only blanks and a comment up to the end of the line, else raise `complaint`."""
        spaced = self.skip_blanks()
        c = self.peek()
        if c == "#" and (spaced or comment_may_touch):
            self.skip_comment()
            c = self.peek()
        if c == "":
            return
        if c == "\n":
            self.pos += 1
            return
        if c in METACHARS:
            raise self.fail(f"unsupported shell syntax {c!r}", key=key)
        raise self.fail(complaint, key=key)

    def read_word(self, key: str | None = None) -> list[Piece]:
        """Read one word; an empty list means no word (not even an empty quoted string)."""
        pieces: list[Piece] = []
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t\n" or c in METACHARS:
                break
            if c == "'":
                close = text.find("'", self.pos + 1)
                if close < 0:
                    raise self.fail("unterminated single quote", key=key)
                pieces.append(Lit(text[self.pos + 1 : close], True))
                self.pos = close + 1
            elif c == '"':
                self._read_double_quoted(pieces, key)
            elif c == "\\":
                following = self.peek(1)
                if following != "\n":  # a backslash-newline simply disappears
                    pieces.append(Lit(following or "\\", True))
                self.pos += 2
            elif c == "`":
                raise self.fail("backtick command substitution is not allowed", key=key)
            elif c == "$":
                pieces.append(self._read_dollar(False, key))
            else:
                run = _PLAIN_RUN.match(text, self.pos)
                end = run.end() if run else self.pos + 1
                pieces.append(Lit(text[self.pos : end], False))
                self.pos = end
        return pieces

    def _read_double_quoted(self, pieces: list[Piece], key: str | None) -> None:
        opening = self.pos
        self.pos += 1
        pieces.append(Lit("", True))  # so that "" still makes a (empty) word
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.fail("unterminated double quote", opening, key)
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return
            if c == "\\" and self.peek(1) in ('"', "\\", "$", "`", "\n"):
                if self.peek(1) != "\n":
                    pieces.append(Lit(self.peek(1), True))
                self.pos += 2
            elif c == "`":
                raise self.fail("backtick command substitution is not allowed", key=key)
            elif c == "$":
                pieces.append(self._read_dollar(True, key))
            else:
                run = _QUOTED_RUN.match(text, self.pos)
                end = run.end() if run else self.pos + 1
                pieces.append(Lit(text[self.pos : end], True))
                self.pos = end

    def _read_dollar(self, quoted: bool, key: str | None) -> Piece:
        start = self.pos
        following = self.peek(1)
        if following == "(":
            close = self._closing_paren(start + 2, key)
            self.pos = close + 1
            return Cmd(self.text[start + 2 : close], quoted, start)
        if following == "{":
            close = self.text.find("}", start + 2)
            if close < 0 or "\n" in self.text[start:close]:
                raise self.fail("unterminated ${...}", start, key)
            inner = self.text[start + 2 : close]
            found = _BRACED_RE.fullmatch(inner)
            if not found:
                name = NAME_RE.match(inner)
                shown = name.group()[:40] if name else ""
                raise self.fail(f"unsupported expansion ${{{shown}...}}", start, key)
            self.pos = close + 1
            return Var(found.group(1), found.group(2), quoted, start)
        name = NAME_RE.match(self.text, start + 1)
        if name:
            self.pos = name.end()
            return Var(name.group(), None, quoted, start)
        if following and following in _SPECIAL_PARAMS:
            raise self.fail(f"special parameter ${following} is not supported", start, key)
        if not quoted and following in ("'", '"'):
            raise self.fail(f"${following}...{following} quoting is not supported", start, key)
        self.pos += 1  # a lone "$" is literal, as in bash
        return Lit("$", quoted)

    def _closing_paren(self, pos: int, key: str | None) -> int:
        depth, quote, text = 1, "", self.text
        while pos < len(text):
            c = text[pos]
            if quote:
                if c == quote:
                    quote = ""
                elif c == "\\" and quote == '"':
                    pos += 1
            elif c in ("'", '"'):
                quote = c
            elif c == "\\":
                pos += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return pos
            pos += 1
        raise self.fail("unterminated $(...)", key=key)
