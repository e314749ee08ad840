"""methods/spread.py: how spread out a map is (chapter 2's "diffuse or sharp?"), on hand-computed maps."""

from __future__ import annotations

import numpy as np

from xaireport.methods.spread import spread


def test_a_uniform_map_is_fully_diffuse_and_a_spike_fully_sharp():
    flat = spread(np.ones((4, 4)))
    assert flat["area ≥ 0.5"] == 1.0 and abs(flat["entropy"] - 1.0) < 1e-12 and abs(flat["Gini"]) < 1e-12
    spike = np.zeros((4, 4))
    spike[0, 0] = 1.0
    sharp = spread(spike)
    assert sharp["area ≥ 0.5"] == 1 / 16 and sharp["entropy"] == 0.0 and abs(sharp["Gini"] - 15 / 16) < 1e-12


def test_half_the_mass_on_half_the_pixels():
    m = np.array([[1.0, 1.0], [0.0, 0.0]])  # p = (1/2, 1/2, 0, 0): entropy log 2 / log 4 = 1/2
    got = spread(m)
    assert got["area ≥ 0.5"] == 0.5 and abs(got["entropy"] - 0.5) < 1e-12
    assert abs(got["Gini"] - 0.5) < 1e-12  # sorted (0, 0, 1, 1): Σ(2i − n − 1)x_i / (n Σx) = (1 + 3) / 8


def test_an_all_zero_map_has_no_entropy_or_gini():
    got = spread(np.zeros((2, 2)))
    assert got["area ≥ 0.5"] == 0.0 and np.isnan(got["entropy"]) and np.isnan(got["Gini"])
