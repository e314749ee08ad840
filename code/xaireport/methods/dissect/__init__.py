"""CLIP-Dissect (Oikarinen & Weng, ICLR 2023) on torch and open_clip_torch.

``similarity``: the similarity functions; ``labels``: labelling units and the final-layer check; ``concepts``:
concept sets; ``probe``: probe image sets; ``encoders``: CLIP and activation forward passes;
``categories``: coarse categories of labels. The cached pipeline is :func:`xaireport.results.dissect`.
"""
