from __future__ import annotations

import re

import pytest

from xaireport.errors import UserError
from xaireport.settings import DEFAULTS, load


def test_project_settings_and_profiles_load(root):
    base = load(profile="", project_dir=root)
    assert base["classifier.model"] == "resnet50"
    assert base["cams.methods"] == ["gradcam", "ablationcam", "scorecam"]
    offline = load(profile="offline", project_dir=root)
    assert offline["classifier.model"] == "efficientnet-lite0"
    assert offline["cams.methods"] == base["cams.methods"]  # untouched keys survive the merge
    smoke = load(profile="smoke", project_dir=root)
    assert smoke["images.limit"] == 2 and smoke["dissection.random_weights"] is True
    assert smoke["banner"] and base["banner"] is None


def test_profile_from_environment(root, monkeypatch):
    monkeypatch.setenv("QUARTO_PROFILE", "smoke")
    monkeypatch.setenv("QUARTO_PROJECT_DIR", str(root))
    s = load()
    assert s.profiles == ("smoke",) and s["lime.num_samples"] == 150


def test_first_listed_profile_wins(project):
    (project / "_quarto-a.yml").write_text("xaireport:\n  seed: 1\n")
    (project / "_quarto-b.yml").write_text("xaireport:\n  seed: 2\n  device: cpu\n")
    s = load(profile="a,b", project_dir=project)
    assert s["seed"] == 1 and s["device"] == "cpu"


def test_nested_merge_keeps_siblings(project):
    (project / "_quarto.yml").write_text("xaireport:\n  lime:\n    num_samples: 77\n")
    s = load(profile="", project_dir=project)
    assert s["lime.num_samples"] == 77
    assert s["lime.num_features"] == DEFAULTS["lime"]["num_features"]


@pytest.mark.parametrize("yaml_text, message", [
    ("xaireport:\n  lime:\n    num_sample: 10\n", "xaireport.lime.num_sample (did you mean lime.num_samples?)"),
    ("xaireport:\n  colour: red\n", "unknown setting xaireport.colour"),
    ("xaireport:\n  lime:\n    num_samples: many\n", "xaireport.lime.num_samples must be int"),
    ("xaireport:\n  cams:\n    methods: gradcam\n", "xaireport.cams.methods must be list"),
    ("xaireport:\n  seed: true\n", "xaireport.seed must be int"),
    ("xaireport:\n  lime: 5\n", "xaireport.lime must be a mapping"),
])
def test_bad_settings_name_the_key(project, yaml_text, message):
    (project / "_quarto.yml").write_text(yaml_text)
    with pytest.raises(UserError, match=re.escape(message)):
        load(profile="", project_dir=project)


def test_unknown_profile_is_an_error(project):
    with pytest.raises(UserError, match="profile 'nope' has no such file"):
        load(profile="nope", project_dir=project)


def test_nullable_and_path_resolution(project):
    (project / "_quarto.yml").write_text("xaireport:\n  classifier:\n    weights: w/model.pth\n  images:\n    limit: 3\n")
    s = load(profile="", project_dir=project)
    assert s.path("classifier.weights") == project / "w/model.pth"
    assert s["images.limit"] == 3
    assert load(profile="", project_dir=project, overrides={"device": "cpu"})["device"] == "cpu"


def test_default_profile_from_quarto_yml(project):
    (project / "_quarto.yml").write_text("profile:\n  default: fast\n")
    (project / "_quarto-fast.yml").write_text("xaireport:\n  seed: 9\n")
    assert load(project_dir=project)["seed"] == 9
