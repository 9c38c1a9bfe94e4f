"""Kerberos without a KDC (contract §17): GSSAPI failures classified in operators' words, the
keytab settings checked before anything runs, and a process's own credential cache. The codes
and texts below are those MIT krb5 1.20 returned against the test KDC
(tests/integration/test_kerberos.py runs the real thing)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.core.errors import (
    EXIT_CONFIG,
    ConfigError,
    KerberosServiceUnknown,
    KerberosTicketMissing,
    TransientWarehouseError,
    WarehouseError,
)
from mnaas_missing_files.warehouse import kerberos
from mnaas_missing_files.warehouse.kerberos import classify_gss_failure
from tests.helpers.jobconfig import make_job

DAY = dt.date(2026, 11, 24)
WHERE = "Impala db1.example:21050"
NO_CRED, UNSPECIFIED = 458752, 851968
UNSPECIFIED_TEXT = "Unspecified GSS failure.  Minor code may provide more information"
NO_CRED_TEXT = "No credentials were supplied, or the credentials were unavailable or inaccessible"


def _plain(error: WarehouseError) -> str:
    text = str(error)
    assert "GSSError" not in text and "Minor code may provide" not in text and WHERE in text
    return text


def test_no_ticket_is_a_failure_naming_the_keytab_setting_and_kinit():
    error = classify_gss_failure(
        NO_CRED,
        NO_CRED_TEXT,
        -1765328243,
        "No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_0)",
        WHERE,
    )
    assert type(error) is KerberosTicketMissing and not isinstance(error, TransientWarehouseError)
    text = _plain(error)
    assert "MNAAS_KERBEROS_KEYTAB" in text and "kinit -kt" in text
    assert "No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_0)" in text


def test_an_expired_ticket_is_the_same_failure():
    error = classify_gss_failure(UNSPECIFIED, UNSPECIFIED_TEXT, -1765328352, "Ticket expired", WHERE)
    assert type(error) is KerberosTicketMissing
    assert "Ticket expired" in _plain(error) and "MNAAS_KERBEROS_KEYTAB" in str(error)


def test_an_unknown_service_principal_is_a_configuration_error_naming_what_was_asked():
    minor = "Server hive/db1.example@CORP.EXAMPLE not found in Kerberos database"
    error = classify_gss_failure(UNSPECIFIED, UNSPECIFIED_TEXT, -1765328377, minor, WHERE)
    assert type(error) is KerberosServiceUnknown and error.exit_code == EXIT_CONFIG
    assert not isinstance(error, TransientWarehouseError)  # a group task fails without retrying
    text = _plain(error)
    assert "hive/db1.example@CORP.EXAMPLE" in text and "kerberos_service_name" in text and "krb_host" in text


def test_an_unknown_service_principal_without_its_name_in_the_text_names_the_one_configured():
    error = classify_gss_failure(
        UNSPECIFIED, UNSPECIFIED_TEXT, -1765328377, "Server not found in Kerberos database", WHERE, service="impala/db1"
    )
    assert type(error) is KerberosServiceUnknown and "impala/db1" in str(error)


@pytest.mark.parametrize(
    "minor, text",
    [
        (-1765328228, "Cannot contact any KDC for realm 'CORP.EXAMPLE'"),
        (-1765328164, 'Cannot find KDC for realm "CORP.EXAMPLE"'),
    ],
)
def test_an_unreachable_kdc_is_transient(minor, text):
    error = classify_gss_failure(NO_CRED, NO_CRED_TEXT, minor, text, WHERE)
    assert isinstance(error, TransientWarehouseError)
    assert "Kerberos KDC unreachable" in _plain(error) and text in str(error)


def test_a_client_principal_the_kdc_or_keytab_lacks_names_the_principal_setting():
    error = classify_gss_failure(
        NO_CRED, NO_CRED_TEXT, -1765328378, "Client 'svc@CORP.EXAMPLE' not found in Kerberos database", WHERE
    )
    assert type(error) is KerberosTicketMissing and "MNAAS_KERBEROS_PRINCIPAL" in _plain(error)


def test_any_other_gss_failure_is_a_plain_failure_with_the_librarys_reason():
    error = classify_gss_failure(UNSPECIFIED, UNSPECIFIED_TEXT, -1765328360, "Clock skew too great", WHERE)
    assert type(error) is WarehouseError and "Clock skew too great" in _plain(error)


# -- settings ----------------------------------------------------------------------------------

GSSAPI_URL = '"impala://db1.example:21050?auth_mechanism=GSSAPI&krb_host=db1.example"'


def _load(tmp_path, **settings: str):
    job = make_job(tmp_path / "job", settings)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    return load_settings(job.config, environ=environ, day=DAY)


def _keytab(tmp_path, mode: int):
    path = tmp_path / "mnaas.keytab"
    path.write_bytes(b"\x05\x02")
    path.chmod(mode)
    return path


def test_a_missing_keytab_is_a_configuration_error_naming_the_key_and_path(tmp_path):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, MNAAS_WAREHOUSE_URL=GSSAPI_URL, MNAAS_KERBEROS_KEYTAB=str(tmp_path / "absent.keytab"))
    assert caught.value.exit_code == EXIT_CONFIG
    assert "MNAAS_KERBEROS_KEYTAB" in str(caught.value) and "absent.keytab does not exist" in str(caught.value)


def test_a_principal_without_a_keytab_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="MNAAS_KERBEROS_PRINCIPAL.*without MNAAS_KERBEROS_KEYTAB"):
        _load(tmp_path, MNAAS_WAREHOUSE_URL=GSSAPI_URL, MNAAS_KERBEROS_PRINCIPAL="svc@CORP.EXAMPLE")


def test_a_malformed_principal_is_a_configuration_error(tmp_path):
    keytab = _keytab(tmp_path, 0o600)
    with pytest.raises(ConfigError, match="expected a principal such as name@REALM"):
        _load(
            tmp_path,
            MNAAS_WAREHOUSE_URL=GSSAPI_URL,
            MNAAS_KERBEROS_KEYTAB=str(keytab),
            MNAAS_KERBEROS_PRINCIPAL="a@b@C",
        )


def test_a_keytab_others_can_read_is_a_warning(tmp_path):
    settings = _load(tmp_path, MNAAS_WAREHOUSE_URL=GSSAPI_URL, MNAAS_KERBEROS_KEYTAB=str(_keytab(tmp_path, 0o644)))
    assert any("mode 0644" in w and "chmod 600" in w for w in settings.warnings), settings.warnings


def test_a_private_keytab_with_gssapi_is_quiet_and_typed(tmp_path):
    keytab = _keytab(tmp_path, 0o600)
    settings = _load(
        tmp_path, MNAAS_WAREHOUSE_URL=GSSAPI_URL, MNAAS_KERBEROS_KEYTAB=str(keytab), MNAAS_KERBEROS_PRINCIPAL="svc"
    )
    assert settings.kerberos_keytab == keytab and settings.kerberos_principal == "svc"
    assert not any("KERBEROS" in w for w in settings.warnings), settings.warnings


def test_a_keytab_without_gssapi_is_a_warning(tmp_path):
    duckdb = tmp_path / "wh.duckdb"
    duckdb.write_bytes(b"")
    settings = _load(
        tmp_path, MNAAS_WAREHOUSE_URL=f"duckdb:///{duckdb}", MNAAS_KERBEROS_KEYTAB=str(_keytab(tmp_path, 0o600))
    )
    assert any("does not use auth_mechanism=GSSAPI" in w for w in settings.warnings), settings.warnings


# -- the process's own cache -------------------------------------------------------------------


def test_a_keytab_login_gives_the_process_a_memory_cache_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_shared")
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", "FILE:/etc/other.keytab")
    monkeypatch.setattr(kerberos, "_login", None)
    kerberos.login_with_keytab(tmp_path / "mnaas.keytab", "svc@CORP.EXAMPLE")
    assert os.environ["KRB5_CLIENT_KTNAME"] == f"FILE:{tmp_path / 'mnaas.keytab'}"
    assert os.environ["KRB5CCNAME"].startswith(f"MEMORY:mnaas-missing-files-{os.getpid()}-")
    assert kerberos._login == kerberos.KeytabLogin(tmp_path / "mnaas.keytab", "svc@CORP.EXAMPLE")
    first = os.environ["KRB5CCNAME"]
    kerberos.login_with_keytab(tmp_path / "other.keytab", None)
    assert os.environ["KRB5CCNAME"] != first  # another identity: a fresh cache, not the old tickets


def test_without_a_keytab_the_environments_cache_is_left_alone(monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_shared")
    monkeypatch.setattr(kerberos, "_login", None)
    kerberos.login_with_keytab(None, None)
    assert os.environ["KRB5CCNAME"] == "FILE:/tmp/krb5cc_shared" and kerberos._login is None


@pytest.mark.parametrize(
    "url, gssapi",
    [
        ("impala://h:21050?auth_mechanism=GSSAPI", True),
        ("impala://h:21050?auth_mechanism=NOSASL", False),
        ("duckdb:///x.duckdb", False),
    ],
)
def test_is_gssapi(url, gssapi):
    assert kerberos.is_gssapi(url) is gssapi


def test_the_ticket_status_line_names_the_principal_and_its_end_or_the_problem():
    end = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=9, minutes=59, seconds=30)).replace(microsecond=0)
    status = kerberos.TicketStatus("svc_mnaas@CORP.EXAMPLE", end)
    assert (
        status.describe()
        == f"ticket of svc_mnaas@CORP.EXAMPLE valid until {end:%Y-%m-%d %H:%M:%S} UTC (9 h 59 min left)"
    )
    assert kerberos.TicketStatus(None, None, "no valid Kerberos ticket").describe() == "no valid Kerberos ticket"
