"""The Kerberos keytab settings (contract §17), checked with the rest of the configuration:
a keytab that is missing or unreadable is exit 2 before anything runs; one that others can
read, or that nothing uses, is a warning."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mnaas_missing_files.config.impala_url import parse_impala_url


def check_keytab(s: dict[str, Any], fail) -> None:
    keytab, principal = s["kerberos_keytab"], s["kerberos_principal"]
    if keytab is not None:
        if not keytab.is_file():
            raise fail("MNAAS_KERBEROS_KEYTAB", f"keytab {keytab} does not exist or is not a file")
        if not os.access(keytab, os.R_OK):
            raise fail("MNAAS_KERBEROS_KEYTAB", f"keytab {keytab} is not readable by this user (uid {os.getuid()})")
    if principal and (principal.count("@") > 1 or any(c.isspace() for c in principal)):
        raise fail("MNAAS_KERBEROS_PRINCIPAL", f"expected a principal such as name@REALM, got {principal!r}")
    if principal and keytab is None:
        raise fail("MNAAS_KERBEROS_PRINCIPAL", "is set without MNAAS_KERBEROS_KEYTAB, from which its tickets come")


def keytab_advice(s: Mapping[str, Any]) -> tuple[str, ...]:
    keytab = s["kerberos_keytab"]
    if keytab is None:
        return ()
    url = s["warehouse_url"]
    if not url.startswith("impala:") or parse_impala_url(url).auth_mechanism != "GSSAPI":
        return (
            "MNAAS_KERBEROS_KEYTAB is set but MNAAS_WAREHOUSE_URL does not use auth_mechanism=GSSAPI: it has no effect",
        )
    mode = keytab.stat().st_mode
    if mode & 0o077:
        return (
            f"MNAAS_KERBEROS_KEYTAB {keytab} has mode {mode & 0o777:04o}: anyone who can read it can log in "
            "as its principal; chmod 600 it (owned by the job's user)",
        )
    return ()
