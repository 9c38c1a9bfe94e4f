"""MNAAS_SMTP_URL parsing: defaults, options, and errors that never show the password."""

from __future__ import annotations

import pytest

from mnaas_missing_files.config.smtp_url import SmtpTarget, parse_smtp_url
from mnaas_missing_files.core.errors import ConfigError


def test_plain_url_defaults():
    target = parse_smtp_url("smtp://relay.example.net")
    assert target == SmtpTarget(scheme="smtp", host="relay.example.net", port=25)
    assert (target.user, target.password, target.starttls, target.cafile) == (None, None, False, None)
    assert target.verify is True and target.timeout == 60.0


def test_smtps_defaults_to_465():
    assert parse_smtp_url("SMTPS://Relay.Example.net").port == 465


def test_user_password_are_url_decoded_and_options_read(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    target = parse_smtp_url(f"smtp://svc%40mnaas:p%40ss%3Aw%2Frd%20x@10.0.0.5:587?starttls=1&cafile={ca}&timeout=7.5")
    assert (target.host, target.port) == ("10.0.0.5", 587)
    assert (target.user, target.password) == ("svc@mnaas", "p@ss:w/rd x")
    assert target.starttls and target.cafile == str(ca) and target.timeout == 7.5


def test_verify_0_for_lab_relays():
    target = parse_smtp_url("smtps://lab-relay:2465?verify=0")
    assert target.verify is False
    context = target.tls_context()
    assert context.check_hostname is False


def test_repr_and_str_mask_the_password():
    target = parse_smtp_url("smtp://svc:Sup3rS3cret@relay:25?starttls=1")
    assert "Sup3rS3cret" not in repr(target) and "Sup3rS3cret" not in str(target)
    assert str(target) == "smtp://svc:***@relay:25?starttls=1"
    assert repr(target) == "SmtpTarget('smtp://svc:***@relay:25?starttls=1')"


@pytest.mark.parametrize(
    "url,problem",
    [
        ("http://svc:Sup3rS3cret@relay", "scheme"),
        ("smtp://svc:Sup3rS3cret@", "no host"),
        ("smtp://svc:Sup3rS3cret@relay:notaport", "port"),
        ("smtp://svc:Sup3rS3cret@relay:70000", "port"),
        ("smtp://svc:Sup3rS3cret@relay:0", "port"),
        ("smtp://svc:Sup3rS3cret@relay?tls=1", "unknown option"),
        ("smtp://svc:Sup3rS3cret@relay?starttls=maybe", "starttls"),
        ("smtps://svc:Sup3rS3cret@relay?starttls=1", "already TLS"),
        ("smtps://svc:Sup3rS3cret@relay?cafile=/no/such/ca.pem", "does not exist"),
        ("smtps://svc:Sup3rS3cret@relay?timeout=-1", "timeout"),
        ("smtps://svc:Sup3rS3cret@relay?timeout=soon", "timeout"),
        ("smtp://svc:Sup3rS3cret@relay?verify=0", "only apply"),
        ("smtp://svc:Sup3rS3cret@relay/path", "path"),
        ("smtp://svc:Sup3rS3cr%C3%A9t@relay", "ASCII"),
        ("smtp://svc:Sup3rS3cret@[::1", "not a valid URL"),
    ],
)
def test_bad_urls_name_the_key_but_not_the_password(url, problem):
    with pytest.raises(ConfigError) as caught:
        parse_smtp_url(url)
    message = str(caught.value)
    assert "MNAAS_SMTP_URL" in message and problem in message
    assert "Sup3rS3cr" not in message
    assert caught.value.key == "MNAAS_SMTP_URL"


def test_empty_url_is_an_error():
    with pytest.raises(ConfigError, match="MNAAS_SMTP_URL"):
        parse_smtp_url("  ")


def test_password_containing_at_sign_unencoded_is_still_masked():
    with pytest.raises(ConfigError) as caught:
        parse_smtp_url("smtp://svc:pa@ss@relay?bogus=1")
    assert "pa@ss" not in str(caught.value) and "ss@relay" not in str(caught.value)
