"""Forward passes over the probe set: CLIP image and text embeddings, and unit activations of a classifier.

A conv unit's activation on an image is the spatial mean of its feature map (forward hooks, as in the paper's
code); a linear layer's units (``fc``) are its outputs. One pass over the probe images computes whatever is
needed (CLIP and any number of classifiers), each image decoded once, in DataLoader worker processes.
On a GPU, CLIP runs under float16 autocast (its embeddings are only compared by cosine similarity); the
dissected classifiers run in float32, as in the authors' code, since half precision can swap near-tied images
at the top-k boundary of a unit's ranking. ``autocast=True`` opts the classifiers into float16 too.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from xaireport.core import progress
from xaireport.core.cache import file_digest
from xaireport.core.device import resolve
from xaireport.core.errors import UserError
from xaireport.images import ImageError, read_image
from xaireport.models import Classifier


@dataclass
class Clip:
    """An open_clip model with its image preprocessing and tokenizer."""

    arch: str
    model: Any  # open_clip's CLIP (encode_image, encode_text)
    preprocess: Callable
    tokenizer: Callable
    device: torch.device
    identity: str  # part of cache keys: arch + weights


def load_clip(
    arch: str = "ViT-B-16",
    pretrained: str | None = "openai",
    weights: str | Path | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> Clip:
    """Load an open_clip model.

    Args:
        arch: an open_clip architecture (``open_clip.list_models()``), e.g. ``ViT-B-16``.
        pretrained: an open_clip pretrained tag (``openai``, ``laion2b_s34b_b88k``, ...), or ``none`` for
            random weights (plumbing checks only).
        weights: a local checkpoint file instead of the download (for the ``openai`` tag: the
            ``open_clip_pytorch_model.bin`` of ``timm/vit_base_patch16_clip_224.openai``, or OpenAI's ``.pt``).
    """
    import open_clip

    check_clip_name(arch, pretrained)
    dev = resolve(device)
    tag = None if pretrained in (None, "", "none") else pretrained
    cfg = open_clip.get_pretrained_cfg(arch, tag) if tag else {}
    quick_gelu = bool(cfg.get("quick_gelu", False))
    if weights is not None:
        w = Path(weights).expanduser()
        if not w.is_file():
            raise UserError(f"{w}: CLIP weights file not found: check dissection.clip.weights / --clip-weights")
        source, identity = str(w), f"{arch}:{file_digest(w)}"
    elif tag is None:
        torch.manual_seed(seed)
        source, identity = None, f"{arch}:random-{seed}"
    else:
        source, identity = tag, f"{arch}:{tag}"
    try:
        with _quiet_logging(tag is None and weights is None):  # open_clip warns that random init is random
            model, _, preprocess = open_clip.create_model_and_transforms(
                arch, pretrained=source, device=dev, force_quick_gelu=quick_gelu
            )
    except Exception as exc:  # noqa: BLE001 - download/load failures are the same user problem
        if weights is not None:
            raise UserError(
                f"{weights}: cannot be loaded as {arch} CLIP weights ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]})"
            ) from exc
        where = f"https://huggingface.co/{cfg.get('hf_hub', '').rstrip('/')}" if cfg.get("hf_hub") else cfg.get("url")
        raise UserError(
            f"cannot download CLIP {arch} '{tag}' weights ({type(exc).__name__}): download "
            f"open_clip_pytorch_model.bin from {where} (or {cfg.get('url')}) on a machine with internet "
            "and set dissection.clip.weights (or --clip-weights) to the file"
        ) from exc
    model.eval()
    return Clip(arch, model, preprocess, open_clip.get_tokenizer(arch), dev, identity)


def check_clip_name(arch: str, pretrained: str | None) -> None:
    """Fail before any download on an unknown open_clip architecture or pretrained tag."""
    import open_clip

    if arch not in open_clip.list_models():
        close = difflib.get_close_matches(arch, open_clip.list_models(), n=3)
        raise UserError(
            f"unknown CLIP architecture {arch!r}: e.g. {', '.join(close) or 'ViT-B-16'} (see open_clip.list_models())"
        )
    tag = None if pretrained in (None, "", "none") else pretrained
    if tag is not None and tag not in open_clip.list_pretrained_tags_by_model(arch):
        raise UserError(
            f"unknown pretrained tag {tag!r} for {arch}: choose from "
            f"{', '.join(open_clip.list_pretrained_tags_by_model(arch))} or none"
        )


@contextlib.contextmanager
def _quiet_logging(on: bool):
    import logging

    root = logging.getLogger()
    level = root.level
    if on:
        root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def embed_texts(clip: Clip, concepts: list[str], batch_size: int = 256) -> torch.Tensor:
    """L2-normalised CLIP text embeddings of the plain concept words (no prompt template), M × D."""
    out = []
    with torch.inference_mode(), _autocast(clip.device):
        for i in progress.bar(range(0, len(concepts), batch_size), desc="CLIP text", unit="batch"):
            tokens = clip.tokenizer(concepts[i : i + batch_size]).to(clip.device)
            out.append(clip.model.encode_text(tokens).float())
    feats = torch.cat(out)
    return (feats / feats.norm(dim=-1, keepdim=True)).cpu()


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def target_transform(classifier: Classifier) -> Callable:
    """The classifier's preprocessing as a torchvision transform (same as ``Classifier.preprocess``)."""
    interpolation = transforms.InterpolationMode(classifier.interpolation)
    return transforms.Compose(
        [
            transforms.Resize(classifier.resize_to, interpolation=interpolation),
            transforms.CenterCrop(classifier.crop_size),
            transforms.ToTensor(),
            transforms.Normalize(classifier.mean, classifier.std),
        ]
    )


class _Probe(Dataset):
    def __init__(self, paths: tuple[Path, ...], tfs: list[Callable]):
        self.paths, self.tfs = paths, tfs

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from PIL import Image

        try:
            arr, _ = read_image(self.paths[i])
        except ImageError as exc:
            raise UserError(f"{self.paths[i]}: {exc}") from exc
        img = Image.fromarray(arr)
        return tuple(tf(img) for tf in self.tfs)


def _hook(store: list):
    def hook(_module, _inp, output):
        out = output.mean(dim=(2, 3)) if output.dim() == 4 else output
        store.append(out.detach().float().cpu())

    return hook


def encode_probe(
    paths: tuple[Path, ...],
    clip: Clip | None,
    targets: dict[str, tuple[Classifier, list[str]]],
    batch_size: int = 64,
    num_workers: int = 2,
    autocast: bool = False,
) -> tuple[torch.Tensor | None, dict[str, dict[str, torch.Tensor]]]:
    """One pass over the probe images.

    Args:
        paths: probe image files.
        clip: compute its L2-normalised image embeddings (N × D), or ``None`` to skip.
        targets: name → (classifier, layer names such as ``layer4`` or ``fc``); each layer gives N × K.
        autocast: run the classifiers under float16 autocast on a GPU (default float32, as the authors).

    Returns:
        (clip image features or None, {name: {layer: activations}}).
    """
    tfs = ([clip.preprocess] if clip else []) + [target_transform(c) for c, _ in targets.values()]
    loader = DataLoader(
        _Probe(paths, tfs),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=any(c.device.type == "cuda" for c, _ in targets.values()),
    )
    stores: dict[str, dict[str, list]] = {n: {layer: [] for layer in layers} for n, (_, layers) in targets.items()}
    handles = []
    for n, (c, layers) in targets.items():
        modules = dict(c.model.named_modules())
        for layer in layers:
            if layer not in modules:
                raise UserError(
                    f"{c.name} has no layer {layer!r}: choose from "
                    f"{', '.join(k for k in modules if k and '.' not in k)}"
                )
            handles.append(modules[layer].register_forward_hook(_hook(stores[n][layer])))
    image_feats = []
    try:
        with torch.inference_mode():
            for batch in progress.bar(_one_line_errors(loader), desc="probe images", unit="batch", total=len(loader)):
                batch = list(batch)
                if clip is not None:
                    x = batch.pop(0).to(clip.device, non_blocking=True)
                    with _autocast(clip.device):
                        f = clip.model.encode_image(x).float()
                    image_feats.append((f / f.norm(dim=-1, keepdim=True)).cpu())
                for (c, _), x in zip(targets.values(), batch):
                    x = x.to(c.device, non_blocking=True)
                    if c.device.type == "cpu":
                        x = x.contiguous(memory_format=torch.channels_last)
                    with _autocast(c.device) if autocast else contextlib.nullcontext():
                        c.model(x)
    finally:
        for h in handles:
            h.remove()
    acts = {n: {layer: torch.cat(v) for layer, v in d.items()} for n, d in stores.items()}
    return (torch.cat(image_feats) if clip is not None else None), acts


def _one_line_errors(loader: DataLoader):
    """Iterate a DataLoader; a :class:`UserError` raised in a worker process comes back as the one-line error it
    is (PyTorch re-raises it with the worker's whole traceback in the message)."""
    it = iter(loader)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except UserError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            last = lines[-1] if lines else str(exc)
            raise UserError(last.split("UserError: ", 1)[-1]) from None
        yield batch


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.numpy().astype(np.float32)
