"""How the report files ride on the email: as they are, gzip-compressed above
MNAAS_MAIL_GZIP_ABOVE, or — when even that would exceed the relay's MNAAS_MAIL_MAX_BYTES —
not at all, the email naming where they are instead. A large day's TXT lists a million names
(~40 MB): attached raw it would be refused by most relays, and the day's one email lost."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Attachment:
    path: Path
    filename: str
    data: bytes
    gzipped: bool

    def encoded_size(self) -> int:
        # base64: 4 bytes per 3, in 76-character lines ending CRLF, plus the part's headers
        return -(-len(self.data) // 3) * 4 * 78 // 76 + 300


def make_attachment(path: Path, gzip_above: int) -> Attachment:
    if path.stat().st_size <= gzip_above:
        return Attachment(path, path.name, path.read_bytes(), False)
    buffer = io.BytesIO()
    # mtime=0: the same report compresses to the same bytes (a resent email is identical).
    # Level 1: on a large day's TXT (38 MB) it took 0.23 s for 3.1 MB where 6 took 0.88 s for
    # 2.4 MB (and gzip's default 9, 3.3 s): both far below a relay's limit.
    with (
        open(path, "rb") as source,
        gzip.GzipFile(filename=path.name, mode="wb", fileobj=buffer, mtime=0, compresslevel=1) as packed,
    ):
        while chunk := source.read(1 << 20):
            packed.write(chunk)
    return Attachment(path, f"{path.name}.gz", buffer.getvalue(), True)


def body_size(text: str, page: str) -> int:
    # quoted-printable or base64 of each body, with headers: a generous upper bound
    return (len(text.encode("utf-8")) + len(page.encode("utf-8"))) * 4 // 3 + 4096


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


_WHAT = (
    "one row per process and customer",
    "one missing customer file name per line",
    "one row per file of an earlier day still missing (outstanding)",
)


def files_note(files, attached, too_large) -> list[str]:
    if attached is None:
        size, limit = too_large
        return [
            f"The reports are NOT attached: with them this email would be about "
            f"{megabytes(size)}, above the mail relay's limit of {megabytes(limit)} "
            "(MNAAS_MAIL_MAX_BYTES). They are on the host that wrote them:"
        ] + [f"  {path}  {what}" for path, what in zip(files, _WHAT)]
    lines = ["Attached:"]
    for item, what in zip(attached, _WHAT):
        packed = f" (gzip-compressed; {megabytes(item.path.stat().st_size)} uncompressed)" if item.gzipped else ""
        lines.append(f"  {item.filename}  {what}{packed}")
    return lines
