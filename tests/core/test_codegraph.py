"""core/codegraph.py: which package code a result's key holds (issue 35: narrower keys)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from xaireport.core import codegraph
from xaireport.core.codegraph import closure, code_version, imports, listing


def test_the_package_init_runs_nothing_so_no_key_holds_it():
    """``xaireport/__init__.py`` is in no closure: importing the package imports none of its modules (its names are
    imported on first use), which is what makes leaving it out right."""
    code = "import sys, xaireport; print(sorted(m for m in sys.modules if m.startswith('xaireport.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert imports("xaireport") == frozenset()
    assert "xaireport" not in closure("xaireport.session")  # session.py has ``from xaireport import images``
    assert "xaireport.images" in closure("xaireport.session")


def test_a_captum_method_holds_no_cam_code_and_a_cam_no_other_family():
    saliency = closure("xaireport.results.explanations", "xaireport.methods.attributions")
    gradcam = closure("xaireport.results.explanations", "xaireport.methods.cams.gradcam")
    assert "xaireport.methods.targets" in saliency and "xaireport.methods.targets" in gradcam
    assert not any(m.startswith("xaireport.methods.cams") for m in saliency)
    assert "xaireport.methods.attributions" not in gradcam and "xaireport.methods.lime" not in gradcam
    for key in (saliency, gradcam):  # no model family's builder: each counts through its model's results only
        assert not any(m.startswith("xaireport.models.families") for m in key)
        assert "xaireport.models.assembly" not in key


def test_a_plugin_counts_with_its_file_and_the_package_code_it_imports(tmp_path, monkeypatch):
    plugin = tmp_path / "xr_codegraph_plugin.py"
    plugin.write_text("from xaireport.methods.cams import gradcam\nimport numpy\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    codegraph.forget()
    try:
        shown = listing("xaireport.results.explanations", "xr_codegraph_plugin")
        assert shown[-1] == "xr_codegraph_plugin" and "xaireport.methods.cams.gradcam" in shown
        assert shown[:-1] == sorted(closure("xaireport.results.explanations", "xaireport.methods.cams.gradcam"))
        before = code_version("xaireport.results.explanations", "xr_codegraph_plugin")
        plugin.write_text("from xaireport.methods.cams import gradcam\nimport numpy  # edited\n")
        codegraph.forget()
        assert code_version("xaireport.results.explanations", "xr_codegraph_plugin") != before
        real = codegraph._source
        plugin.write_text("from xaireport.methods.cams import gradcam\nimport numpy\n")
        codegraph.forget()
        assert code_version("xaireport.results.explanations", "xr_codegraph_plugin") == before
        monkeypatch.setattr(  # the package module it imports, edited
            codegraph, "_source", lambda p: real(p) + (b"#" if p.as_posix().endswith("cams/gradcam.py") else b"")
        )
        codegraph.forget()
        assert code_version("xaireport.results.explanations", "xr_codegraph_plugin") != before
    finally:
        codegraph.forget()


def test_an_unknown_module_is_an_error():
    with pytest.raises(ValueError, match="no source file"):
        code_version("xaireport.results.explanations", "no_such_plugin_module_35")
