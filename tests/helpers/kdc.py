"""A real MIT Kerberos KDC on loopback for tests (Debian's krb5-kdc, krb5-admin-server).

Everything lives in one directory: krb5.conf (for clients, the Java server included),
kdc.conf, the database (`kdb5_util create -s`), the keytabs (`kadmin.local ktadd`) and the
KDC's log. `krb5kdc -n` runs in the foreground on a free port, UDP and TCP.

    kdc = KerberosKdc(tmp_path).start()
    keytab = kdc.add_principal("mnaas", max_life="1 minute")   # a keytab holding only it
    env = kdc.client_env(keytab=keytab)                        # KRB5_CONFIG (+ client keytab)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.helpers.tools import require_tool

REALM = "MNAAS.TEST"
_MASTER_PASSWORD = "kdc-master-password"  # the test database's stash key; nothing else uses it


def free_port_udp_and_tcp() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (the KDC listens on both)."""
    while True:
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class KerberosKdc:
    """One krb5kdc process for realm MNAAS.TEST on 127.0.0.1, state kept under `workdir`."""

    def __init__(self, workdir: Path, realm: str = REALM):
        self.workdir = Path(workdir)
        self.realm = realm
        self.port = free_port_udp_and_tcp()
        self.krb5_conf = self.workdir / "krb5.conf"
        self.kdc_conf = self.workdir / "kdc.conf"
        self.log_path = self.workdir / "kdc.log"
        self.process: subprocess.Popen | None = None
        self.startup_seconds = 0.0

    # -- files ------------------------------------------------------------------------------

    def _write_configuration(self) -> None:
        w, realm = self.workdir, self.realm
        w.mkdir(parents=True, exist_ok=True)
        # TCP first (udp_preference_limit=1): a stopped KDC is then "connection refused" at
        # once rather than a UDP timeout; rdns off: the tests name hosts as written.
        self.krb5_conf.write_text(
            f"""[libdefaults]
    default_realm = {realm}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    rdns = false
    udp_preference_limit = 1
    kdc_timeout = 2000
    max_retries = 1
    forwardable = false

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{self.port}
    }}

[domain_realm]
    localhost = {realm}
    .localhost = {realm}
"""
        )
        self.kdc_conf.write_text(
            f"""[kdcdefaults]
    kdc_ports = {self.port}
    kdc_tcp_ports = {self.port}

[realms]
    {realm} = {{
        database_name = {w / "principal"}
        key_stash_file = {w / "stash"}
        acl_file = {w / "kadm5.acl"}
        max_life = 10h
        max_renewable_life = 0
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{self.log_path}
"""
        )
        (w / "kadm5.acl").write_text("")

    def _env(self) -> dict[str, str]:
        return {**os.environ, "KRB5_CONFIG": str(self.krb5_conf), "KRB5_KDC_PROFILE": str(self.kdc_conf)}

    def _admin(self, *args: str) -> str:
        done = subprocess.run(
            [require_tool("kadmin.local", "krb5-admin-server"), "-r", self.realm, "-q", " ".join(args)],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0 or "error" in done.stderr.lower():
            raise RuntimeError(f"kadmin.local {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> KerberosKdc:
        """Create the database (first time) and start the KDC; waits until it answers."""
        began = time.monotonic()
        if not (self.workdir / "principal").exists():
            self._write_configuration()
            subprocess.run(
                [
                    require_tool("kdb5_util", "krb5-kdc"),
                    "create",
                    "-s",
                    "-r",
                    self.realm,
                    "-P",
                    _MASTER_PASSWORD,
                ],
                env=self._env(),
                check=True,
                capture_output=True,
                timeout=60,
            )
        with open(self.workdir / "krb5kdc.out", "ab") as out:
            self.process = subprocess.Popen(
                [require_tool("krb5kdc", "krb5-kdc"), "-n", "-r", self.realm],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"krb5kdc did not start:\n{self._log_tail()}")
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - began
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def _log_tail(self, lines: int = 30) -> str:
        texts = []
        for path in (self.workdir / "krb5kdc.out", self.log_path):
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)

    # -- principals -------------------------------------------------------------------------

    def principal(self, name: str) -> str:
        return f"{name}@{self.realm}"

    def add_principal(self, name: str, *, max_life: str | None = None, keytab: Path | None = None) -> Path:
        """Create `name` with a random key and export it to a keytab of its own (mode 0600)."""
        life = f'-maxlife "{max_life}" ' if max_life else ""
        self._admin(f"addprinc -randkey {life}{self.principal(name)}")
        keytab = keytab or self.workdir / f"{name.replace('/', '_')}.keytab"
        self._admin(f"ktadd -k {keytab} {self.principal(name)}")
        keytab.chmod(0o600)
        return keytab

    def client_env(self, *, keytab: Path | None = None, ccache: str | None = None) -> dict[str, str]:
        """Variables a Kerberos client process needs: this realm's krb5.conf, and optionally
        MIT's client keytab and a credential cache of its own."""
        env = {"KRB5_CONFIG": str(self.krb5_conf)}
        if keytab is not None:
            env["KRB5_CLIENT_KTNAME"] = str(keytab)
        if ccache is not None:
            env["KRB5CCNAME"] = ccache
        return env

    def __enter__(self) -> KerberosKdc:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
