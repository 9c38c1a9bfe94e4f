"""Every exception the product raises on purpose, with the exit code the CLI maps it to.

Exit codes (contract §5): 0 run completed, 1 run failed, 2 usage or configuration error,
3 another run holds the lock, 4 the status file's flag holds the job.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_LOCKED = 3
EXIT_HELD = 4


class MnaasError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = EXIT_FAILED


class ConfigError(MnaasError):
    """The configuration is unusable; names the key and the file:line where it was set."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str, *, key: str | None = None, where: str | None = None):
        self.key = key
        self.where = where
        parts = [message]
        if key and key not in message:
            parts.append(f"(key {key})")
        if where:
            parts.append(f"at {where}")
        super().__init__(" ".join(parts))


class ConfigTypo(ConfigError):
    """The job's file sets keys the product does not know but that look like ones it does
    (contract §16): every one of them, one `file:line: unknown key …` line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} unknown key{'s' if len(problems) > 1 else ''}"
        super().__init__("\n".join([f"{count} in the job's configuration file:", *problems]))


class UsageError(MnaasError):
    """The command line is wrong (a bad date, a reversed range)."""

    exit_code = EXIT_CONFIG


class LockHeld(MnaasError):
    """Another run of this job holds the run lock."""

    exit_code = EXIT_LOCKED

    def __init__(self, message: str, holder: dict | None = None):
        self.holder = holder or {}
        super().__init__(message)


class LockUnavailable(MnaasError):
    """The lock service (Redis) could not be reached, so no run could safely start."""


class LockLost(MnaasError):
    """The run's lock expired or was taken by another run; this run must not write.
    `outcome`: what the run had done by then (finalize sets it: its report may have gone)."""

    outcome: object = None


class JobHeld(MnaasError):
    """The status file's flag is neither 0 nor 1: an operator holds the job."""

    exit_code = EXIT_HELD


class StatusFileError(MnaasError):
    """The status file cannot be read or written."""


class Transient:
    """Marks an error that retrying may fix; the one retry policy (core/retry.py) retries these
    and nothing else."""


class FileChanged(MnaasError):
    """A file shared with writers that take no lock (`sed -i`) changed since it was read, so
    it was not replaced; the caller reads it again and redoes its edit."""


class RunInterrupted(MnaasError):
    """SIGTERM or SIGINT stopped the run; it ends as `interrupted` (contract §13), exit 1."""


class WarehouseError(MnaasError):
    """A warehouse error that retrying cannot fix (missing table, bad SQL, bad credentials)."""


class TransientWarehouseError(Transient, WarehouseError):
    """A warehouse error worth retrying (connection refused or reset, timeout)."""


class EngineOutOfMemory(WarehouseError):
    """The embedded engine could not fit a query in its memory_limit: not worth retrying as
    it was, but the check asks again in a form the engine can spill to disk."""


class MailError(MnaasError):
    """An email could not be delivered; `saved_to` names the outbox copy, if one was kept."""

    def __init__(self, message: str, saved_to: str | None = None):
        self.saved_to = saved_to
        super().__init__(message)


class TransientMailError(Transient, MailError):
    """A delivery error worth retrying (server down, connection reset, 4xx reply)."""


class ReportError(MnaasError):
    """The report files could not be written; the previous reports are left intact."""


class KerberosTicketMissing(WarehouseError):
    """GSSAPI found no valid ticket (none, ended, or the keytab cannot give one): retrying
    cannot fix it; the message names MNAAS_KERBEROS_KEYTAB and `kinit -kt`."""


class KerberosServiceUnknown(WarehouseError):
    """The KDC does not know the service principal asked for (kerberos_service_name and
    krb_host of the warehouse URL): a configuration error, never retried."""

    exit_code = EXIT_CONFIG


class MessageFormatError(MnaasError):
    """A task message or a stored plan is not in a format this version reads (an unknown
    `version`, a missing field): named with what it is and where it came from."""


class GroupsFailed(MnaasError):
    """A group task's groups failed after their retries. Raised by the task after it recorded
    every result in the run state, so Flower shows the task FAILURE with the first error and
    the chord ends the run through its error callback (contract §15)."""
