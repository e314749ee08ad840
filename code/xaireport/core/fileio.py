"""Writing outputs safely: every file through a temporary file in the same folder and an atomic rename, and
output paths checked for writability before any computation.

An interrupted run (Ctrl-C, a crash, a full disk) then leaves either the old file or the complete new one,
never a truncated file that looks valid by name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xaireport.core.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed onto ``path``. A full disk, a
    quota or a read-only file system is a :class:`UserError` naming the file (the temporary file is removed)."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        if exc.errno in _DISK_ERRORS:
            raise _disk_error(p, exc) from exc
        raise
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
            raise _disk_error(p, exc) from exc
        raise


#: Errors of the disk rather than of the program: a full disk, an exceeded quota, a read-only file system.
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def _disk_error(p: Path, exc: OSError) -> UserError:
    free = ""
    try:
        free = f"; {shutil.disk_usage(p.parent).free / 2**20:.0f} MB free there"
    except OSError:
        pass
    return UserError(f"{p}: cannot be written ({exc.strerror}{free}): free some space or choose another folder")


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def save_npy(path: str | os.PathLike, array: Any) -> Path:
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)
    return Path(path)


def save_npz(path: str | os.PathLike, compressed: bool = True, **arrays: Any) -> Path:
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        (np.savez_compressed if compressed else np.savez)(fh, **arrays)
    return Path(path)


def save_csv(frame: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """``DataFrame.to_csv`` through a temporary file (``index=False`` unless given). UTF-8; a file name that is not
    valid text (bytes the file system allows but UTF-8 does not) is written with backslash escapes, not an error
    after the work is done."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("encoding", "utf-8")
    kwargs.setdefault("errors", "backslashreplace")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)


def check_output_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check, before any computation and without creating anything, that ``path`` can be a folder of outputs:
    not a file, and its nearest existing folder writable (a probe file is created there and removed).

    Raises:
        UserError: one line naming the path, what is wrong and the option to change.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{p}: {option} must be a folder, and this is a file: choose another {option}")
    existing = next((q for q in (p, *p.parents) if q.exists()), Path("."))
    if not existing.is_dir():
        raise UserError(f"{p}: {option} cannot be created, {existing} is a file: choose another {option}")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UserError(
            f"{p}: {option} cannot be written ({existing}: {exc.strerror or exc}): choose a writable {option}"
        ) from exc
    return p


def check_output_file(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check that the file ``path`` can be written: not a folder, and its folder creatable and writable."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{p}: {option} must be a file, and this is a folder: name a file such as {p / 'iou.csv'}")
    check_output_folder(p.parent, option=option)
    return p
