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


#: A plug-in that declares its own settings section and a method whose map depends on one of them.
SECTION_PLUGIN = """
from dataclasses import dataclass

from xaireport.methods.registry import Method, register
from xaireport.settings import between, register_section, setting


@dataclass(frozen=True)
class MyCamSettings:
    alpha: float = setting(0.5, between(0, 1))
    steps: list[int] = setting([1, 2])


register_section("mycam", MyCamSettings)
register(Method("mycam", "My CAM", "CAM", "xaireport.methods.cams.gradcam", params={"alpha": "mycam.alpha"}))
"""


@pytest.fixture()
def section_plugin(tmp_path, monkeypatch):
    """The plug-in module ``mysection_plugin`` on the path; its method and section are removed afterwards."""
    from xaireport import settings as mod
    from xaireport.methods import registry

    (tmp_path / "mysection_plugin.py").write_text(SECTION_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "mysection_plugin"
    registry.METHODS.pop("mycam", None)
    mod.SECTIONS.pop("mycam", None)
    __import__("sys").modules.pop("mysection_plugin", None)


def test_a_plugin_declares_its_own_typed_settings(project, section_plugin, monkeypatch):
    """Issue 35: a plug-in's section is merged, type- and range-checked like the built-in ones, and its method's
    params read it (the same file lists the plug-in, sets its section and names its method)."""
    from xaireport.results.explanations import options

    (project / "_quarto.yml").write_text(
        f"xaireport:\n  plugins: [{section_plugin}]\n  mycam:\n    alpha: 0.25\n  cams:\n    methods: [mycam]\n"
    )
    s = load(profile="", project_dir=project)
    assert s.value("mycam.alpha") == 0.25 and s.value("mycam.steps") == [1, 2] and s.cams.methods == ["mycam"]
    assert s.as_dict("mycam") == {"alpha": 0.25, "steps": [1, 2]} and s.as_dict()["mycam"]["alpha"] == 0.25
    assert defaults()["mycam"] == {"alpha": 0.5, "steps": [1, 2]}
    from xaireport.methods.registry import METHODS

    assert options(METHODS["mycam"], s) == ({"alpha": 0.25}, {})
    monkeypatch.setenv("XAIREPORT_OVERRIDES", '{"mycam.alpha": 0.75}')
    assert load(profile="", project_dir=project).value("mycam.alpha") == 0.75
    monkeypatch.delenv("XAIREPORT_OVERRIDES")
    for text, error in (
        ("  mycam:\n    alpha: 2\n", r"_quarto.yml: xaireport.mycam.alpha = 2 is out of range: it must be in \[0, 1\]"),
        ("  mycam:\n    alpha: high\n", r"xaireport.mycam.alpha must be number, got 'high'"),
        ("  mycam:\n    alpah: 0.1\n", r"unknown setting xaireport.mycam.alpah \(did you mean mycam.alpha\?\)"),
    ):
        (project / "_quarto.yml").write_text(f"xaireport:\n  plugins: [{section_plugin}]\n{text}")
        with pytest.raises(UserError, match=error):
            load(profile="", project_dir=project)


def test_a_plugin_section_is_unknown_without_its_plugin(project):
    (project / "_quarto.yml").write_text("xaireport:\n  nosuchsection:\n    alpha: 0.25\n")
    with pytest.raises(UserError, match="unknown setting xaireport.nosuchsection"):
        load(profile="", project_dir=project)


def test_a_method_parameter_naming_no_setting_is_one_error_line(project, tmp_path, monkeypatch):
    """CONTRIBUTING's example before issue 35 (``params={"alpha": "mycam.alpha"}`` with no section) ended in a
    KeyError traceback when the method ran; now the settings load says what to declare."""
    from xaireport.methods import registry

    (tmp_path / "nosection_plugin.py").write_text(
        "from xaireport.methods.registry import Method, register\n"
        "register(Method('nosection', 'N', 'CAM', 'xaireport.methods.cams.gradcam', params={'alpha': 'nope.alpha'}))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (project / "_quarto.yml").write_text("xaireport:\n  plugins: [nosection_plugin]\n")
    try:
        with pytest.raises(
            UserError,
            match=r"method 'nosection': its parameter 'alpha' reads the setting "
            r"xaireport.nope.alpha, which no settings section declares",
        ):
            load(profile="", project_dir=project)
    finally:
        registry.METHODS.pop("nosection", None)


def test_register_section_refuses_what_the_loader_could_not_check():
    from dataclasses import dataclass

    from xaireport.settings import SECTIONS, register_section, setting

    @dataclass(frozen=True)
    class Clash:
        seed: int = setting(1)

    @dataclass(frozen=True)
    class NoDefault:
        x: int

    @dataclass(frozen=True)
    class Odd:
        x: dict = setting(None)

    with pytest.raises(ValueError, match="built-in"):
        register_section("lime", Clash)
    with pytest.raises(ValueError, match="every field needs a default"):
        register_section("nodefault", NoDefault)
    with pytest.raises(ValueError, match="unsupported type"):
        register_section("odd", Odd)
    with pytest.raises(ValueError, match="not a dataclass"):
        register_section("plain", int)
    assert not {"lime", "nodefault", "odd", "plain"} & set(SECTIONS)


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
