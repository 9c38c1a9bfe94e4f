"""Reader for the legacy bash-style properties files (contract §1).

The files were written to be sourced by bash, so this reads them with bash's meaning, but
only the subset they use; anything else is a ConfigError naming file:line. Nothing is ever
executed: the only command substitutions understood are `date` forms, computed here.
Error messages name keys and places, never values, because values may hold passwords.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from mnaas_missing_files.config.shellwords import Cmd, Lexer, Lit, Piece, Var
from mnaas_missing_files.core.errors import ConfigError

_ASSIGN_RE = re.compile(r"(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=", re.ASCII)
_EXPORT_ONLY_RE = re.compile(r"export(?:[ \t]+[A-Za-z_][A-Za-z0-9_]*)+(?=[ \t\n#]|$)", re.ASCII)
_SOURCE_RE = re.compile(r"(?:\.|source)[ \t]+")
_FIRST_WORD_RE = re.compile(r"(?:export[ \t]+)?([^\s;&|<>()]*)")
_DAYS_AGO_RE = re.compile(r"(\d+) ?days? ago|-(\d+) ?days?")
_SHOWABLE_RE = re.compile(r"[A-Za-z0-9_.\-]{1,40}", re.ASCII)
_BREAK = None  # between the elements of a quoted "${array[@]}": a field boundary


@dataclass
class Properties:
    values: dict[str, str | list[str]] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # (key, file:line) of every assignment in the job's own file, in order: what the typo
    # check reads (sourced common files are not checked, contract §16).
    own_assignments: list[tuple[str, str]] = field(default_factory=list)


def parse_properties(path, *, environ: Mapping[str, str], run_day: datetime.date, now: datetime.datetime) -> Properties:
    """Read `path` (and what it sources) the way bash would, without running anything.

    `now` is the real clock for `$(date +FMT)`; `$(date -d ...)` counts back from run_day + 1.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"configuration file {path} not found")
    reader = _Reader(environ, run_day, now)
    reader.read_file(path, [])
    return reader.result


class _Reader:
    def __init__(self, environ: Mapping[str, str], run_day: datetime.date, now: datetime.datetime):
        self.environ = environ
        self.run_day = run_day
        self.now = now
        self.result = Properties()

    def read_file(self, path: str, sourcing_chain: list[str]) -> None:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
        text = _decode(data, path)
        self.result.files.append(path)
        chain = sourcing_chain + [os.path.realpath(path)]
        lx = Lexer(text, path)
        while not lx.at_end():
            self._statement(lx, chain)

    def _statement(self, lx: Lexer, chain: list[str]) -> None:
        lx.skip_blanks()
        c = lx.peek()
        if c in ("\n", ""):
            lx.pos += 1
            return
        if c == "#":
            lx.skip_comment()
            return
        start = lx.pos
        assignment = lx.match(_ASSIGN_RE)
        if assignment:
            self._assignment(lx, assignment.group(1), start)
        elif lx.match(_EXPORT_ONLY_RE):  # `export NAME`: every key is already visible here
            lx.end_statement("export takes names or NAME=value", None)
        elif lx.match(_SOURCE_RE):
            self._source(lx, chain, start)
        else:
            raise self._not_a_statement(lx)

    def _assignment(self, lx: Lexer, key: str, start: int) -> None:
        where = lx.where(start)
        if lx.peek() == "(":
            value: str | list[str] = self._array(lx, key)
            lx.end_statement(f"unexpected text after the array {key}", key, comment_may_touch=True)
        else:
            value = _join(self._expand(lx, lx.read_word(key)))
            lx.end_statement(
                f"the value of {key} has an unquoted space followed by more words; "
                "bash would run them as a command (quote the value)",
                key,
            )
        previous = self.result.values.get(key)
        if isinstance(previous, list) and isinstance(value, str):
            value = [value] + previous[1:]  # bash: a scalar assignment replaces element 0 only
        self.result.values[key] = value
        self.result.origins[key] = where
        if lx.path == self.result.files[0]:
            self.result.own_assignments.append((key, where))

    def _array(self, lx: Lexer, key: str) -> list[str]:
        opening = lx.pos
        lx.pos += 1
        elements: list[str] = []
        while True:
            lx.skip_blanks(newlines=True)
            c = lx.peek()
            if c == "":
                raise lx.fail(f"unterminated array {key} (no closing ')')", opening, key)
            if c == ")":
                lx.pos += 1
                return elements
            if c == "#":
                lx.skip_comment()
            elif c in "(;&|<>":
                raise lx.fail(f"unexpected {c!r} in array {key}", key=key)
            else:
                elements.extend(_fields(self._expand(lx, lx.read_word(key))))

    def _source(self, lx: Lexer, chain: list[str], start: int) -> None:
        where = lx.where(start)
        target = _join(self._expand(lx, lx.read_word()))
        lx.end_statement("'.' / 'source' takes exactly one file name", None)
        if not target:
            raise ConfigError("'.' / 'source' without a file name", where=where)
        if not os.path.isabs(target):
            target = os.path.join(os.path.dirname(lx.path), target)
        if not os.path.isfile(target):
            raise ConfigError(f"sourced file {target} not found", where=where)
        if os.path.realpath(target) in chain:
            cycle = " -> ".join(chain + [os.path.realpath(target)])
            raise ConfigError(f"sourcing cycle: {cycle}", where=where)
        self.read_file(target, chain)

    @staticmethod
    def _not_a_statement(lx: Lexer) -> ConfigError:
        found = lx.match(_FIRST_WORD_RE)
        word = found.group(1) if found else ""
        # Show only what looks like a name: a stray line may well hold a password.
        shown = repr(word) if _SHOWABLE_RE.fullmatch(word) else "this line"
        if "=" in word:
            name = word.split("=", 1)[0]
            if name.endswith("+"):
                return lx.fail(f"'+=' is not supported (key {name[:-1][:40]!r})")
            return lx.fail(f"invalid key name {name[:40]!r}")
        if word and re.match(r"[ \t]+=", lx.text[lx.pos :]):
            return lx.fail(f"{shown}: no spaces are allowed around '='")
        if not word:
            return lx.fail(f"unexpected {lx.peek()!r}")
        return lx.fail(
            f"{shown} is not an assignment, comment, export or source line "
            "(commands are not allowed in the configuration)"
        )

    def _expand(self, lx: Lexer, pieces: list[Piece]) -> list[tuple[str | None, bool]]:
        """Turn pieces into (text, may_split) chunks; text None marks a field boundary."""
        chunks: list[tuple[str | None, bool]] = []
        for piece in pieces:
            if isinstance(piece, Lit):
                chunks.append((piece.text, False))
            elif isinstance(piece, Cmd):
                chunks.append((self._command(lx, piece), not piece.quoted))
            else:
                words = self._lookup(lx, piece)
                if piece.quoted and piece.index == "@":
                    for i, word in enumerate(words):
                        chunks.extend([(_BREAK, False)] if i else [])
                        chunks.append((word, False))
                else:
                    chunks.append((" ".join(words), not piece.quoted))
        return chunks

    def _lookup(self, lx: Lexer, var: Var) -> list[str]:
        if var.name in self.result.values:
            value = self.result.values[var.name]
        elif var.name in self.environ:
            value = self.environ[var.name]
        else:
            self.result.warnings.append(f"undefined variable {var.name} at {lx.where(var.pos)}")
            return []
        elements = value if isinstance(value, list) else [value]
        if var.index in ("@", "*"):
            return list(elements)
        position = int(var.index or 0)
        return elements[position : position + 1]

    def _command(self, lx: Lexer, cmd: Cmd) -> str:
        try:
            return _date_command(cmd.source, self.run_day, self.now)
        except ValueError as exc:
            program = (cmd.source.split() or [""])[0][:30]
            raise ConfigError(
                f"command substitution $({program} ...) is not allowed: {exc}; "
                "only $(date +FORMAT) and $(date -d SPEC +FORMAT) are understood",
                where=lx.where(cmd.pos),
            ) from None


def _decode(data: bytes, path: str) -> str:
    """The file's text; a NUL byte or invalid UTF-8 is an error naming file:line (bash would
    silently drop the NUL, and a value cut short there is worse than a refusal)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"invalid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8", where=f"{path}:{line}"
        ) from None
    nul = text.find("\0")
    if nul >= 0:
        raise ConfigError(
            "a NUL byte is not allowed in the configuration", where=f"{path}:{text.count(chr(10), 0, nul) + 1}"
        )
    # A file saved on Windows keeps working: CRLF line ends are read as LF (a lone CR is
    # kept, as bash keeps it).
    return text.replace("\r\n", "\n")


def _join(chunks: list[tuple[str | None, bool]]) -> str:
    return "".join(" " if text is _BREAK else text for text, _ in chunks)


def _fields(chunks: list[tuple[str | None, bool]]) -> list[str]:
    """Bash word splitting: unquoted expansion results split on blanks; empty ones vanish."""
    fields: list[str] = []
    current: list[str] = []  # the field being built, joined once (linear in its length)
    started = False
    for text, may_split in chunks:
        if text is _BREAK:
            fields.append("".join(current))
            current, started = [], True
            continue
        parts = re.split(r"[ \t\n]+", text) if may_split else [text]
        for i, part in enumerate(parts):
            if i and started:
                fields.append("".join(current))
            if i:
                current, started = [], False
            if part or not may_split:
                current.append(part)
                started = True
    if started:
        fields.append("".join(current))
    return fields


def _date_command(source: str, run_day: datetime.date, now: datetime.datetime) -> str:
    """Compute `date [-d SPEC] +FORMAT` as GNU date would; ValueError for anything else."""
    if any(c in source for c in "$`;&|<>(){}\n\\"):
        raise ValueError("it contains shell syntax")
    try:
        args = shlex.split(source)
    except ValueError:
        raise ValueError("unbalanced quotes") from None
    if not args or args[0] != "date":
        raise ValueError("not a date command")
    fmt = spec = None
    i = 1
    while i < len(args):
        arg = args[i]
        if arg.startswith("+") and fmt is None:
            fmt = arg[1:]
        elif arg in ("-d", "--date") and i + 1 < len(args) and spec is None:
            spec, i = args[i + 1], i + 1
        elif arg.startswith("--date=") and spec is None:
            spec = arg[len("--date=") :]
        elif arg.startswith("-d") and len(arg) > 2 and spec is None:
            spec = arg[2:]
        else:
            raise ValueError(f"unsupported date argument {arg[:30]!r}")
        i += 1
    if fmt is None:
        raise ValueError("date needs a +FORMAT")
    if spec is None:
        return _strftime(now, fmt)
    return _strftime(
        datetime.datetime.combine(run_day + datetime.timedelta(days=1 - _days_back(spec)), now.timetz()), fmt
    )


def _days_back(spec: str) -> int:
    spec = " ".join(spec.lower().split())
    if spec == "yesterday":
        return 1
    if spec == "today":
        return 0
    found = _DAYS_AGO_RE.fullmatch(spec)
    if not found:
        raise ValueError(f"unsupported date -d {spec[:30]!r}")
    return int(found.group(1) or found.group(2))


def _strftime(moment: datetime.datetime, fmt: str) -> str:
    """strftime plus the GNU date conversions Python lacks or leaves to the platform."""
    own = {"F": "%Y-%m-%d", "T": "%H:%M:%S", "D": "%m/%d/%y", "%": "%%"}
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] != "%" or i + 1 == len(fmt):
            out.append(fmt[i])
            i += 1
            continue
        width = 3 if fmt[i + 1] in "-_0^#" and i + 2 < len(fmt) else 2
        conversion = fmt[i + width - 1]
        if conversion == "s":
            out.append(str(int(moment.timestamp())))
        elif conversion == "N":
            out.append(f"{moment.microsecond * 1000:09d}")
        else:
            out.append(moment.strftime(own.get(conversion, fmt[i : i + width])))
        i += width
    return "".join(out)
