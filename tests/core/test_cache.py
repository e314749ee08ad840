from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from xaireport.core import codegraph
from xaireport.core.cache import ResultCache, file_digest, make_key

CODE = "xaireport.models"


def test_key_depends_on_every_part_and_is_order_free():
    k = make_key(code=CODE, settings={"a": 1, "b": [1, 2]}, weights="abc", image="d1")
    assert k == make_key(code=CODE, image="d1", weights="abc", settings={"b": [1, 2], "a": 1})
    assert k != make_key(code=CODE, settings={"a": 2, "b": [1, 2]}, weights="abc", image="d1")
    assert k != make_key(code=CODE, settings={"a": 1, "b": [1, 2]}, weights="abd", image="d1")
    assert k != make_key(code=CODE, settings={"a": 1, "b": [1, 2]}, weights="abc", image="d2")
    assert k != make_key(code="xaireport.images", settings={"a": 1, "b": [1, 2]}, weights="abc", image="d1")


def _edited(monkeypatch, edited_file: str) -> None:
    """Pretend that one package file was edited (its bytes differ), and forget remembered graphs and versions."""
    real = codegraph._source
    monkeypatch.setattr(
        codegraph, "_source", lambda p: real(p) + (b"# edit" if p.as_posix().endswith(edited_file) else b"")
    )
    codegraph.forget()


def _described(name: str) -> SimpleNamespace:
    """A classifier of another family as a cache key sees it (name, weights, layer, classes): no network needed."""
    return SimpleNamespace(name=name, weights_id="w", target_layer_name="layer", categories=["a", "b"])


#: One model of each other family, next to the fixture's efficientnet-lite0.
OTHER_FAMILIES = {
    "resnet": _described("resnet50"),
    "places365": _described("resnet18-places365"),
    "timm": _described("timm:convnext_atto"),
    "torchvision": _described("torchvision:densenet121"),
}
ALL_CAMS = {"cam", *(f"cam/{f}" for f in OTHER_FAMILIES)}  # Grad-CAM's key on every family


@pytest.fixture()
def keys(lite0, root):
    """Every kind of cached result's key for fixed inputs, computed afresh on each call."""
    from xaireport.images import load_image
    from xaireport.methods.dissect.probe import ProbeSet
    from xaireport.methods.registry import METHODS
    from xaireport.results import activations, explanations, sanity
    from xaireport.settings import SanitySettings

    img = load_image(root / "data/images/coffee.png")
    probe = ProbeSet("x", (), "digest")
    lime_params = {"num_samples": 100, "num_features": 5, "seed": 0}

    def compute() -> dict[str, str]:
        runs = [sanity.Explainer(METHODS["gradcam"], {}, {}), sanity.Explainer(METHODS["lime"], lime_params, {})]
        return {
            "cam": explanations.explanation_key(lite0, img, METHODS["gradcam"], {}, None),
            "scorecam": explanations.explanation_key(lite0, img, METHODS["scorecam"], {}, None),
            "lime": explanations.explanation_key(lite0, img, METHODS["lime"], lime_params, None),
            "saliency": explanations.explanation_key(lite0, img, METHODS["saliency"], {}, None),
            "sanity": sanity.sanity_key(lite0, [img], runs, [0], 5, SanitySettings()),
            "activations": activations.act_key(lite0, "layer4", probe, False),
            **{
                f"cam/{name}": explanations.explanation_key(other, img, METHODS["gradcam"], {}, None)
                for name, other in OTHER_FAMILIES.items()
            },
        }

    codegraph.forget()
    yield compute
    codegraph.forget()


def test_editing_a_method_recomputes_that_method_only(monkeypatch, keys):
    """A change to LIME's code must not invalidate CAM maps or chapter 1's activations; a change to ScoreCAM's
    code recomputes ScoreCAM's maps but not Grad-CAM's."""
    before = keys()
    _edited(monkeypatch, "methods/lime.py")
    after = keys()
    assert after["lime"] != before["lime"] and after["sanity"] != before["sanity"]
    assert after["cam"] == before["cam"] and after["activations"] == before["activations"]
    monkeypatch.undo()
    _edited(monkeypatch, "methods/cams/scorecam.py")
    after = keys()
    assert after["scorecam"] != before["scorecam"]
    assert after["cam"] == before["cam"] and after["lime"] == before["lime"] and after["sanity"] == before["sanity"]


@pytest.mark.parametrize(
    "module",
    [
        "report/cam_methods.py",
        "report/network_dissection.py",
        "report/sanity_checks.py",
        "report/figures.py",
        "cli/cams.py",
        "cli/options.py",
        "outputs.py",
        "session.py",
        "settings.py",
        "methods/registry.py",
        "xaireport/__init__.py",  # the package's own: its names are imported on first use, it runs nothing
    ],
)
def test_editing_chapter_figure_cli_or_registry_code_recomputes_nothing(monkeypatch, keys, module):
    """Chapters, figures, the CLI, the session and the settings schema are not computation (the settings' values
    are in the keys); the registry's records are not either (a new method changes no other method's key)."""
    before = keys()
    _edited(monkeypatch, module)
    assert keys() == before, module


@pytest.mark.parametrize(
    "module, changed",
    [
        ("methods/agreement.py", {"sanity"}),  # methods/sanity.py imports it: missing from the old hand list
        ("methods/sanity.py", {"sanity"}),
        ("methods/cams/base.py", {*ALL_CAMS, "scorecam", "sanity"}),  # not Captum's saliency (issue 35)
        ("methods/targets.py", {*ALL_CAMS, "scorecam", "saliency", "sanity"}),  # what every family shares
        ("methods/attributions.py", {"saliency"}),
        ("core/inference.py", {"scorecam", "lime", "sanity"}),  # imported inside functions
        ("models/anatomy.py", {*ALL_CAMS, "scorecam", "lime", "saliency", "sanity", "activations"}),
        ("models/loading.py", {*ALL_CAMS, "scorecam", "lime", "saliency", "sanity", "activations"}),
        ("methods/dissect/encoders.py", {"activations"}),
        ("results/explanations.py", {*ALL_CAMS, "scorecam", "lime", "saliency", "sanity"}),
        # one family's builder: that family's results only (issue 35)
        ("models/families/efficientnet_lite.py", {"cam", "scorecam", "lime", "saliency", "sanity", "activations"}),
        ("models/families/resnet.py", {"cam/resnet", "cam/places365"}),  # places365 is a ResNet-18: shares it
        ("models/families/places365.py", {"cam/places365"}),
        ("models/families/timm_models.py", {"cam/timm"}),
        ("models/families/torchvision_models.py", {"cam/torchvision"}),
        ("models/assembly.py", {"cam/timm", "cam/torchvision"}),  # what the two library families share
    ],
)
def test_editing_an_imported_module_recomputes_what_imports_it(monkeypatch, keys, module, changed):
    before = keys()
    _edited(monkeypatch, module)
    after = keys()
    assert {k for k in before if after[k] != before[k]} == changed, module


def test_closure_follows_imports_in_functions_and_skips_type_checking():
    from xaireport.core.codegraph import closure, imports

    lime = closure("xaireport.methods.lime")
    assert {"xaireport.core.inference", "xaireport.core.onnxrt", "xaireport.methods"} <= lime  # onnxrt: in a function
    assert not any(m.startswith(("xaireport.report", "xaireport.cli", "xaireport.results")) for m in lime)
    # results.explanations names Method and Session only under TYPE_CHECKING: neither is part of its closure
    direct = imports("xaireport.results.explanations")
    assert "xaireport.methods.registry" not in direct and "xaireport.session" not in direct
    with pytest.raises(ValueError, match="not a module"):
        closure("xaireport.no_such_module")


def test_roundtrip_and_atomic_write(tmp_path):
    c = ResultCache(tmp_path)
    arrays = {"map": np.arange(6, dtype=np.float32).reshape(2, 3)}
    c.save("cams", "k1", arrays, {"class_name": "espresso", "score": 0.5})
    got = c.load("cams", "k1")
    assert got is not None
    assert (got[0]["map"] == arrays["map"]).all() and got[1] == {"class_name": "espresso", "score": 0.5}
    assert [p.name for p in (tmp_path / "cams").iterdir()] == ["k1.npz"]  # no temp file left behind


def test_missing_or_corrupt_entries_are_recomputed(tmp_path):
    c = ResultCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.ones(2)}, {"n": len(calls)}

    assert c.get_or_compute("t", "k", compute)[1] == {"n": 1}
    assert c.get_or_compute("t", "k", compute)[1] == {"n": 1}  # hit: not recomputed
    c.path("t", "k").write_bytes(b"garbage")
    assert c.get_or_compute("t", "k", compute)[1] == {"n": 2}


def test_file_digest_tracks_content(tmp_path):
    p = tmp_path / "w.bin"
    p.write_bytes(b"abc")
    d1 = file_digest(p)
    assert d1 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    p.write_bytes(b"abcd")
    assert file_digest(p) != d1
