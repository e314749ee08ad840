"""Downloads of weights and data files, with a checksum and an offline-friendly error.

Every file lands in the torch hub checkpoints folder (``$TORCH_HOME/hub/checkpoints``); without network the
error names the URL and the exact path to place the file at by hand.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

from xaireport.core.errors import UserError


def download(url: str, filename: str | None = None, hash_prefix: str | None = None) -> Path:
    """Return the cached copy of ``url`` in the torch hub checkpoints folder, downloading it if needed.

    Raises:
        UserError: no network (or the server failed): names the URL and where to place the file by hand.
    """
    import torch

    dest = Path(torch.hub.get_dir()) / "checkpoints" / (filename or url.rsplit("/", 1)[-1])
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(dest), hash_prefix=hash_prefix, progress=True)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise UserError(
            f"cannot download {url} ({reason}): download it on a machine with internet and place it "
            f"at {dest}, or pass a local file (--weights / the weights setting)"
        ) from exc
    except RuntimeError as exc:  # hash mismatch
        raise UserError(f"{url}: downloaded file failed its checksum ({exc}); delete {dest} and retry") from exc
    return dest
