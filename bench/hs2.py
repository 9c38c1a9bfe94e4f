"""WAREHOUSE=hs2: the same profile's tables served by a real HiveServer2 endpoint (the Spark
Thrift Server fixture of the Impala tests), so that a query's cost is real — planning, Thrift
round trips, polling — rather than injected. The tables are generated in DuckDB as for the
embedded way, exported to Parquet and registered in Spark as external tables (no row-by-row
INSERT through Thrift)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import data
from .profiles import Profile

TABLES = ("kpi_measurement", "telena_file_record_count", "customers_files_records_count")


def hs2_warehouse(profile: Profile, work: Path) -> tuple[str, Callable[[], None], dict]:
    import duckdb

    from tests.helpers.hs2 import SparkThriftServer

    db = work / "warehouse.duckdb"
    sizes = data.build_warehouse(db, profile)
    conn = duckdb.connect(str(db), read_only=True)
    try:
        for table in TABLES:
            target = work / "parquet" / table
            target.mkdir(parents=True, exist_ok=True)
            for stale in target.glob("*.parquet"):
                stale.unlink()
            conn.execute(f"COPY (SELECT * FROM mnaas.{table}) TO '{target / 'part-0.parquet'}' (FORMAT parquet)")
    finally:
        conn.close()
    server = SparkThriftServer(work / "hs2")
    server.start()
    try:
        conn = server.connect(timeout=120)
        try:
            cursor = conn.cursor(user="loader")
            cursor.execute("CREATE DATABASE IF NOT EXISTS mnaas")
            for table in TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS mnaas.{table}")
                cursor.execute(f"CREATE TABLE mnaas.{table} USING parquet LOCATION '{work / 'parquet' / table}'")
            cursor.close()
        finally:
            conn.close()
    except BaseException:
        server.stop()
        raise
    return server.url(), server.stop, sizes
