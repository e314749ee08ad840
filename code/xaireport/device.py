"""Choosing the torch device: the GPU when there is one, every CPU core otherwise."""
from __future__ import annotations

import os

import torch

from .errors import UserError


def resolve(device: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on.

    Args:
        device: ``"auto"``/``None`` (CUDA if available, else Apple MPS, else CPU), or any torch device
            string such as ``"cpu"``, ``"cuda"``, ``"cuda:1"``.

    Raises:
        UserError: the named device does not exist on this machine.
    """
    if isinstance(device, torch.device):
        return device
    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        _use_all_cores()
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but CUDA is not available here: use --device cpu or auto")
    if dev.type == "cpu":
        _use_all_cores()
    return dev


def _use_all_cores() -> None:
    n = os.cpu_count() or 1
    if torch.get_num_threads() < n:
        torch.set_num_threads(n)
