"""A real HiveServer2 endpoint for tests: the Spark Thrift Server shipped in the pyspark wheel.

It speaks the protocol Impala's HS2 port speaks, so impyla talks to it exactly as it talks
to Impala in production. Everything it writes (warehouse, Derby metastore, scratch dirs,
logs) stays in the directory it is given. Authentication:
- "NOSASL": no SASL layer (hive.server2.authentication=NOSASL).
- "PLAIN": SASL PLAIN. With `passwords` ({user: password}) the server checks them through a
  small Java provider compiled here (hs2_auth/FixedPasswords.java, hive.server2.authentication
  =CUSTOM) and refuses anything else; without, it accepts any user and password (NONE).
TLS: pass a Java keystore (see `make_tls_material`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
PASSWORD_PROVIDER = "mnaas.test.FixedPasswords"
PASSWORD_PROVIDER_SOURCE = Path(__file__).parent / "hs2_auth" / "FixedPasswords.java"

# contract §2 tables, in column order, with Hive/Impala types.
TABLES: dict[str, list[tuple[str, str]]] = {
    "kpi_measurement": [
        ("kpi_date", "STRING"),
        ("process_name", "STRING"),
        ("customer_name", "STRING"),
        ("kpi_name", "STRING"),
        ("kpi_value", "BIGINT"),
    ],
    "telena_file_record_count": [
        ("file_date", "STRING"),
        ("process_name", "STRING"),
        ("customer_name", "STRING"),
        ("filename", "STRING"),
        ("record_count", "BIGINT"),
    ],
    "customers_files_records_count": [
        ("file_date", "STRING"),
        ("process_name", "STRING"),
        ("customer_name", "STRING"),
        ("source_filename", "STRING"),
        ("customer_filename", "STRING"),
        ("record_count", "BIGINT"),
    ],
}
DATABASE = "mnaas"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _java_escape(text: str) -> str:
    """`text` for a Java .properties file: every character but ASCII letters and digits as \\uXXXX."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"\\u{ord(ch):04x}" for ch in text)


def java_home() -> str:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("no java on PATH: the Spark Thrift Server needs Java 17")
    return str(Path(java).resolve().parent.parent)


@dataclass(frozen=True)
class TlsMaterial:
    keystore: Path  # PKCS12, for the server
    keystore_password: str
    ca_cert: Path  # PEM, for the client


def make_tls_material(directory: Path, host_ip: str = "127.0.0.1") -> TlsMaterial:
    """A self-signed server certificate for `host_ip` (keytool), and its PEM for clients."""
    directory.mkdir(parents=True, exist_ok=True)
    keytool = str(Path(java_home()) / "bin" / "keytool")
    keystore = directory / "server.p12"
    ca_cert = directory / "server.pem"
    password = "keystore-secret"
    subprocess.run(
        [
            keytool,
            "-genkeypair",
            "-alias",
            "hs2",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-validity",
            "2",
            "-dname",
            "CN=localhost",
            "-ext",
            f"SAN=ip:{host_ip},dns:localhost",
            "-storetype",
            "PKCS12",
            "-keystore",
            str(keystore),
            "-storepass",
            password,
            "-keypass",
            password,
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            keytool,
            "-exportcert",
            "-rfc",
            "-alias",
            "hs2",
            "-keystore",
            str(keystore),
            "-storetype",
            "PKCS12",
            "-storepass",
            password,
            "-file",
            str(ca_cert),
        ],
        check=True,
        capture_output=True,
    )
    return TlsMaterial(keystore, password, ca_cert)


class SparkThriftServer:
    """One Spark Thrift Server process on 127.0.0.1:`port`, state kept under `workdir`."""

    def __init__(
        self,
        workdir: Path,
        *,
        auth: str = "NOSASL",
        tls: TlsMaterial | None = None,
        port: int | None = None,
        passwords: dict[str, str] | None = None,
    ):
        if auth not in ("NOSASL", "PLAIN"):
            raise ValueError(f"unsupported auth {auth!r}")
        if passwords and auth != "PLAIN":
            raise ValueError("passwords are checked only with PLAIN")
        self.workdir = Path(workdir)
        self.auth = auth
        self.tls = tls
        self.passwords = dict(passwords or {})
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.process: subprocess.Popen | None = None
        self.startup_seconds: list[float] = []
        self.log_path = self.workdir / "thriftserver.log"

    # -- lifecycle --------------------------------------------------------------------------

    def _command(self) -> list[str]:
        w = self.workdir
        hive = {
            "hive.server2.thrift.port": str(self.port),
            "hive.server2.thrift.bind.host": self.host,
            "hive.server2.transport.mode": "binary",
            "hive.server2.authentication": (
                "NOSASL" if self.auth == "NOSASL" else "CUSTOM" if self.passwords else "NONE"
            ),
            "hive.server2.enable.doAs": "false",
            "hive.exec.scratchdir": str(w / "scratch"),
            "hive.exec.local.scratchdir": str(w / "local-scratch"),
            # One directory per session, as Hive's default does: a closing session deletes its
            # resources directory, so a shared one breaks sessions opening at the same moment.
            "hive.downloaded.resources.dir": f"{w / 'resources'}/${{hive.session.id}}_resources",
            "hive.server2.logging.operation.log.location": str(w / "operation-logs"),
        }
        if self.passwords:
            hive["hive.server2.custom.authentication.class"] = PASSWORD_PROVIDER
        if self.tls is not None:
            hive.update(
                {
                    "hive.server2.use.SSL": "true",
                    "hive.server2.keystore.path": str(self.tls.keystore),
                    "hive.server2.keystore.password": self.tls.keystore_password,
                }
            )
        conf = {
            "spark.ui.enabled": "false",
            # GetOperationStatus blocks up to this long while a query runs (Hive's default: 5 s).
            # Only the session's Hadoop conf reaches it; --hiveconf does not.
            "spark.hadoop.hive.server2.long.polling.timeout": "500ms",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.warehouse.dir": str(w / "warehouse"),
            "spark.local.dir": str(w / "spark-local"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={w / 'metastore_db'};create=true",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={w / 'derby'} -Djava.io.tmpdir={w / 'tmp'} "
            f"-Dmnaas.test.passwords={w / 'passwords.properties'} "
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss4m",
        }
        if self.passwords:
            conf["spark.driver.extraClassPath"] = str(w / "auth-classes")
        command = [
            str(SPARK_HOME / "bin" / "spark-submit"),
            "--class",
            THRIFT_SERVER_CLASS,
            "--master",
            "local[2]",
            "--driver-memory",
            "512m",
            "--name",
            "mnaas-hs2-test",
        ]
        for key, value in conf.items():
            command += ["--conf", f"{key}={value}"]
        command.append("spark-internal")
        for key, value in hive.items():
            command += ["--hiveconf", f"{key}={value}"]
        return command

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            JAVA_HOME=java_home(),
            SPARK_HOME=str(SPARK_HOME),
            SPARK_LOCAL_IP=self.host,
            SPARK_CONF_DIR=str(self.workdir / "conf"),
            SPARK_LOG_DIR=str(self.workdir),
            SPARK_PID_DIR=str(self.workdir),
        )
        env.pop("PYSPARK_SUBMIT_ARGS", None)
        return env

    def start(self, timeout: float = 120.0) -> float:
        """Start the server and wait until a query works; returns the seconds it took."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("already running")
        for sub in ("conf", "tmp", "scratch", "local-scratch", "resources", "spark-local", "derby"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        if self.passwords:
            self._build_password_provider()
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                cwd=self.workdir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(began + timeout)
        elapsed = time.monotonic() - began
        self.startup_seconds.append(elapsed)
        return elapsed

    def _build_password_provider(self) -> None:
        classes = self.workdir / "auth-classes"
        jars = SPARK_HOME / "jars"
        subprocess.run(
            [
                str(Path(java_home()) / "bin" / "javac"),
                "-d",
                str(classes),
                "-cp",
                f"{jars / '*'}",
                str(PASSWORD_PROVIDER_SOURCE),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        lines = [f"{_java_escape(user)}={_java_escape(password)}" for user, password in self.passwords.items()]
        (self.workdir / "passwords.properties").write_text("\n".join(lines) + "\n", encoding="ascii")

    def _wait_ready(self, deadline: float) -> None:
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Spark Thrift Server exited with {self.process.returncode}:\n{self.log_tail()}")
            if self._port_open():
                try:
                    self.execute("SELECT 1")
                    return
                except Exception as exc:  # not serving sessions yet
                    last_error = exc
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"Spark Thrift Server not ready in time ({last_error!r}):\n{self.log_tail()}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 30.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # The JVM is the leader of its own session (start_new_session): signal only that group.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        deadline = time.monotonic() + 10
        while self._port_open() and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> float:
        """Stop and start again on the same port, keeping the loaded tables (Derby + files)."""
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- client side ------------------------------------------------------------------------

    def url(self, **params: str) -> str:
        """impala://127.0.0.1:PORT?auth_mechanism=... for the product's MNAAS_WAREHOUSE_URL."""
        query = {"auth_mechanism": self.auth}
        if self.tls is not None:
            query.update(use_ssl="1", ca_cert=str(self.tls.ca_cert))
        query.update(params)
        user = ""
        if self.auth == "PLAIN":
            user = "loader:loader-password@"
        return f"impala://{user}{self.host}:{self.port}?" + "&".join(f"{k}={v}" for k, v in query.items())

    def connect(self, timeout: float = 10.0):
        from impala.dbapi import connect

        kwargs = dict(host=self.host, port=self.port, timeout=timeout, retries=1, auth_mechanism=self.auth)
        if self.auth == "PLAIN":
            kwargs.update(user="loader", password="loader-password")
        if self.tls is not None:
            kwargs.update(use_ssl=True, ca_cert=str(self.tls.ca_cert))
        return connect(**kwargs)

    def execute(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        conn = self.connect()
        try:
            cursor = conn.cursor(user="loader")
            try:
                cursor.execute(sql, list(params) if params else None, configuration={"paramstyle": "qmark"})
                return cursor.fetchall() if cursor.has_result_set else []
            finally:
                cursor.close()
        finally:
            conn.close()

    def load(self, rows: dict[str, Iterable[tuple]], batch: int = 5000, database: str = DATABASE) -> None:
        """(Re)create `database` (default mnaas) with the contract §2 tables holding exactly `rows`."""
        conn = self.connect(timeout=120)
        try:
            cursor = conn.cursor(user="loader")
            try:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
                for table, columns in TABLES.items():
                    name = f"{database}.{table}"
                    cursor.execute(f"DROP TABLE IF EXISTS {name}")
                    cols = ", ".join(f"{c} {t}" for c, t in columns)
                    cursor.execute(f"CREATE TABLE {name} ({cols}) USING parquet")
                    data = list(rows.get(table, ()))
                    marks = "(" + ", ".join("?" for _ in columns) + ")"
                    for start in range(0, len(data), batch):
                        chunk = data[start : start + batch]
                        sql = f"INSERT INTO {name} VALUES " + ", ".join(marks for _ in chunk)
                        params = [value for row in chunk for value in row]
                        cursor.execute(sql, params, configuration={"paramstyle": "qmark"})
            finally:
                cursor.close()
        finally:
            conn.close()
