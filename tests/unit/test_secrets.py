"""The one secret masker (core/secrets.py): one test per form a secret takes in this product's
text, and the places that print settings, errors and logs all go through it."""

import logging

import pytest

from mnaas_missing_files.config.smtp_url import parse_smtp_url
from mnaas_missing_files.core import secrets
from mnaas_missing_files.core.runlog import SecretFilter
from mnaas_missing_files.core.secrets import mask_secrets, register_secret


@pytest.mark.parametrize(
    "text, want",
    [
        # URL user info, with and without a user name
        ("redis://:pw1@h:6379/0", "redis://:***@h:6379/0"),
        ("impala://etl:S3cret@impala-lb:21050/mnaas", "impala://etl:***@impala-lb:21050/mnaas"),
        # a raw '@' in the password is masked whole, up to the host
        ("smtp://ops:p@ss@relay.example:587", "smtp://ops:***@relay.example:587"),
        # SMTP and Redis URLs in one message, with a query option between them
        (
            "redis://u:a1@h/1?password=b2&x=1 then smtps://m:c3@relay:465",
            "redis://u:***@h/1?password=***&x=1 then smtps://m:***@relay:465",
        ),
        # a Redis password written in the user slot
        ("redis://onlypass@h:6379/0", "redis://***@h:6379/0"),
        (
            "sentinel://:spw@s1:26379/0;sentinel://:spw@s2:26379/0",
            "sentinel://:***@s1:26379/0;sentinel://:***@s2:26379/0",
        ),
        # query options, whatever their case and prefix
        (
            "impala://h:21050/?auth_mechanism=LDAP&ldap_password=xyz&use_ssl=1",
            "impala://h:21050/?auth_mechanism=LDAP&ldap_password=***&use_ssl=1",
        ),
        ("?PASSWORD=Upper&pwd=two", "?PASSWORD=***&pwd=***"),
        # environment-named passwords, as check-config and errors print them
        ("MNAAS_SENTINEL_PASSWORD=hunter22", "MNAAS_SENTINEL_PASSWORD=***"),
        ('{"ldap_password": "q9"}', '{"ldap_password": "***"}'),
    ],
)
def test_each_secret_form_is_masked(text, want):
    assert mask_secrets(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "impala://etl@impala-lb:21050/mnaas?password_env=IMPALA_PW",  # names a variable, holds no secret
        "smtp://relay.example:25",
        "run 20261124-ab12 group traffic/regular/0: ok",
        "duckdb:////var/lib/mnaas/warehouse.duckdb",
    ],
)
def test_text_without_a_secret_is_unchanged(text):
    assert mask_secrets(text) == text


def test_a_registered_secret_is_masked_literally_and_percent_encoded(monkeypatch):
    monkeypatch.setattr(secrets, "_known", set())
    register_secret("from-env/pa ss")
    assert mask_secrets("server said: bad password from-env/pa ss (from-env%2Fpa%20ss)") == (
        "server said: bad password *** (***)"
    )


def test_a_two_letter_secret_is_not_registered(monkeypatch):
    monkeypatch.setattr(secrets, "_known", set())
    register_secret("ab")
    assert mask_secrets("table abc") == "table abc"


def test_the_smtp_target_scrubs_an_echoed_password(monkeypatch):
    monkeypatch.setattr(secrets, "_known", set())
    target = parse_smtp_url("smtp://ops:RelayPw9@relay.example:587")
    assert "RelayPw9" not in str(target) and "RelayPw9" not in repr(target)
    assert target.scrub("535 auth failed for RelayPw9") == "535 auth failed for ***"


def test_log_records_pass_the_masker():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "cannot reach %s", ("redis://:pw@h/0",), None)
    SecretFilter().filter(record)
    assert record.getMessage() == "cannot reach redis://:***@h/0"


@pytest.mark.parametrize(
    "text, want",
    [
        # the password in the user slot, with a raw '@' in it, and with the scheme in capitals
        ("redis://p@ss@h:6379/0", "redis://***@h:6379/0"),
        ("REDIS://OnlyPass@h/0", "REDIS://***@h/0"),
        ("Rediss://pw9@h/0;sentinel://a@b@s2:26379/0", "Rediss://***@h/0;sentinel://***@s2:26379/0"),
        # a malformed URL still has its password masked
        ("malformed URL 'redis://:pw9@[::1/0'", "malformed URL 'redis://:***@[::1/0'"),
    ],
)
def test_a_password_in_the_user_slot_is_masked_in_any_spelling(text, want):
    assert mask_secrets(text) == want
