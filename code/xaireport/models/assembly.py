"""A :class:`~xaireport.models.classifier.Classifier` around any ``nn.Module`` (:func:`assemble`): target layer,
head and token-to-grid reshape found by :mod:`~xaireport.models.anatomy`. The library families use it; so can a
plug-in's builder."""

from __future__ import annotations

from typing import Any

from xaireport.models.classifier import Classifier


def assemble(
    name: str,
    model: Any,
    weights_id: str,
    preprocessing: dict,
    categories: list[str] | None,
    label_set: str,
) -> Classifier:
    """A :class:`Classifier` around a library model: target layer, head and reshape found by
    :mod:`~xaireport.models.anatomy`; ``class i`` names when the library has none for its outputs."""
    import torch

    from xaireport.models import anatomy

    model.eval()
    size = int(preprocessing["crop_size"])
    layer = anatomy.find_target_layer(model, size)
    kind = anatomy.transformer_kind(model)

    parts = anatomy.splitter(layer, size)
    features, head = parts(model)
    if categories is None:
        with torch.no_grad():
            n = int(model(anatomy.example_input(model, size)).shape[1])
        categories = [f"class {i}" for i in range(n)]
    return Classifier(
        name=name,
        model=model,
        target_layer=model.get_submodule(layer),
        categories=categories,
        device=torch.device("cpu"),
        features=features,
        head=head,
        weights_id=weights_id,
        label_set=label_set,
        split=parts,
        reshape_transform=anatomy.reshape_for(model, kind, size),
        **preprocessing,
    )
