"""The warehouse login checked before a run starts (contract §17)."""

from __future__ import annotations

import logging

from mnaas_missing_files.core.errors import KerberosServiceUnknown, WarehouseError
from mnaas_missing_files.warehouse.duckdb_engine import open_warehouse
from mnaas_missing_files.warehouse.kerberos import is_gssapi, login_from_settings

log = logging.getLogger(__name__)


def check_before_run(settings) -> None:
    """With GSSAPI, before `run` or `submit` takes the lock or touches the status file: log
    in from the keytab (if any) and open one warehouse connection, so that a service
    principal the KDC does not know is exit 2 with nothing changed. Any other failure is
    left to the run, which fails (or retries) and reports it as usual."""
    if not is_gssapi(settings.warehouse_url):
        return
    login_from_settings(settings)
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        warehouse.query("SELECT 1", [])
    except KerberosServiceUnknown:
        raise
    except WarehouseError as exc:
        log.debug("warehouse check before the run failed; the run reports it: %s", exc)
    finally:
        warehouse.close()
