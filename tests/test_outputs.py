"""Output files (``outputs.py``, ``report/figures.save_figure``): written atomically under unique temporary names,
so that two runs writing the same file never collide (issue 26)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from multiprocessing import get_context

import numpy as np
from PIL import Image

from xaireport.outputs import save_png


def _write(args: tuple[str, int]) -> int:
    path, value = args
    save_png(np.full((64, 64), value, np.uint8), path)
    return value


def test_two_processes_writing_one_png_twenty_rounds_never_fail_and_leave_no_temporary(tmp_path):
    target = str(tmp_path / "r17.png")
    with get_context("spawn").Pool(2) as pool:
        for round_ in range(20):
            assert pool.map(_write, [(target, 2 * round_), (target, 2 * round_ + 1)]) == [2 * round_, 2 * round_ + 1]
            with Image.open(target) as im:  # one complete PNG, written by one of the two
                assert int(np.asarray(im)[0, 0]) in (2 * round_, 2 * round_ + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r17.png"]


def test_figures_saved_from_threads_into_one_path_never_fail(tmp_path):
    from matplotlib.figure import Figure  # not pyplot's global state: safe to build in threads

    from xaireport.report.figures import save_figure

    def one(i: int) -> None:
        fig = Figure(figsize=(1, 1))
        fig.add_subplot().plot([0, i])
        save_figure(fig, tmp_path / "f.png")

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(one, range(20)))
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]
    with Image.open(tmp_path / "f.png") as im:
        assert im.format == "PNG" and im.size[0] > 10


def test_a_full_disk_is_one_line_naming_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    import errno
    import os

    import pytest

    from xaireport.core.errors import UserError

    real_replace = os.replace

    def full(src, dst):
        if str(dst).endswith("map.png"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(UserError, match=r"map\.png: cannot be written \(No space left on device; \d+ MB free there\)"):
        save_png(np.zeros((4, 4), np.uint8), tmp_path / "map.png")
    assert list(tmp_path.iterdir()) == []
    save_png(np.zeros((4, 4), np.uint8), tmp_path / "other.png")  # other errors and files untouched
    assert [p.name for p in tmp_path.iterdir()] == ["other.png"]
