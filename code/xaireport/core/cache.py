"""On-disk result cache, keyed by everything a result depends on.

A key is the SHA-256 of a canonical JSON document holding the caller's parts (settings, weights digest, image
digest, ...) and the code version of the modules that compute the result, with everything they import
(:func:`xaireport.core.codegraph.code_version`), so editing any of those gives a new key and a stale entry is
never read, while editing unrelated code (a chapter, the CLI, another method) keeps every other result. Entries
are ``.npz`` files holding arrays plus a JSON ``__meta__`` record, written to a temporary file in the same folder
and renamed into place (atomic on POSIX and Windows).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from xaireport.core.codegraph import code_version
from xaireport.core.fileio import write_bytes


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


def make_key(*, code: str | tuple[str, ...], **parts: Any) -> str:
    """Hash of ``parts`` (JSON-serialisable) plus the version of the code that computes the result: ``code``
    names the computing module(s) (``__name__`` of the caller, a method's implementation module), and their whole
    import closure counts (:func:`~xaireport.core.codegraph.code_version`)."""
    modules = (code,) if isinstance(code, str) else code
    doc = json.dumps({"code": code_version(*modules), **parts}, sort_keys=True, default=_jsonable)
    return hashlib.sha256(doc.encode()).hexdigest()[:32]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (Path,)):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"cannot put {type(obj).__name__} into a cache key")


_ARRAYS = "__arrays__"  # meta key listing the entry's arrays, checked on load
_KEYS = "__meta_keys__"  # the metadata keys an entry was written with: one missing is a damaged entry
_WARNED: set[str] = set()


def _warn_damaged(path: Path, exc: BaseException) -> None:
    if str(path) in _WARNED:
        return
    _WARNED.add(str(path))
    reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    sys.stderr.write(
        f"xaireport: warning: damaged cache entry {path} ({type(exc).__name__}: {reason}); recomputing it\n"
    )


class ResultCache:
    """Arrays and metadata under ``root/<kind>/<key>.npz``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npz"

    def load(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The stored (arrays, meta), or ``None`` when absent or damaged.

        A damaged entry (truncated, zero bytes, not an npz, unreadable meta JSON, or arrays or metadata keys that
        do not match the lists it was written with) is a miss: the caller recomputes it and :meth:`save` replaces
        it; a warning naming the entry is printed once.
        """
        p = self.path(kind, key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
                meta = json.loads(str(npz["__meta__"]))
            if not isinstance(meta, dict):
                raise ValueError("meta is not a JSON object")
            names = meta.pop(_ARRAYS, None)
            if names is not None and sorted(names) != sorted(arrays):
                raise ValueError(f"arrays {sorted(arrays)} differ from the recorded {sorted(names)}")
            keys = meta.pop(_KEYS, None)
            if keys is not None and sorted(keys) != sorted(meta):
                raise ValueError(f"metadata keys {sorted(meta)} differ from the recorded {sorted(keys)}")
        except Exception as exc:  # noqa: BLE001 - any failure to read an entry completely is a damaged entry
            _warn_damaged(p, exc)
            return None
        return arrays, meta

    def save(self, kind: str, key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
        """Write atomically: temp file in the same folder, then ``os.replace`` (:func:`fileio.write_bytes`)."""
        p = self.path(kind, key)
        buf = io.BytesIO()
        record = {**meta, _ARRAYS: sorted(arrays), _KEYS: sorted(meta)}
        payload: dict[str, Any] = {"__meta__": np.array(json.dumps(record, default=_jsonable)), **arrays}
        np.savez(buf, **payload)
        write_bytes(p, buf.getvalue())
        return p

    def get_or_compute(
        self, kind: str, key: str, compute: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]]
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        hit = self.load(kind, key)
        if hit is not None:
            return hit
        arrays, meta = compute()
        self.save(kind, key, arrays, meta)
        return arrays, meta
