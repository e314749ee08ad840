"""LIME image explanations (Ribeiro et al., 2016) with the ``lime`` package, batched and reproducible.

We run ``lime.lime_image.LimeImageExplainer.explain_instance`` with the arguments of the package's PyTorch
tutorial (quickshift segmentation, ``hide_color=0``, ``top_labels=1``) on the crop the model sees
(:meth:`Classifier.crop`: shorter side resized, aspect ratio kept, centre crop — the same crop the CAMs explain).
The tutorial instead squashes the photo with ``Resize((256, 256))`` before its crop; we keep the aspect ratio on
purpose, and the equivalence with the tutorial's pipeline is tested on our crop. Two changes that do not
change the answer:

* ``classifier_fn`` runs the model in ``torch.inference_mode()`` on channels-last batches (8 on CPU, one
  batch per core at a time, :func:`xaireport.core.device.map_batches`; 64 on a GPU) instead of the tutorial's
  ``batch_predict`` on lime's default batches of 10, through :func:`xaireport.core.inference.fast_forward`
  (on a CPU the model exported to ONNX and run by ONNX Runtime, as ScoreCAM's passes: exported once per
  architecture, checked against the eager model on the first batch, then reused for every image and seed; a
  short last batch is padded to the batch shape);
* the perturbation step (:meth:`FastLimeImageExplainer.data_labels`) draws the same random numbers from the
  explainer's ``random_state`` as lime's, in the same order, but builds the perturbed images with one
  vectorised ``np.where`` per batch instead of a Python loop over superpixels for every sample, in the worker
  that classifies that batch (so the building runs on every core, overlapping the forward passes).

One ``seed`` drives everything (lime's ``random_state`` for the perturbations and ``random_seed`` for the
segmentation). ``Explanation.info["r2"]`` is lime's ``explanation.score``: the weighted R² of the local linear
surrogate (for the explained label; lime keeps it only for the last label it fits).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np
import torch
from lime import lime_image

from xaireport.core import progress
from xaireport.core.device import map_batches
from xaireport.core.errors import UserError
from xaireport.core.inference import fast_forward
from xaireport.methods.explanations import Explanation
from xaireport.models import Classifier


class FastLimeImageExplainer(lime_image.LimeImageExplainer):
    """lime's image explainer with a vectorised perturbation step (same random draws, same images), for our
    :func:`classifier_fn`: its ``from_rows`` builds and classifies the images in batches of its own size, so
    lime's ``batch_size`` is not used."""

    def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples, batch_size=10):
        n_features = np.unique(segments).shape[0]
        data = self.random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
        data[0, :] = 1
        # lime indexes rows by superpixel id, so ids must be 0..n_features-1 (quickshift's are).
        return data, classifier_fn.from_rows(data, segments, image, fudged_image)


def perturbed(rows: np.ndarray, segments: np.ndarray, image: np.ndarray, fudged: np.ndarray) -> np.ndarray:
    """lime's perturbed images for binary ``rows`` (one per sample, one column per superpixel): each superpixel
    switched off (0) shows ``fudged`` (lime's ``hide_color``), the others ``image``; one ``np.where`` per batch."""
    off = rows[:, segments] == 0  # B×H×W: pixels whose superpixel is switched off
    return np.where(off[..., None], fudged[None], image[None])


def classifier_fn(classifier: Classifier, batch_size: int | None = None, graph: bool = True, bar: bool = True):
    """Probabilities for a stack of uint8 crops, computed in batches without autograd, through the cached fast
    forward pass (``graph=False``: the model itself).

    The returned function also has ``from_rows(rows, segments, image, fudged)``: the probabilities of lime's
    perturbed images (:func:`perturbed`), each batch built by the worker that classifies it, so that building
    the images runs on every core and overlaps the forward passes (the same images and batches as calling the
    function on them)."""
    bs = batch_size or (64 if classifier.device.type != "cpu" else 8)
    cpu = classifier.device.type == "cpu"

    def inputs(chunk: np.ndarray) -> torch.Tensor:
        x = classifier.to_input(np.asarray(chunk))
        return x.contiguous(memory_format=torch.channels_last) if cpu else x

    def run(make: Callable[[int], np.ndarray], n: int, first: np.ndarray, show: bool) -> np.ndarray:
        """Probabilities of the images ``make(0), ..., make(ceil(n / bs) - 1)`` (batches of ``bs``)."""
        batches = range((n + bs - 1) // bs)

        def classify(forward: Callable[[torch.Tensor], torch.Tensor], pad: bool) -> np.ndarray:
            def probabilities(i: int) -> np.ndarray:
                chunk = make(i)
                k = len(chunk)
                if pad and k < bs:  # pad to the batch shape with copies of the last image
                    chunk = np.concatenate([chunk, np.repeat(chunk[-1:], bs - k, axis=0)])
                with torch.inference_mode():
                    return _softmax(forward(inputs(chunk)))[:k]

            results: Iterable[np.ndarray] = map_batches(probabilities, batches, classifier.device)
            if show:
                results = progress.bar(results, total=len(batches), desc="LIME samples", unit="batch", leave=False)
            return np.concatenate(list(results))

        if not graph:
            return classify(classifier.model, pad=False)
        with torch.inference_mode():
            example = inputs(np.repeat(first[:1], bs, axis=0))
        with fast_forward(classifier.model, example) as forward:
            return classify(forward, pad=True)

    def predict(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        return run(lambda i: images[i * bs : (i + 1) * bs], len(images), images, show=False)

    def from_rows(rows: np.ndarray, segments: np.ndarray, image: np.ndarray, fudged: np.ndarray) -> np.ndarray:
        return run(
            lambda i: perturbed(rows[i * bs : (i + 1) * bs], segments, image, fudged), len(rows), image[None], bar
        )

    predict.from_rows = from_rows  # type: ignore[attr-defined]
    return predict


def _softmax(logits: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return torch.softmax(logits, dim=1).float().cpu().numpy()


def tutorial_batch_predict(classifier: Classifier):
    """The lime PyTorch tutorial's ``batch_predict`` (reference for equivalence tests and the benchmark)."""
    from torchvision import transforms

    transf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(classifier.mean, classifier.std)])

    def batch_predict(images):
        classifier.model.eval()
        batch = torch.stack(tuple(transf(i) for i in images), dim=0).to(classifier.device)
        logits = classifier.model(batch)
        return torch.nn.functional.softmax(logits, dim=1).detach().cpu().numpy()

    return batch_predict


#: Superpixels of the last few (crop, seed) pairs: LIME's segmentation depends on the image and the seed only, not
#: on the model, so the sanity checks' randomized networks and the other-class explanations reuse it
#: (:func:`segmenter`).
SEGMENTS_KEPT = 32
_SEGMENTS: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
_SEGMENTS_LOCK = threading.Lock()


def segmenter(seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """lime's default segmentation, as ``explain_instance`` builds it (``SegmentationAlgorithm('quickshift',
    kernel_size=4, max_dist=200, ratio=0.2, random_seed=seed)``), computed once per image and seed in a process:
    the same superpixels, without quickshift's second of work each time."""
    from lime.wrappers.scikit_image import SegmentationAlgorithm

    algorithm = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2, random_seed=seed)

    def segments(image: np.ndarray) -> np.ndarray:
        key = (hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest() + str(image.shape), seed)
        with _SEGMENTS_LOCK:
            if key in _SEGMENTS:
                _SEGMENTS.move_to_end(key)
                return _SEGMENTS[key].copy()
        out = algorithm(image)
        with _SEGMENTS_LOCK:
            _SEGMENTS[key] = out.copy()
            while len(_SEGMENTS) > SEGMENTS_KEPT:
                _SEGMENTS.popitem(last=False)
        return out

    return segments


def explain(
    classifier: Classifier,
    image: np.ndarray,
    target: int | None = None,
    *,
    num_samples: int = 1000,
    num_features: int = 5,
    seed: int = 0,
    batch_size: int | None = None,
    progress: bool = True,
    reference: bool = False,
    graph: bool = True,
) -> Explanation:
    """Explain the classifier's decision on one image with LIME.

    Args:
        classifier: from :func:`xaireport.models.load`.
        image: RGB uint8 H×W×3; explained as ``classifier.crop(image)``.
        target: class to explain; default the top-1 class.
        num_samples: perturbed samples for the surrogate.
        num_features: superpixels in the ``mask`` part.
        seed: the one seed for lime's perturbations and segmentation.
        batch_size: images per forward pass.
        progress: show a progress bar over the batches of samples.
        reference: run lime's own explainer with the tutorial's ``batch_predict`` (slow; for checks).
        graph: run the model through the cached fast forward pass (``False``: the eager model; benchmarks).

    Returns:
        An :class:`Explanation` whose ``map`` is each pixel's superpixel weight (signed), with the parts
        ``segments`` (int superpixel ids), ``weights`` (one per superpixel) and ``mask`` (the ``num_features``
        superpixels with the largest positive weights), and ``info["r2"]``.
    """
    if num_samples < 2 or num_features < 1:
        raise UserError(f"LIME needs num_samples ≥ 2 and num_features ≥ 1 (got {num_samples}, {num_features})")
    crop = classifier.crop(image)
    start = time.perf_counter()
    if reference:
        explainer = lime_image.LimeImageExplainer(random_state=seed)
        fn = tutorial_batch_predict(classifier)
    else:
        explainer = FastLimeImageExplainer(random_state=seed)
        fn = classifier_fn(classifier, batch_size, graph, progress)
    kwargs = {"top_labels": 1} if target is None else {"labels": (int(target),), "top_labels": None}
    # lime draws every sample's random numbers before batching, so the batch size does not change the answer;
    # the tutorial runs lime's default batches of 10, ours batches of classifier_fn's size (via from_rows).
    segmentation = None if reference else segmenter(seed)  # the reference run: lime's own, untouched
    exp = explainer.explain_instance(
        crop,
        fn,
        hide_color=0,
        num_samples=num_samples,
        random_seed=seed,
        batch_size=10,
        segmentation_fn=segmentation,
        **kwargs,
    )
    seconds = time.perf_counter() - start
    label = exp.top_labels[0] if target is None else int(target)
    n_seg = int(exp.segments.max()) + 1
    weights = np.zeros(n_seg, dtype=np.float64)
    for seg, w in exp.local_exp[label]:
        weights[seg] = w
    _, mask = exp.get_image_and_mask(label, positive_only=True, num_features=num_features, hide_rest=False)
    probs = fn(crop[None])[0]
    segments = exp.segments.astype(np.int32)
    return Explanation(
        method="lime",
        map=weights[segments].astype(np.float32),
        class_index=int(label),
        class_name=classifier.categories[label],
        score=float(probs[label]),
        seconds=seconds,
        signed=True,
        parts={"segments": segments, "weights": weights, "mask": mask.astype(bool)},
        info={"r2": float(exp.score)},
    )
