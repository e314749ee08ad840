"""The session (``session.py``): what chapters and commands share, built from the settings and created on first use."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from xaireport.core.errors import UserError
from xaireport.session import Session
from xaireport.settings import load


@pytest.fixture()
def session(project, root) -> Session:
    shutil.copytree(root / "data/images", project / "images")
    (project / "_quarto.yml").write_text(
        "xaireport:\n  images:\n    folder: images\n    limit: 2\n  paths:\n    cache: cache\n    figures: figs\n"
        "  classifier:\n    model: efficientnet-lite0\n"
    )
    return Session(load(profile="", project_dir=project))


def test_images_are_loaded_once_and_limited(session):
    first = session.images()
    assert len(first) == 2 and first[0].array.ndim == 3 and first[0].array.dtype.name == "uint8"
    assert [i.path.name for i in first] == sorted(i.path.name for i in first)
    assert session.images() is first  # memoised: one decode per session


def test_classifier_is_lazy_and_memoised(session):
    clf = session.classifier()
    assert not clf.is_loaded and session.classifier() is clf
    assert clf.device_name == "cpu"


def test_classifier_description_is_cached_for_the_next_session(session):
    clf = session.classifier()
    assert clf.name and len(clf.categories) == 1000  # the description needs the network once
    assert clf.is_loaded
    again = Session(session.settings).classifier()
    assert again.categories == clf.categories and again.weights_id == clf.weights_id
    assert not again.is_loaded  # the second session reads the cached description


def test_methods_in_order_and_unknown_names_are_one_error(session):
    assert [m.name for m in session.methods(["scorecam", "gradcam"])] == ["scorecam", "gradcam"]
    assert session.method("lime").label == "LIME"
    with pytest.raises(UserError, match=r"unknown method 'nosuch' in --methods: choose from gradcam, "):
        session.methods(["gradcam", "nosuch"], "--methods")


def test_folders_are_created_under_the_project(session, project):
    assert session.figures_dir("lime") == project / "figs/lime" and (project / "figs/lime").is_dir()
    assert session.results_dir("lime").is_dir()
    assert session.cache.root == project / "cache"


def test_a_session_does_not_import_torch_until_the_network_is_needed(session, project, root):
    """Loading images and a classifier whose description is cached must not import torch (a cached page stays light)."""
    assert len(session.classifier().categories) == 1000  # the first session loads the network, caches its description
    code = (
        "import sys; from xaireport.session import Session; from xaireport.settings import load\n"
        f"s = Session(load(profile='', project_dir={str(project)!r}))\n"
        "s.images(); c = s.classifier(); print(len(c.categories), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.split() == ["1000", "False"]
