"""``xaireport explain`` and ``xaireport methods`` (cli/explain.py), with the plug-in of CONTRIBUTING.md: a method
in a module outside the package, named only in the settings' ``plugins`` and ``cams.methods`` (issue 35)."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from xaireport import cli


def contributing_block(root: Path, first_line: str) -> str:
    """The fenced code block of CONTRIBUTING.md that starts with ``first_line`` (dedented)."""
    text = (root / "CONTRIBUTING.md").read_text()
    for block in re.findall(r"```\w*\n(.*?)^\s*```", text, re.S | re.M):
        code = textwrap.dedent(block)
        if code.startswith(first_line):
            return code
    raise AssertionError(f"CONTRIBUTING.md has no code block starting with {first_line!r}")


@pytest.fixture()
def plugin_project(tmp_path: Path, root: Path, monkeypatch):
    """A report folder whose settings name CONTRIBUTING's ``mycam`` plug-in (alpha 3) in ``plugins`` and
    ``cams.methods``; no file of the project is edited. The plug-in's method and section are removed afterwards."""
    from xaireport import settings
    from xaireport.methods import registry

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins/mycam.py").write_text(contributing_block(root, "# mycam.py"))
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    yaml_block = contributing_block(root, "xaireport:\n  plugins: [mycam]")
    assert "alpha: 3" in yaml_block and "methods: [gradcam, ablationcam, scorecam, mycam]" in yaml_block
    yaml_block = yaml_block.replace("[gradcam, ablationcam, scorecam, mycam]", "[gradcam, mycam]")
    (tmp_path / "_quarto.yml").write_text(
        "project:\n  type: website\n"
        + yaml_block
        + "  device: cpu\n  classifier:\n    model: efficientnet-lite0\n  images:\n    folder: imgs\n"
        "  paths:\n    cache: cache\n    results: results\n    figures: figures\n"
    )
    (tmp_path / "imgs").mkdir()
    shutil.copy(root / "data/images/coffee.png", tmp_path / "imgs/coffee.png")
    yield tmp_path
    registry.METHODS.pop("mycam", None)
    settings.SECTIONS.pop("mycam", None)
    sys.modules.pop("mycam", None)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_methods_lists_the_plugins_of_the_settings(plugin_project, capsys):
    code, out, err = run(capsys, "methods", "--project", str(plugin_project), "--family", "CAM")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines() if not line.startswith(("#", "name"))}
    assert "mycam" in rows and "My-CAM" in rows["mycam"] and "lime" not in rows
    assert out.splitlines()[-1] == f"# {len(rows)} methods (plugins: mycam)"


def test_methods_lists_while_another_setting_is_wrong(plugin_project, capsys):
    """The list is what a settings file may name: it must not need the file to be right already."""
    cfg = plugin_project / "_quarto.yml"
    cfg.write_text(cfg.read_text().replace("[gradcam, mycam]", "[gradcam, mycm]"))
    code, out, _ = run(capsys, "methods", "--project", str(plugin_project))
    assert code == 0 and "\nmycam " in out
    code, _, err = run(capsys, "cams", "--project", str(plugin_project), "--out", str(plugin_project / "o"))
    assert code == 2 and "'mycm'" in err and "mycam" in err  # the run itself checks every setting


def test_explain_accepts_a_plugin_method_with_its_own_setting(plugin_project, capsys):
    out = plugin_project / "out"
    code, stdout, err = run(
        capsys, "explain", "--project", str(plugin_project), "--methods", "gradcam,mycam", "--out", str(out)
    )
    assert code == 0, err
    assert "1 images × 2 methods (gradcam,mycam)" in stdout
    grad, mine = np.load(out / "gradcam/coffee.npy"), np.load(out / "mycam/coffee.npy")
    assert mine.shape == grad.shape and mine.dtype == np.float32
    np.testing.assert_allclose(mine, grad**3, rtol=1e-6)  # mycam.alpha: 3 from the settings file, not the default 2


def test_cams_accepts_a_plugin_cam_and_refuses_unknown_names_with_the_plugins_among_the_choices(plugin_project, capsys):
    code, _, err = run(
        capsys, "cams", "--project", str(plugin_project), "--methods", "mycam", "--out", str(plugin_project / "o1")
    )
    assert code == 0, err
    code, _, err = run(
        capsys, "explain", "--project", str(plugin_project), "--methods", "nosuch", "--out", str(plugin_project / "o2")
    )
    assert code == 2 and "Traceback" not in err
    assert err.startswith("xaireport: error: unknown method 'nosuch' in --methods: choose from gradcam,")
    assert err.rstrip().endswith("occlusion, mycam")
    code, _, err = run(
        capsys, "cams", "--project", str(plugin_project), "--methods", "lime", "--out", str(plugin_project / "o3")
    )
    assert code == 2 and "unknown CAM method 'lime' in --methods" in err and "mycam" in err


def test_methods_keys_lists_the_code_in_a_methods_key(root, capsys):
    """Issue 35: Saliency's key holds the family-neutral target code, no CAM code; the offline classifier's builder
    adds its own family's module and no other's."""
    code, out, err = run(capsys, "methods", "--project", str(root), "--profile", "offline", "--keys", "saliency")
    assert code == 0, err
    lines = out.splitlines()
    second = next(i for i, line in enumerate(lines) if i > 0 and line.startswith("#"))
    method, builder = lines[1:second], lines[second + 1 :]
    assert lines[0] == f"# saliency: {len(method)} modules (the explanation and the method)"
    assert {"xaireport.methods.attributions", "xaireport.methods.targets", "xaireport.results.explanations"} <= set(
        method
    )
    assert not any(m.startswith(("xaireport.methods.cams", "xaireport.models.families")) for m in method)
    assert "xaireport" not in method and method == sorted(method)
    assert lines[second] == f"# efficientnet-lite0 (classifier.model): {len(builder)} more modules (its builder)"
    assert "xaireport.models.families.efficientnet_lite" in builder
    assert not any(m.endswith(("families.resnet", "families.timm_models")) for m in builder)


def test_methods_keys_of_a_plugin_lists_its_module_and_what_it_imports(plugin_project, capsys):
    code, out, err = run(capsys, "methods", "--project", str(plugin_project), "--keys", "mycam")
    assert code == 0, err
    lines = out.splitlines()
    end = lines.index(next(x for x in lines[1:] if x.startswith("#")))
    assert lines[end - 1] == "mycam" and "xaireport.methods.cams.gradcam" in lines[1:end]
    code, _, err = run(capsys, "methods", "--project", str(plugin_project), "--keys", "nosuch")
    assert code == 2 and "unknown method 'nosuch' in --keys" in err
