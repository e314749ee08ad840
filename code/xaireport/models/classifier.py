"""The one interface every explained network has: :class:`Classifier` (a model, its preprocessing, its class
names, and where to explain it: the target layer, the head above it, and for transformers the reshape of tokens
into a 2-D grid)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn


@dataclass
class Classifier:
    """A classifier ready to explain.

    Attributes:
        name: the model name it was loaded by (``resnet50``, ``timm:convnext_atto``, ``torchvision:vgg11``, ...).
        model: the network, in eval mode, on ``device``.
        target_layer: the module whose output the CAMs weight: the last convolutional feature block
            (:mod:`xaireport.models.anatomy` says how it is found), or the setting ``classifier.target_layer``.
        categories: class names in output order.
        features: input batch → activations of ``target_layer`` (the part below it).
        head: activations of ``target_layer`` → logits (the part above it; ``head(features(x)) == model(x)``,
            checked when the model is loaded), or ``None`` when the network cannot be split there (vision
            transformers): AblationCAM then runs the ``grad-cam`` package's full re-run.
        weights_id: SHA-256 of the weights file (or of the loaded tensors), or ``random-<seed>``: part of every
            cache key.
        resize_to, crop_size, interpolation, mean, std: the model's own preprocessing (timm's pretrained config,
            torchvision's ``weights.transforms()``): shorter side to ``resize_to`` with ``interpolation``,
            centre crop ``crop_size``, normalise with ``mean``/``std``.
        label_set: ``imagenet-1k`` when the outputs are the ImageNet-1k classes (then
            :func:`xaireport.models.classnames.imagenet_descriptions` gives their full WordNet names), else
            ``places365`` or ``custom``.
        reshape_transform: activations (and gradients) of ``target_layer`` → N×C×H×W, for layers that are not
            already a feature map (ViT tokens, Swin's N×H×W×C); ``None`` for CNNs. Passed to ``grad-cam``.
        split: ``model -> (features, head)`` for another network of the same architecture (``with_model``).
    """

    name: str
    model: nn.Module
    target_layer: nn.Module
    categories: list[str]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    features: Callable[[torch.Tensor], torch.Tensor]
    head: Callable[[torch.Tensor], torch.Tensor] | None
    weights_id: str
    resize_to: int = 256
    crop_size: int = 224
    interpolation: str = "bilinear"
    label_set: str = "imagenet-1k"
    split: Callable[[Any], tuple[Callable, Callable | None]] | None = field(default=None, repr=False)
    reshape_transform: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)
    _mean_t: torch.Tensor = field(init=False, repr=False)
    _std_t: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import torch

        self._mean_t = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        self._std_t = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)

    @property
    def target_layer_name(self) -> str:
        """The dotted name of ``target_layer`` in ``model`` (``layer4.1``, ``blocks.11.norm1``)."""
        return next(n for n, m in self.model.named_modules() if m is self.target_layer)

    def crop(self, image: np.ndarray) -> np.ndarray:
        """RGB uint8 H×W×3 → the RGB uint8 image the model sees (shorter side to ``resize_to`` with the model's
        interpolation, centre crop ``crop_size``), as its reference transform computes it
        (:func:`xaireport.models.preprocessing.crop`)."""
        from xaireport.models.preprocessing import crop

        return crop(image, self.resize_to, self.crop_size, self.interpolation)

    def with_model(self, model: nn.Module, weights_id: str) -> Classifier:
        """The same classifier (preprocessing, classes, target layer by name) around another network of the same
        architecture, e.g. a copy with some blocks re-initialised; ``features``/``head`` are rebuilt for it."""
        import dataclasses

        if self.split is None:
            raise ValueError(f"{self.name}: this classifier cannot be rebuilt around another network")
        layer = self.target_layer_name
        features, head = self.split(model)
        return dataclasses.replace(
            self,
            model=model,
            target_layer=model.get_submodule(layer),
            features=features,
            head=head,
            weights_id=weights_id,
        )

    def normalize(self, t: torch.Tensor) -> torch.Tensor:
        """Float tensor (…×3×H×W, values in [0, 1]) → the model's normalised input."""
        return (t - self._mean_t.to(t.device)) / self._std_t.to(t.device)

    def to_input(self, crops: np.ndarray) -> torch.Tensor:
        """uint8 N×H×W×3 (or H×W×3) crops → normalised N×3×H×W batch on the model's device."""
        import numpy as np
        import torch

        arr = crops[None] if crops.ndim == 3 else crops
        t = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        return self.normalize(t)

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """crop + to tensor + normalise → 1×3×crop×crop on the model's device."""
        return self.to_input(self.crop(image))

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Softmax over the classes for one RGB uint8 image."""
        import torch

        with torch.inference_mode():
            return torch.softmax(self.model(self.preprocess(image)), dim=1)[0].float().cpu().numpy()
