"""The two GSSAPI calls the `kerberos` package does not offer: acquire an initiator credential
(for a given principal or the default one) and read its principal and remaining lifetime.

Through ctypes on MIT's libgssapi_krb5 (the library the `kerberos` package links against).
With MIT's client keytab initiation (KRB5_CLIENT_KTNAME), acquiring the credential is what
gets a ticket from the keytab, or a fresh one when the cached ticket has passed half its life
or ended; without a client keytab it only reads the credential cache.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

GSS_C_INDEFINITE = 0xFFFFFFFF
GSS_C_INITIATE = 1
GSS_C_GSS_CODE, GSS_C_MECH_CODE = 1, 2
_LIBRARY = "libgssapi_krb5.so.2"


class _Buffer(ctypes.Structure):
    _fields_ = [("length", ctypes.c_size_t), ("value", ctypes.c_void_p)]


class GssFailure(Exception):
    """A failed GSSAPI call: the major (GSS) and minor (Kerberos) codes and their texts, as
    the `kerberos` package's GSSError carries them."""

    def __init__(self, major: int, major_text: str, minor: int, minor_text: str):
        super().__init__(major, major_text, minor, minor_text)
        self.major, self.major_text, self.minor, self.minor_text = major, major_text, minor, minor_text

    def __str__(self) -> str:
        return f"{self.major_text}: {self.minor_text}"


@dataclass(frozen=True)
class Credential:
    principal: str  # name@REALM
    lifetime: int  # seconds left; 0 when the ticket has ended


_lib: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            _lib = ctypes.CDLL(_LIBRARY)
        except OSError:
            raise GssFailure(0, "the Kerberos library is not installed", 0, f"{_LIBRARY} not found") from None
    return _lib


def _text(lib: ctypes.CDLL, code: int, kind: int) -> str:
    minor, context, out = ctypes.c_uint32(), ctypes.c_uint32(0), _Buffer()
    lib.gss_display_status(
        ctypes.byref(minor), ctypes.c_uint32(code), kind, None, ctypes.byref(context), ctypes.byref(out)
    )
    try:
        return ctypes.string_at(out.value, out.length).decode(errors="replace") if out.value else ""
    finally:
        lib.gss_release_buffer(ctypes.byref(minor), ctypes.byref(out))


def _check(lib: ctypes.CDLL, major: int, minor: ctypes.c_uint32) -> None:
    if major & 0xFFFF0000:  # routine or calling errors; the low bits are informational
        code = ctypes.c_int32(minor.value).value  # Kerberos error codes are negative com_err codes
        raise GssFailure(major, _text(lib, major, GSS_C_GSS_CODE), code, _text(lib, minor.value, GSS_C_MECH_CODE))


def acquire_credential(principal: str | None = None) -> Credential:
    """An initiator credential of `principal` (default: the cache's, else the client keytab's
    first), with its full name and remaining lifetime. Raises GssFailure."""
    lib = _library()
    minor = ctypes.c_uint32()
    name, cred, out_name = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    try:
        if principal:
            raw = principal.encode()
            buffer = _Buffer(len(raw), ctypes.cast(ctypes.c_char_p(raw), ctypes.c_void_p))
            kind = ctypes.c_void_p.in_dll(lib, "GSS_KRB5_NT_PRINCIPAL_NAME")
            _check(lib, lib.gss_import_name(ctypes.byref(minor), ctypes.byref(buffer), kind, ctypes.byref(name)), minor)
        lifetime = ctypes.c_uint32()
        major = lib.gss_acquire_cred(
            ctypes.byref(minor),
            name,
            ctypes.c_uint32(GSS_C_INDEFINITE),
            None,
            GSS_C_INITIATE,
            ctypes.byref(cred),
            None,
            ctypes.byref(lifetime),
        )
        _check(lib, major, minor)
        major = lib.gss_inquire_cred(ctypes.byref(minor), cred, ctypes.byref(out_name), None, None, None)
        if major & 0xFFFF0000:  # an ended ticket: MIT acquires it but cannot inquire it
            return Credential(principal or "", 0)
        shown = _Buffer()
        _check(lib, lib.gss_display_name(ctypes.byref(minor), out_name, ctypes.byref(shown), None), minor)
        try:
            full = ctypes.string_at(shown.value, shown.length).decode(errors="replace")
        finally:
            lib.gss_release_buffer(ctypes.byref(minor), ctypes.byref(shown))
        return Credential(full, lifetime.value if lifetime.value != GSS_C_INDEFINITE else 0)
    finally:
        for handle, release in ((name, "gss_release_name"), (out_name, "gss_release_name"), (cred, "gss_release_cred")):
            if handle.value:
                getattr(lib, release)(ctypes.byref(minor), ctypes.byref(handle))
