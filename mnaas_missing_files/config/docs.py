"""docs/configuration.md, generated from the settings table so that it cannot drift from it.

    python -m mnaas_missing_files.config.docs > docs/configuration.md     (or: make docs)

tests/unit/test_docs.py fails when the page in the repository is not what this prints.
"""

from __future__ import annotations

from mnaas_missing_files.config.options import OPTIONS, Option

INTRO = """\
# Configuration

<!-- Generated from mnaas_missing_files/config/options.py by `make docs`: edit the table there. -->

The job reads one properties file, named by `--config PATH` or `MNAAS_CONFIG`: the operators'
bash-style file of the legacy job, unchanged. It is **parsed, never executed**: `KEY=value`,
quotes, comments, `export`, arrays `name=(a b "c d")`, `$VAR` and `${VAR}` (earlier keys,
then the environment; an undefined one expands empty, with a warning), `. file` and
`source file` (relative to the file that sources them), and the two command substitutions
real files use: `$(date +FMT)` (the real clock) and `$(date -d yesterday|'N days ago' +FMT)`
(counted back from D + 1, so a backfill writes each day's reports under that day's names).
Any other `$(...)` or backtick is a configuration error naming file:line. The file must be
UTF-8 without NUL bytes (CRLF line ends are fine). A customer listed twice is checked once,
with a warning.

Legacy keys (from: properties file) come from the file only. The `MNAAS_*` settings may also
come from the environment, which wins. Check a configuration without running anything:

```sh
mnaas-missing-files check-config --config /path/to/MNAAS_Missing_Customer_Files.properties
```

It prints every setting below with its effective value (passwords as `***`) and where the
value came from (file:line, `environment` or `default`), the group tasks a run would have,
then any warning; a setting it cannot use is exit 2 with one line naming the key and
file:line. The connection URLs'
options are explained in [operations.md](operations.md#warehouse-connection-mnaas_warehouse_url)
and [operations.md](operations.md#mail-relay-mnaas_smtp_url).

| setting | from | type | default | meaning |
|---|---|---|---|---|
"""

_KINDS = {
    "str": "text",
    "secret": "text (secret)",
    "path": "path",
    "list": "bash array",
    "names": "names",
    "dates": "dates (YYYY-MM-DD)",
    "ratio": "ratio (above 0, at most 1; exact)",
    "addresses": "addresses",
    "mode": "octal mode",
    "cron": "cron",
    "tz": "IANA zone",
    "table": "table name",
    "url": "URL",
    "hhmm": "HH:MM",
}


def page() -> str:
    """The whole page: the introduction and one row per setting, in the table's order."""
    return INTRO + "".join(_row(option) for option in OPTIONS)


def _row(option: Option) -> str:
    source = "file or environment (environment wins)" if option.env else "properties file"
    cells = (f"`{option.key}`", source, _type(option), _default(option), option.help)
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |\n"


def _type(option: Option) -> str:
    if option.kind == "choice":
        return " or ".join(f"`{choice}`" for choice in option.choices)
    if option.kind in ("int", "float"):
        kind = "integer" if option.kind == "int" else "number"
        return kind if option.minimum is None else f"{kind} ≥ {option.minimum:g}"
    return _KINDS[option.kind]


def _default(option: Option) -> str:
    if option.required and option.default is None:
        return "required"
    if callable(option.default):
        return "derived (see meaning)"
    if option.default in (None, ()):
        return "—"
    if option.kind == "mode":
        return f"`0{option.default:o}`"
    if option.kind == "ratio":
        return f"`{float(option.default):g}`"
    return f"`{option.default}`"


def main() -> int:
    print(page(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
