"""What "changed nothing" means in the tests of doctor and shadow runs (contract §16)."""

from __future__ import annotations

from pathlib import Path


def snapshot(*roots: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `roots`: its content, inode and modification time (ns). Equal
    snapshots: no file changed, was replaced, or was left behind."""
    files = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                files[str(path)] = (path.read_bytes(), stat.st_ino, stat.st_mtime_ns)
    return files
