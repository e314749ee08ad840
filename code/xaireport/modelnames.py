"""Names the command line and the settings check without importing torch: the classifiers and CAM methods."""
from __future__ import annotations

#: Classifiers :func:`xaireport.models.load` knows.
MODEL_NAMES = ("resnet50", "resnet18", "resnet18-places365", "efficientnet-lite0")

#: CAM methods of :func:`xaireport.cams.explain`, with their display labels.
CAM_METHODS = ("gradcam", "ablationcam", "scorecam")
CAM_LABELS = {"gradcam": "Grad-CAM", "ablationcam": "AblationCAM", "scorecam": "ScoreCAM"}
