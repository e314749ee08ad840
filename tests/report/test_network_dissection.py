"""Chapter 1's random-network baseline: null thresholds and the share of units that beat them."""

from __future__ import annotations

import pandas as pd
import pytest

from xaireport.methods.dissect.labels import ModelDissection
from xaireport.report import network_dissection as nd


def _dissection(sims: dict[str, list[float]]) -> ModelDissection:
    rows = [(layer, i, f"w{i}", s) for layer, values in sims.items() for i, s in enumerate(values)]
    table = pd.DataFrame(rows, columns=["layer", "unit", "description", "similarity"])
    return ModelDissection("m", None, table, {})  # type: ignore[arg-type]


def test_null_thresholds_and_share_above_them():
    random = _dissection({"layer3": [float(v) for v in range(101)], "layer4": [0.0] * 20})
    thresholds = nd.null_thresholds(random)
    assert thresholds == {"layer3": pytest.approx(95.0), "layer4": 0.0}
    trained = _dissection({"layer3": [10.0, 96.0, 200.0, 95.0], "layer4": [0.0, 0.5]})
    t = nd.with_categories(trained, frozenset(), thresholds)
    assert t["beats_random"].tolist() == [False, True, True, False, False, True]  # strictly above the 95th percentile
    null = nd.null_table({"imagenet": t}, thresholds)
    assert null["units above it"].tolist() == [0.5, 0.5] and null["units"].tolist() == [4, 2]
    assert null["model"].tolist() == ["ResNet-18 (ImageNet)"] * 2
