from __future__ import annotations

import numpy as np

from xaireport.core import cache
from xaireport.core.cache import ResultCache, file_digest, make_key

CODE = ("models",)


def test_key_depends_on_every_part_and_is_order_free():
    k = make_key(code=CODE, settings={"a": 1, "b": [1, 2]}, weights="abc", image="d1")
    assert k == make_key(code=CODE, image="d1", weights="abc", settings={"b": [1, 2], "a": 1})
    assert k != make_key(code=CODE, settings={"a": 2, "b": [1, 2]}, weights="abc", image="d1")
    assert k != make_key(code=CODE, settings={"a": 1, "b": [1, 2]}, weights="abd", image="d1")
    assert k != make_key(code=CODE, settings={"a": 1, "b": [1, 2]}, weights="abc", image="d2")
    assert k != make_key(code=("images.py",), settings={"a": 1, "b": [1, 2]}, weights="abc", image="d1")


def _edited(monkeypatch, edited_file: str) -> None:
    """Pretend that one package file was edited (its bytes differ), and forget memoised versions."""
    real = cache._source
    monkeypatch.setattr(
        cache, "_source", lambda p: real(p) + (b"# edit" if p.as_posix().endswith(edited_file) else b"")
    )
    cache.code_version.cache_clear()


def test_editing_lime_code_keeps_cam_maps_and_activations(monkeypatch, lite0, root):
    """A change to chapter 3's LIME code must not invalidate chapter 2's CAM maps or chapter 1's activations;
    a change to chapter or CLI code invalidates nothing."""
    from xaireport import results
    from xaireport.images import load_image
    from xaireport.methods.dissect.probe import ProbeSet

    img = load_image(root / "data/images/coffee.png")
    probe = ProbeSet("x", (), "digest")

    def keys():
        return {
            "cam": results.cam_key(lite0, img, "gradcam", None),
            "lime": results.lime_key(lite0, img, 100, 5, 0, None),
            "activations": results.act_key(lite0, "layer4", probe, False),
        }

    cache.code_version.cache_clear()
    before = keys()
    _edited(monkeypatch, "methods/lime.py")
    after = keys()
    assert after["lime"] != before["lime"]
    assert after["cam"] == before["cam"] and after["activations"] == before["activations"]
    for chapter_or_cli in ("report/cam_methods.py", "report/network_dissection.py", "cli/cams.py", "outputs.py"):
        monkeypatch.undo()
        _edited(monkeypatch, chapter_or_cli)
        assert keys() == before, chapter_or_cli
    monkeypatch.undo()
    _edited(monkeypatch, "methods/cams/scorecam.py")
    assert keys()["cam"] != before["cam"] and keys()["lime"] == before["lime"]
    monkeypatch.undo()
    cache.code_version.cache_clear()


def test_every_declared_code_dependency_exists():
    from xaireport import results

    for kind, parts in results.CODE.items():
        assert cache.code_version(*parts), kind  # raises on a missing file or folder


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
