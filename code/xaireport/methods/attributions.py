"""Gradient and perturbation attributions from **Captum** (Kokhlikyan et al., 2020), used as the library computes
them: one function per method, registered in :mod:`xaireport.methods.registry` with ``function`` naming it.

* **Saliency** (Simonyan et al., 2014): the absolute gradient of the class logit with respect to the input; a
  pixel's value is its largest over the colour channels (the paper's rule), scaled to [0, 1].
* **Integrated Gradients** (Sundararajan et al., 2017): the gradient averaged along the straight path from a
  baseline image to the input, times the difference (``steps`` points, Gauss–Legendre, Captum's default).
* **GradientSHAP** (Lundberg & Lee, 2017): Integrated Gradients' expectation over baselines (the black and the
  mean-colour image) and Gaussian input noise (``samples`` draws of standard deviation ``stdev`` in normalised
  input units), seeded.
* **Guided Backprop** (Springenberg et al., 2015): the gradient with every ReLU-family activation's backward pass
  letting through only positive gradients. Captum hooks ``nn.ReLU`` modules only; here ``nn.ReLU6`` (MobileNet and
  EfficientNet-Lite) is hooked the same way, and in-place activations run out of place while the hooks are set
  (a backward hook cannot see an in-place output). A pixel's value is the sum over the colour channels of the
  absolute attributions, as Adebayo et al. (2018) aggregate it for their sanity checks (the ``saliency``
  library's ``VisualizeImageGrayscale``): unsigned.
* **Occlusion** (Zeiler & Fergus, 2014): the drop of the class logit when a ``window`` × ``window`` patch, slid with
  ``stride``, is replaced by the baseline; each pixel averages the patches that cover it.

Every map is at the model's input resolution, aligned with ``classifier.crop(image)``. Saliency's is in [0, 1];
Guided Backprop's the sum of absolute values over the colour channels; the others are signed (the sum over the
colour channels of the attribution), in the units of the logit.
``baseline``: ``black`` (the black image, normalised as the model normalises its input) or ``mean`` (zeros of
the normalised input: the dataset's mean colour).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from xaireport.methods.explanations import Explanation
from xaireport.methods.targets import target_index
from xaireport.models import Classifier

BASELINES = ("black", "mean")


def baseline_image(classifier: Classifier, x: torch.Tensor, kind: str) -> torch.Tensor:
    """The baseline input, shaped like ``x`` (normalised as the model normalises its input)."""
    if kind == "mean":
        return torch.zeros_like(x)
    if kind == "black":
        mean = torch.tensor(classifier.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(classifier.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return ((0.0 - mean) / std).expand_as(x).clone()
    raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, got {kind!r}")


def _explain(
    name: str,
    classifier: Classifier,
    image: np.ndarray,
    target: int | None,
    attribute: Callable[[torch.Tensor, int], torch.Tensor],
    signed: bool = True,
    reduce: str = "sum",
) -> Explanation:
    """``reduce`` over the colour channels: ``sum`` (signed), ``abs_sum`` (Σ|a|, unsigned) or ``abs_max`` (max |a|,
    scaled to [0, 1]: Saliency)."""
    x = classifier.preprocess(image)
    index, score = target_index(classifier, x, target)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Captum's notes on hooks and on requires_grad
        attr = attribute(x, index).detach()[0].float().cpu().numpy()
    if reduce == "sum":
        m = attr.sum(axis=0)
    elif reduce == "abs_sum":
        m = np.abs(attr).sum(axis=0)
    else:
        m = np.abs(attr).max(axis=0)
        top = m.max()
        m = m / top if top > 0 else m
    return Explanation(
        method=name,
        map=np.asarray(m, dtype=np.float32),
        class_index=index,
        class_name=classifier.categories[index],
        score=score,
        seconds=time.perf_counter() - start,
        signed=signed,
    )


def saliency(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    from captum.attr import Saliency

    method = Saliency(classifier.model)
    return _explain(
        "saliency",
        classifier,
        image,
        target,
        lambda x, t: method.attribute(x, target=t, abs=True),
        signed=False,
        reduce="abs_max",
    )


def integrated_gradients(
    classifier: Classifier,
    image: np.ndarray,
    target: int | None = None,
    *,
    progress: bool = True,
    steps: int = 50,
    baseline: str = "black",
    batch_size: int | None = None,
) -> Explanation:
    from captum.attr import IntegratedGradients

    method = IntegratedGradients(classifier.model)

    def attribute(x: torch.Tensor, t: int) -> torch.Tensor:
        return method.attribute(
            x,
            baselines=baseline_image(classifier, x, baseline),
            target=t,
            n_steps=steps,
            internal_batch_size=batch_size,
        )

    return _explain("integrated_gradients", classifier, image, target, attribute)


def gradient_shap(
    classifier: Classifier,
    image: np.ndarray,
    target: int | None = None,
    *,
    progress: bool = True,
    samples: int = 20,
    stdev: float = 0.1,
    seed: int = 0,
) -> Explanation:
    from captum.attr import GradientShap

    method = GradientShap(classifier.model)

    def attribute(x: torch.Tensor, t: int) -> torch.Tensor:
        refs = torch.cat([baseline_image(classifier, x, "black"), baseline_image(classifier, x, "mean")])
        with _seeded(seed):
            return method.attribute(x, baselines=refs, n_samples=samples, stdevs=stdev, target=t)

    return _explain("gradient_shap", classifier, image, target, attribute)


#: The activations whose backward pass Guided Backprop rewrites (Captum's own list is ``nn.ReLU``).
GUIDED_ACTIVATIONS = (nn.ReLU, nn.ReLU6)


def guided_backprop(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    from captum.attr import GuidedBackprop

    class ReluFamilyGuidedBackprop(GuidedBackprop):
        def _register_hooks(self, module: nn.Module) -> None:
            if isinstance(module, GUIDED_ACTIVATIONS):  # Captum's own rule: isinstance(module, nn.ReLU)
                from captum.attr._core import guided_backprop_deconvnet as captum_guided

                hooks = captum_guided._register_backward_hook(module, self._backward_hook, self)
                self.backward_hooks.extend(hooks)

    method = ReluFamilyGuidedBackprop(classifier.model)

    def attribute(x: torch.Tensor, t: int) -> torch.Tensor:
        with out_of_place(classifier.model):
            return method.attribute(x, target=t)

    return _explain("guided_backprop", classifier, image, target, attribute, signed=False, reduce="abs_sum")


def occlusion(
    classifier: Classifier,
    image: np.ndarray,
    target: int | None = None,
    *,
    progress: bool = True,
    window: int = 32,
    stride: int = 16,
    baseline: str = "black",
    batch_size: int = 16,
) -> Explanation:
    from captum.attr import Occlusion

    method = Occlusion(classifier.model)

    def attribute(x: torch.Tensor, t: int) -> torch.Tensor:
        return method.attribute(
            x,
            sliding_window_shapes=(3, window, window),
            strides=(3, stride, stride),
            baselines=baseline_image(classifier, x, baseline),
            target=t,
            perturbations_per_eval=batch_size,
        )

    return _explain("occlusion", classifier, image, target, attribute)


@contextlib.contextmanager
def out_of_place(model: nn.Module) -> Iterator[None]:
    """Run the model's in-place activations out of place for the duration (restored afterwards)."""
    changed = [m for m in model.modules() if getattr(m, "inplace", False) is True]
    for m in changed:
        m.inplace = False  # type: ignore[assignment]
    try:
        yield
    finally:
        for m in changed:
            m.inplace = True  # type: ignore[assignment]


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Torch's and numpy's global generators seeded for the duration (Captum draws GradientSHAP's noise with torch
    and its baselines with numpy), their states restored afterwards."""
    state, np_state = torch.random.get_rng_state(), np.random.get_state()
    torch.manual_seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
        np.random.set_state(np_state)


__all__: list[Any] = [
    "BASELINES",
    "baseline_image",
    "gradient_shap",
    "guided_backprop",
    "integrated_gradients",
    "occlusion",
    "saliency",
]
