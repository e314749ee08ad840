"""On-disk result cache, keyed by everything a result depends on.

A key is the SHA-256 of a canonical JSON document holding the caller's parts (settings, weights digest, image
digest, ...) and :func:`code_version` (a digest of this package's source), so editing any of those gives a new
key and a stale entry is never read. Entries are ``.npz`` files holding arrays plus a JSON ``__meta__``
record, written to a temporary file in the same folder and renamed into place (atomic on POSIX and Windows).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of every ``.py`` file of the package: any code change invalidates every cached result."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        h.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, remembered per (path, size, mtime) so a weights file is hashed once."""
    p = Path(path).resolve()
    st = p.stat()
    memo = (str(p), st.st_size, st.st_mtime_ns)
    if memo not in _FILE_DIGESTS:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _FILE_DIGESTS[memo] = h.hexdigest()
    return _FILE_DIGESTS[memo]


def make_key(**parts: Any) -> str:
    """Hash of ``parts`` (JSON-serialisable) plus the package's code version."""
    doc = json.dumps({"code": code_version(), **parts}, sort_keys=True, default=_jsonable)
    return hashlib.sha256(doc.encode()).hexdigest()[:32]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (Path,)):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"cannot put {type(obj).__name__} into a cache key")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class ResultCache:
    """Arrays and metadata under ``root/<kind>/<key>.npz``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npz"

    def load(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The stored (arrays, meta), or ``None`` when absent or unreadable (an unreadable entry is recomputed)."""
        p = self.path(kind, key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
                meta = json.loads(str(npz["__meta__"]))
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None
        return arrays, meta

    def save(self, kind: str, key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
        """Write atomically: temp file in the same folder, then ``os.replace``."""
        p = self.path(kind, key)
        p.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps(meta, default=_jsonable)), **arrays)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=p.parent)
        try:
            os.chmod(tmp, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as fh:
                fh.write(buf.getvalue())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p

    def get_or_compute(self, kind: str, key: str,
                       compute: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]]
                       ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        hit = self.load(kind, key)
        if hit is not None:
            return hit
        arrays, meta = compute()
        self.save(kind, key, arrays, meta)
        return arrays, meta
