"""The DuckDB URL of MNAAS_WAREHOUSE_URL, parsed and validated:

    duckdb:///relative/file.duckdb  or  duckdb:////absolute/file.duckdb   (as in SQLAlchemy)
        ?memory_limit=200MB&threads=2

`memory_limit` bounds what the embedded engine holds (DuckDB's own default is 80 % of the
machine's memory): above it a large day's joins and sorts spill to a private temporary
directory, slower but within the bound. `threads` caps the cores one query uses. Both are
DuckDB settings given when the file is opened, never SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from mnaas_missing_files.core.errors import ConfigError

KEY = "MNAAS_WAREHOUSE_URL"
MEMORY = "duckdb:///:memory:"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


@dataclass(frozen=True)
class DuckDBTarget:
    path: Path | None  # None: an in-memory database (the tests')
    config: dict[str, str] = field(default_factory=dict)  # DuckDB settings when opening it


def parse_duckdb_url(url: str) -> DuckDBTarget:
    if url == MEMORY:
        return DuckDBTarget(None)
    rest = url[len("duckdb:///") :] if url.startswith("duckdb:///") else ""
    rest, _, query = rest.partition("?")
    if not rest:
        raise ConfigError(f"malformed DuckDB URL {url!r}: expected duckdb:///relative or duckdb:////absolute", key=KEY)
    config: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "memory_limit":
            if not _SIZE.fullmatch(value.strip()):
                raise ConfigError(
                    f"DuckDB URL option memory_limit={value!r}: expected a size such as 200MB or 1GB", key=KEY
                )
        elif name == "threads":
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(
                    f"DuckDB URL option threads={value!r}: expected a whole number of at least 1", key=KEY
                )
        else:
            raise ConfigError(f"unknown DuckDB URL option {name!r} (known: memory_limit, threads)", key=KEY)
        config[name] = value.strip()
    return DuckDBTarget(Path(rest).absolute(), config)
