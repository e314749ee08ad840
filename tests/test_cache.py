from __future__ import annotations

import numpy as np

from xaireport import cache
from xaireport.cache import ResultCache, file_digest, make_key


def test_key_depends_on_every_part_and_is_order_free():
    k = make_key(settings={"a": 1, "b": [1, 2]}, weights="abc", image="d1")
    assert k == make_key(image="d1", weights="abc", settings={"b": [1, 2], "a": 1})
    assert k != make_key(settings={"a": 2, "b": [1, 2]}, weights="abc", image="d1")
    assert k != make_key(settings={"a": 1, "b": [1, 2]}, weights="abd", image="d1")
    assert k != make_key(settings={"a": 1, "b": [1, 2]}, weights="abc", image="d2")


def test_key_changes_with_code_version(monkeypatch):
    k = make_key(x=1)
    monkeypatch.setattr(cache, "code_version", lambda: "other")
    assert make_key(x=1) != k


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
