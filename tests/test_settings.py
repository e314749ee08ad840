from __future__ import annotations

import re

import pytest

from xaireport.core.errors import UserError
from xaireport.settings import Settings, defaults, load


def test_project_settings_and_profiles_load(root):
    base = load(profile="", project_dir=root)
    assert base.classifier.model == "resnet50"
    assert base.cams.methods == ["gradcam", "ablationcam", "scorecam"]
    offline = load(profile="offline", project_dir=root)
    assert offline.classifier.model == "efficientnet-lite0"
    assert offline.cams.methods == base.cams.methods  # untouched keys survive the merge
    smoke = load(profile="smoke", project_dir=root)
    assert smoke.images.limit == 2 and smoke.dissection.random_weights is True
    assert smoke.banner and base.banner is None


def test_profile_from_environment(root, monkeypatch):
    monkeypatch.setenv("QUARTO_PROFILE", "smoke")
    monkeypatch.setenv("QUARTO_PROJECT_DIR", str(root))
    s = load()
    assert s.profiles == ("smoke",) and s.lime.num_samples == 150


def test_first_listed_profile_wins(project):
    (project / "_quarto-a.yml").write_text("xaireport:\n  seed: 1\n")
    (project / "_quarto-b.yml").write_text("xaireport:\n  seed: 2\n  device: cpu\n")
    s = load(profile="a,b", project_dir=project)
    assert s.seed == 1 and s.device == "cpu"


def test_nested_merge_keeps_siblings(project):
    (project / "_quarto.yml").write_text("xaireport:\n  lime:\n    num_samples: 77\n")
    s = load(profile="", project_dir=project)
    assert s.lime.num_samples == 77
    assert s.lime.num_features == defaults()["lime"]["num_features"]


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("xaireport:\n  lime:\n    num_sample: 10\n", "xaireport.lime.num_sample (did you mean lime.num_samples?)"),
        ("xaireport:\n  colour: red\n", "unknown setting xaireport.colour"),
        ("xaireport:\n  lime:\n    num_samples: many\n", "xaireport.lime.num_samples must be int, got 'many'"),
        ("xaireport:\n  cams:\n    methods: gradcam\n", "xaireport.cams.methods must be list of str"),
        ("xaireport:\n  lime:\n    num_samples: 2.5\n", "xaireport.lime.num_samples must be int"),
        ("xaireport:\n  seed: -1\n", "xaireport.seed = -1 is out of range: it must be in [0, 4294967295]"),
        ("xaireport:\n  seed: 18446744073709551616\n", "xaireport.seed = 18446744073709551616 is out of range"),
        ("xaireport:\n  seed: true\n", "xaireport.seed must be int"),
        ("xaireport:\n  lime: 5\n", "xaireport.lime must be a mapping"),
    ],
)
def test_bad_settings_name_the_key(project, yaml_text, message):
    (project / "_quarto.yml").write_text(yaml_text)
    with pytest.raises(UserError, match=re.escape(message)):
        load(profile="", project_dir=project)


def test_unknown_profile_is_an_error(project):
    with pytest.raises(UserError, match="profile 'nope' has no such file"):
        load(profile="nope", project_dir=project)


def test_nullable_and_path_resolution(project):
    (project / "_quarto.yml").write_text(
        "xaireport:\n  classifier:\n    weights: w/model.pth\n  images:\n    limit: 3\n"
    )
    s = load(profile="", project_dir=project)
    assert s.path(s.classifier.weights) == project / "w/model.pth"
    assert s.images.limit == 3
    assert load(profile="", project_dir=project, overrides={"device": "cpu"}).device == "cpu"


def test_default_profile_from_quarto_yml(project):
    (project / "_quarto.yml").write_text("profile:\n  default: fast\n")
    (project / "_quarto-fast.yml").write_text("xaireport:\n  seed: 9\n")
    assert load(project_dir=project).seed == 9


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        (
            "xaireport:\n  images:\n    max_megapixels: -1\n",
            "xaireport.images.max_megapixels = -1 is out of range: it must be > 0",
        ),
        (
            "xaireport:\n  lime:\n    num_samples: -5\n",
            "xaireport.lime.num_samples = -5 is out of range: it must be in [2, 100000]",
        ),
        (
            "xaireport:\n  comparison:\n    area_fractions: [0.1, 1.5]\n",
            "xaireport.comparison.area_fractions = 1.5 is out of range: each item must be in (0, 1]",
        ),
        ("xaireport:\n  cams:\n    methods: []\n", "xaireport.cams.methods may not be an empty list"),
        (
            "xaireport:\n  display:\n    outlier_percent: 50\n",
            "xaireport.display.outlier_percent = 50 is out of range: it must be in [0, 50)",
        ),
        (
            "xaireport:\n  classifier:\n    model: vgg\n",
            "xaireport.classifier.model = 'vgg' is out of range: it must be one of",
        ),
        ("xaireport:\n  dissection:\n    num_workers: -1\n", "xaireport.dissection.num_workers = -1 is out of range"),
    ],
)
def test_values_are_range_checked_naming_file_and_key(project, yaml_text, message):
    (project / "_quarto.yml").write_text(yaml_text)
    with pytest.raises(UserError, match=re.escape(message)) as err:
        load(profile="", project_dir=project)
    assert str(err.value).startswith(str(project / "_quarto.yml"))


def test_a_number_setting_takes_ints_and_floats(project):
    (project / "_quarto.yml").write_text("xaireport:\n  images:\n    max_megapixels: 0.5\n")
    assert load(profile="", project_dir=project).images.max_megapixels == 0.5  # was refused as 'must be int'


def test_every_field_is_declared_once_with_a_type_and_default():
    """The schema is the dataclass tree: every field has a default, a resolvable type, and defaults pass their
    own range checks."""
    import dataclasses
    import typing

    from xaireport import settings as mod

    def walk(cls):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, f.name
            assert f.name in hints
            if mod._is_section(hints[f.name]):
                walk(hints[f.name])

    walk(Settings)
    mod._check_ranges(defaults(), Settings, "", {})  # raises if a default is out of its own range


def test_invalid_yaml_names_line_and_column(project):
    (project / "_quarto.yml").write_text("xaireport:\n  seed: 1\n  lime: [1, 2\n")
    with pytest.raises(UserError, match=r"_quarto.yml: not valid YAML at line \d+, column \d+"):
        load(profile="", project_dir=project)


def test_typed_sections(root):
    s = load(profile="smoke", project_dir=root)
    assert s.lime.num_samples == 150 and isinstance(s.lime.num_samples, int)
    assert s.dissection.clip.arch == "ViT-S-32" and s.dissection.probe.size == 48
    assert s.dissection.models.places365.model == "resnet18-places365"
    assert s.cams.methods == s.value("cams.methods") and s.seed == 0
    assert s.as_dict("lime") == {"num_samples": 150, "num_features": 5, "batch_size": 8, "stability_seeds": 2}
    with pytest.raises(KeyError, match="no setting xaireport.lime.nope"):
        s.value("lime.nope")


def test_plugins_register_methods_named_in_the_same_file(project, tmp_path, monkeypatch):
    """A plugin module's method can be named in cams.methods of the file that lists the plugin (range checks run
    after the plugins are imported)."""
    (tmp_path / "myplugin_cams.py").write_text(
        "from xaireport.methods.registry import Method, register\n"
        "register(Method('mycam', 'My CAM', 'CAM', 'xaireport.methods.cams.gradcam'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (project / "_quarto.yml").write_text(
        "xaireport:\n  plugins: [myplugin_cams]\n  cams:\n    methods: [gradcam, mycam]\n"
    )
    from xaireport.methods import registry

    try:
        assert load(profile="", project_dir=project).cams.methods == ["gradcam", "mycam"]
    finally:
        registry.METHODS.pop("mycam", None)
    (project / "_quarto.yml").write_text("xaireport:\n  plugins: [no_such_plugin_module]\n")
    with pytest.raises(UserError, match="plugin module 'no_such_plugin_module' cannot be imported"):
        load(profile="", project_dir=project)


def test_environment_overrides_apply_and_are_checked(root, monkeypatch):
    monkeypatch.setenv("XAIREPORT_OVERRIDES", '{"paths.cache": "/tmp/elsewhere", "lime.num_samples": 12}')
    s = load(profile="smoke", project_dir=root)
    assert s.paths.cache == "/tmp/elsewhere" and s.lime.num_samples == 12
    monkeypatch.setenv("XAIREPORT_OVERRIDES", '{"lime.num_samples": 1}')
    with pytest.raises(UserError, match=r"lime.num_samples = 1 is out of range"):
        load(profile="smoke", project_dir=root)
    monkeypatch.setenv("XAIREPORT_OVERRIDES", "[1]")
    with pytest.raises(UserError, match=r"must be a JSON object"):
        load(profile="smoke", project_dir=root)
