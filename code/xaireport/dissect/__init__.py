"""CLIP-Dissect (Oikarinen & Weng, ICLR 2023) on torch and open_clip_torch.

``similarity``: the similarity functions; ``concepts``: concept sets; ``probe``: probe image sets;
``encoders``: CLIP and activation forward passes; ``run``: the cached pipeline.
"""
from __future__ import annotations

from .concepts import load_concepts, read_concept_file
from .probe import ProbeSet, load_probe
from .run import ModelDissection, dissect
from .similarity import SIMILARITIES, cos_similarity, cos_similarity_cubed, describe, soft_wpmi, wpmi

__all__ = ["SIMILARITIES", "ModelDissection", "ProbeSet", "cos_similarity", "cos_similarity_cubed", "describe",
           "dissect", "load_concepts", "load_probe", "read_concept_file", "soft_wpmi", "wpmi"]
