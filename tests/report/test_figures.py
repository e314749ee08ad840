"""Issue 15: figures are drawn again only when what they show (or the code drawing them) changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xaireport.report.figures import Unhashable, cached_figure, inputs_digest

DRAWN: list[str] = []


@cached_figure
def heat_figure(maps: list[np.ndarray], title: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from xaireport.report.figures import save_figure

    DRAWN.append(title)
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.imshow(maps[0])
    ax.set_title(title)
    return save_figure(fig, path)


def test_a_figure_is_drawn_once_for_the_same_inputs(tmp_path):
    DRAWN.clear()
    png = tmp_path / "heat.png"
    maps = [np.eye(4, dtype=np.float32)]
    assert heat_figure(maps, "a", png) == png and DRAWN == ["a"]
    stamp = tmp_path / ".heat.png.inputs"
    assert stamp.is_file()
    heat_figure([np.eye(4, dtype=np.float32)], "a", path=png)
    assert DRAWN == ["a"]  # equal inputs (a new array with the same values): the file on disk is shown
    heat_figure([np.eye(4, dtype=np.float64)], "a", png)
    maps[0][0, 1] = 0.5
    heat_figure(maps, "a", png)
    heat_figure(maps, "b", png)
    assert DRAWN == ["a", "a", "a", "b"]  # dtype, one value, the title: each draws again
    png.unlink()
    heat_figure(maps, "b", png)
    assert DRAWN[-1] == "b" and len(DRAWN) == 5 and png.is_file()  # a deleted file is drawn again


def test_a_failed_draw_leaves_no_stamp(tmp_path, monkeypatch):
    png = tmp_path / "heat.png"
    heat_figure([np.zeros((2, 2))], "x", png)

    def broken(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("xaireport.report.figures.save_figure", broken)
    with pytest.raises(RuntimeError):
        heat_figure([np.ones((2, 2))], "x", png)  # the old figure stays, but no stamp claims it is this one
    assert not (tmp_path / ".heat.png.inputs").exists()


def test_inputs_digest_covers_frames_dataclasses_and_refuses_unknown_objects():
    @dataclass
    class Run:
        table: pd.DataFrame
        maps: dict[tuple[str, int], np.ndarray]

    a = Run(pd.DataFrame({"x": [1.0, 2.0]}), {("gradcam", 0): np.zeros(3)})
    b = Run(pd.DataFrame({"x": [1.0, 2.5]}), {("gradcam", 0): np.zeros(3)})
    c = Run(pd.DataFrame({"y": [1.0, 2.0]}), {("gradcam", 0): np.zeros(3)})
    assert inputs_digest(a) == inputs_digest(Run(a.table.copy(), dict(a.maps)))
    assert len({inputs_digest(a), inputs_digest(b), inputs_digest(c)}) == 3
    with pytest.raises(Unhashable):
        inputs_digest(object())
