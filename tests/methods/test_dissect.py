from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from helpers import run_xaireport
from xaireport import models
from xaireport.core.cache import ResultCache
from xaireport.core.errors import UserError
from xaireport.methods.dissect import concepts as concepts_mod
from xaireport.methods.dissect.categories import categorize
from xaireport.methods.dissect.probe import load_probe
from xaireport.methods.dissect.similarity import cos_similarity, cos_similarity_cubed, soft_wpmi, wpmi
from xaireport.results.dissection import dissect

# -- direct transcriptions of the formulas of the paper's similarity.py (one unit at a time) -----------------


def ref_pmi(P, A, top_k, a, lam, min_prob, soft, p_start=0.998, p_end=0.97):
    probs = torch.softmax(a * P, dim=1)
    inds = torch.topk(A, dim=0, k=top_k)[1]
    p_in = (p_start - (torch.arange(0, top_k) / top_k * (p_start - p_end))).unsqueeze(1)
    rows = []
    for unit in range(A.shape[1]):
        g = probs.gather(0, inds[:, unit : unit + 1].expand(-1, probs.shape[1]))
        if soft:
            g = 1 + p_in * (g - 1)
        rows.append(torch.sum(torch.log(g + min_prob), dim=0, keepdim=True))
    pde = torch.cat(rows, dim=0)
    prob_d = torch.logsumexp(pde, dim=0, keepdim=True) - torch.log(pde.shape[0] * torch.ones([1]))
    return pde - lam * prob_d


def ref_cos_cubed(P, A, min_norm=1e-3):
    p = (P - P.mean(0, keepdim=True)) ** 3
    t = (A - A.mean(0, keepdim=True)) ** 3
    p = p / torch.clip(torch.norm(p, p=2, dim=0, keepdim=True), min_norm)
    t = t / torch.clip(torch.norm(t, p=2, dim=0, keepdim=True), min_norm)
    return t.T @ p


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    P = torch.rand(300, 40, generator=g) * 0.4  # CLIP cosine similarities are small
    A = torch.randn(300, 17, generator=g).abs()
    return P, A


def test_soft_wpmi_equals_formula(data, monkeypatch):
    P, A = data
    ref = ref_pmi(P, A, 100, 10, 1, 1e-7, soft=True)
    assert torch.allclose(soft_wpmi(P, A), ref, atol=1e-4)
    import xaireport.methods.dissect.similarity as sim

    monkeypatch.setattr(sim, "_BLOCK_FLOATS", 100 * 40 * 3)  # force several blocks of units
    assert torch.allclose(soft_wpmi(P, A), ref, atol=1e-4)


def test_wpmi_equals_formula(data):
    P, A = data
    assert torch.allclose(wpmi(P, A), ref_pmi(P, A, 28, 2, 0.6, 1e-7, soft=False), atol=1e-4)


def test_cosine_similarities_equal_formula(data):
    P, A = data
    assert torch.allclose(cos_similarity_cubed(P, A), ref_cos_cubed(P, A), atol=1e-5)
    want = (A / A.norm(dim=0, keepdim=True)).T @ (P / P.norm(dim=0, keepdim=True))
    assert torch.allclose(cos_similarity(P, A), want, atol=1e-6)
    assert cos_similarity(P, A).shape == (17, 40)


@pytest.mark.parametrize("fn", [soft_wpmi, wpmi, cos_similarity_cubed, cos_similarity])
def test_planted_unit_concept_relations_are_recovered(fn):
    """Unit k fires on exactly the images CLIP matches to concept (7k + 1) mod M: every label is recovered."""
    g = torch.Generator().manual_seed(1)
    n, m, k = 4000, 30, 12  # ~130 images per concept: more than soft-WPMI's top 100
    concept_of_image = torch.randint(0, m, (n,), generator=g)
    P = 0.2 + 0.02 * torch.randn(n, m, generator=g)
    P[torch.arange(n), concept_of_image] += 0.1
    planted = [(7 * u + 1) % m for u in range(k)]  # distinct concepts (gcd(7, 30) = 1)
    A = 0.1 * torch.rand(n, k, generator=g)
    for u, c in enumerate(planted):
        A[concept_of_image == c, u] += 1.0 + torch.rand(int((concept_of_image == c).sum()), generator=g)
    labels = fn(P, A).argmax(dim=1).tolist()
    assert labels == planted


def test_concept_file_blank_lines_dropped(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("dog\n\n  cat  \n\n\nred\n")
    assert concepts_mod.read_concept_file(f) == ["dog", "cat", "red"]
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(UserError, match="has no concepts"):
        concepts_mod.read_concept_file(tmp_path / "empty.txt")


def test_blank_lines_do_not_shift_labels(tmp_path):
    """Labels index the embedded list: with a blank line before 'c2', unit 0 (planted on c2) is still 'c2'."""
    from xaireport.methods.dissect.similarity import describe

    f = tmp_path / "c.txt"
    f.write_text("c0\nc1\n\nc2\nc3\n")
    concepts = concepts_mod.read_concept_file(f)
    sim = torch.tensor([[0.0, 0.1, 0.9, 0.2]])  # best = the third embedded concept
    labels, vals, ids = describe(sim, concepts)
    assert labels == ["c2"] and float(vals[0]) == pytest.approx(0.9)


def test_wordfreq_concepts_offline_and_named_sets():
    words = concepts_mod.load_concepts("wordfreq-300")
    assert len(words) == 300 and len(set(words)) == 300 and all(w.isalpha() for w in words)
    assert "the" in words[:5]
    assert len(concepts_mod.load_concepts("imagenet")) == 1000
    with pytest.raises(UserError, match="unknown concept set"):
        concepts_mod.load_concepts("nonsense")


def test_wordfreq_20k_overlaps_the_papers_list(root):
    ref = root.parent / "shared/reference/clip_dissect_data/20k.txt"
    if not ref.is_file():
        pytest.skip("reference lists not present")
    ours = set(concepts_mod.load_concepts("wordfreq-20k"))
    paper = {w.strip() for w in ref.read_text().splitlines() if w.strip()}
    assert len(ours) == 20000
    assert len(ours & paper) / len(paper) > 0.5  # both are lists of common English words


def test_categories():
    assert categorize("red") == "colour" and categorize("striped") == "texture"
    assert categorize("kitchen") == "scene" and categorize("tabby") == "object"
    assert categorize("though") == "other"


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    from xaireport.methods.dissect.encoders import load_clip

    d = tmp_path_factory.mktemp("dissect")
    probe = load_probe("generated", size=12, seed=0, cache_dir=d)
    clip = load_clip("ViT-S-32", "none", device="cpu")
    net = models.load("resnet18", random_init=True, seed=0, device="cpu")
    return d, probe, clip, net


def test_dissect_tiny_and_cache_invalidation(tiny_setup, monkeypatch):
    d, probe, clip, net = tiny_setup
    cache = ResultCache(d / "cache")
    concepts = ["red", "blue", "green", "stripes", "circle"]
    res = dissect(
        cache, probe, clip, {"m": net}, ["layer3", "layer4"], concepts, batch_size=4, num_workers=0, final_layer=False
    )["m"]
    t = res.table
    assert list(t.columns) == ["layer", "unit", "description", "similarity"]
    assert len(t) == 256 + 512 and set(t["description"]) <= set(concepts)
    assert t["similarity"].map(math.isfinite).all()

    import xaireport.methods.dissect.encoders as run_mod

    calls = []
    real = run_mod.encode_probe
    monkeypatch.setattr(run_mod, "encode_probe", lambda *a, **k: calls.append(a) or real(*a, **k))
    dissect(
        cache, probe, clip, {"m": net}, ["layer3", "layer4"], concepts, batch_size=4, num_workers=0, final_layer=False
    )
    assert calls == []  # everything cached
    # a changed probe image changes the probe digest: recomputed
    (probe.paths[0]).write_bytes(probe.paths[1].read_bytes())
    probe2 = load_probe("generated", size=12, seed=0, cache_dir=d)
    assert probe2.digest != probe.digest
    dissect(cache, probe2, clip, {"m": net}, ["layer3"], concepts, batch_size=4, num_workers=0, final_layer=False)
    assert len(calls) == 1
    # other weights: recomputed
    net2 = models.load("resnet18", random_init=True, seed=1, device="cpu")
    dissect(cache, probe2, clip, {"m": net2}, ["layer3"], concepts, batch_size=4, num_workers=0, final_layer=False)
    assert len(calls) == 2


def test_final_layer_check_runs(tiny_setup):
    d, probe, clip, net = tiny_setup
    res = dissect(
        ResultCache(d / "cache2"),
        probe,
        clip,
        {"m": net},
        ["layer4"],
        ["a", "b"],
        batch_size=4,
        num_workers=0,
        final_layer=True,
        final_layer_units=10,
    )["m"]
    assert res.final_layer["units"] == 10 and 0 <= res.final_layer["top1"] <= res.final_layer["top5"] <= 1
    assert res.final_layer["total_units"] == 1000


def test_imagenet_concepts_are_the_full_wordnet_names(root):
    names = concepts_mod.load_concepts("imagenet")
    assert names[0] == "tench, Tinca tinca" and names[1] == "goldfish, Carassius auratus" and len(names) == 1000
    ref = root.parent / "shared/reference/clip_dissect_data/imagenet_labels.txt"
    if ref.is_file():  # the authors' list: equal but for their disambiguation of the two "crane" classes
        paper = ref.read_text().splitlines()
        assert sum(a != b for a, b in zip(names, paper)) == 2


def test_final_layer_check_uses_full_names_and_all_units(tiny_setup, monkeypatch):
    """The check embeds the full WordNet strings, scores every output unit (soft-WPMI's λ term averages over
    all of them), and only then keeps the first ``final_layer_units``."""
    import xaireport.methods.dissect.labels as labels_mod
    import xaireport.results.dissection as run_mod
    from xaireport.models.classnames import imagenet_descriptions

    d, probe, clip, net = tiny_setup
    seen = []
    real_text, real_sim = run_mod.text_features, labels_mod.similarity_matrix
    monkeypatch.setattr(run_mod, "text_features", lambda c, cl, names: seen.append(names) or real_text(c, cl, names))
    sims = []
    monkeypatch.setattr(labels_mod, "similarity_matrix", lambda *a: sims.append(real_sim(*a)) or sims[-1])
    res = dissect(
        ResultCache(d / "cache3"),
        probe,
        clip,
        {"m": net},
        ["layer4"],
        ["a", "b"],
        batch_size=4,
        num_workers=0,
        final_layer=True,
        final_layer_units=10,
    )["m"]
    assert seen[-1] == imagenet_descriptions()
    full = sims[-1]
    assert full.shape == (1000, 1000)
    top1 = (full[:10].argmax(dim=1) == torch.arange(10)).float().mean()
    assert res.final_layer["top1"] == pytest.approx(float(top1))


def test_classifier_runs_in_float32_unless_autocast_is_asked_for(tiny_setup, monkeypatch):
    import contextlib

    import xaireport.methods.dissect.encoders as enc

    d, probe, clip, net = tiny_setup
    calls = []
    monkeypatch.setattr(enc, "_autocast", lambda dev: calls.append(dev) or contextlib.nullcontext())
    enc.encode_probe(probe.paths[:4], None, {"m": (net, ["layer4"])}, batch_size=4, num_workers=0)
    assert calls == []  # the dissected model is never under autocast by default
    enc.encode_probe(probe.paths[:4], None, {"m": (net, ["layer4"])}, batch_size=4, num_workers=0, autocast=True)
    assert calls == [net.device]


def test_cli_dissect_fc_with_imagenet_concepts_uses_full_names(root, tmp_path):
    from xaireport.models.classnames import imagenet_descriptions

    out = tmp_path / "out"
    r = run_xaireport(
        [
            "dissect",
            "--model",
            "resnet18",
            "--random-weights",
            "--layers",
            "fc",
            "--probe",
            "generated",
            "--probe-size",
            "8",
            "--concepts",
            "imagenet",
            "--clip",
            "ViT-S-32",
            "--num-workers",
            "0",
            "--device",
            "cpu",
            "--out",
            str(out),
        ],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(out / "descriptions.csv")
    assert len(t) == 1000 and set(t["layer"]) == {"fc"}
    assert set(t["description"]) <= set(imagenet_descriptions())
    assert t["description"].str.contains(", ").any()


def test_probe_errors(tmp_path):
    with pytest.raises(UserError, match="needs a local folder"):
        load_probe("folder")
    with pytest.raises(UserError, match="probe folder not found"):
        load_probe("folder", tmp_path / "nope")
    with pytest.raises(UserError, match="no probe images"):
        load_probe("folder", tmp_path)
    with pytest.raises(UserError, match="unknown probe source"):
        load_probe("coco")


def test_cli_dissect_on_generated_probe(root, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("red\n\nblue\ngreen\nstripes\n")
    out = tmp_path / "out"
    r = run_xaireport(
        [
            "dissect",
            "--model",
            "resnet18",
            "--random-weights",
            "--layers",
            "layer4",
            "--probe",
            "generated",
            "--probe-size",
            "8",
            "--concepts",
            str(words),
            "--clip",
            "ViT-S-32",
            "--num-workers",
            "0",
            "--device",
            "cpu",
            "--out",
            str(out),
        ],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(out / "descriptions.csv")
    assert list(t.columns) == ["layer", "unit", "description", "similarity"] and len(t) == 512
    assert set(t["description"]) <= {"red", "blue", "green", "stripes"}
    bad = run_xaireport(
        [
            "dissect",
            "--model",
            "resnet18",
            "--random-weights",
            "--probe",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "o2"),
        ],
        cwd=root,
    )
    assert bad.returncode == 2 and "probe folder not found" in bad.stderr and not (tmp_path / "o2").exists()


def test_unknown_similarity_fails_before_any_work(root, tmp_path):
    from xaireport.methods.dissect.similarity import similarity_function

    assert similarity_function("wpmi") is wpmi
    with pytest.raises(UserError, match=r"unknown similarity 'nope': choose from soft_wpmi, wpmi"):
        similarity_function("nope")
    with pytest.raises(UserError, match="unknown similarity 'nope'"):  # no cache, probe or CLIP touched
        dissect(None, None, None, {}, ["layer4"], ["red"], "nope")
    r = run_xaireport(
        [
            "dissect",
            "--model",
            "resnet18",
            "--random-weights",
            "--probe",
            "generated",
            "--similarity",
            "nope",
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=root,
    )
    assert r.returncode == 2 and "unknown similarity 'nope'" in r.stderr and not (tmp_path / "o").exists()
