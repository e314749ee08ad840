from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def lite0():
    """The offline EfficientNet-Lite0 classifier on the CPU (loaded once)."""
    from xaireport import models

    return models.load("efficientnet-lite0", device="cpu")


@pytest.fixture(scope="session")
def chelsea(root) -> np.ndarray:
    from xaireport.images import load_image

    return load_image(root / "data/images/chelsea.png").array


@pytest.fixture(scope="session")
def coffee(root) -> np.ndarray:
    from xaireport.images import load_image

    return load_image(root / "data/images/coffee.png").array


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A minimal project folder with a _quarto.yml (no xaireport section) for settings tests."""
    (tmp_path / "_quarto.yml").write_text("project:\n  type: website\n")
    return tmp_path


@pytest.fixture(autouse=True)
def _no_quarto_env(monkeypatch):
    monkeypatch.delenv("QUARTO_PROFILE", raising=False)
    monkeypatch.delenv("QUARTO_PROJECT_DIR", raising=False)


@pytest.fixture(scope="session")
def smoke_site(root) -> Path:
    """The whole project rendered once per test session with real Quarto (smoke profile, both formats, the book):
    the site folder. Skips where no ``quarto`` is on PATH (``bash .ci/run`` builds one; see README)."""
    import shutil

    from helpers import quarto_render

    if shutil.which("quarto") is None:
        pytest.skip("quarto is not installed here (bash .ci/run builds it from ../shared; see README, Tests)")
    r = quarto_render(["--profile", "smoke"], root)
    assert r.returncode == 0, r.stderr[-3000:]
    return root / "_site-smoke"
