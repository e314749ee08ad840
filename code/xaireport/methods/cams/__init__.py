"""Class activation maps: Grad-CAM (the ``grad-cam`` package as it is), and exact, fast AblationCAM and ScoreCAM.

One module per method (:mod:`.gradcam`, :mod:`.ablationcam`, :mod:`.scorecam`), each with ``make(classifier,
batch_size, progress)`` returning a ``grad-cam`` ``BaseCAM`` and ``explain(classifier, image, target, ...)``
returning an :class:`~xaireport.methods.explanations.Explanation`; each is registered in
:mod:`xaireport.methods.registry`. This ``__init__`` holds no code, so that a method's cache key (its module's
import closure) does not change when another method is added.

The fast methods subclass the package's :class:`pytorch_grad_cam.base_cam.BaseCAM`, so the map is assembled
by the library (``ReLU(Σ_k w_k A_k)``, min-max scaled, resized to the input) and only the channel weights
``w_k`` are computed here (see each module for how).
"""
