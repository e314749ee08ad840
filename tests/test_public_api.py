"""Every name a module exports in ``__all__`` imports (issue 23: three of them raised ModuleNotFoundError)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from xaireport.core.codegraph import PACKAGE_DIR

MODULES = sorted(
    ".".join(("xaireport", *p.relative_to(PACKAGE_DIR).with_suffix("").parts)).removesuffix(".__init__")
    for p in PACKAGE_DIR.rglob("*.py")
    if "__all__" in p.read_text()
)


def test_the_modules_with_all_are_found():
    assert {"xaireport", "xaireport.models"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_every_exported_name_imports(module):
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if getattr(mod, name, None) is None]
    assert not missing


def test_the_top_level_names_are_the_real_objects():
    import xaireport
    from xaireport.core.errors import UserError
    from xaireport.methods.registry import register
    from xaireport.settings import Settings, load

    assert xaireport.UserError is UserError and xaireport.Settings is Settings
    assert xaireport.load_settings is load and xaireport.register_method is register


def test_importing_the_package_loads_no_torch():
    code = "import sys, xaireport; xaireport.Settings; xaireport.UserError; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
