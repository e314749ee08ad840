"""The package's layer rules (CONTRIBUTING.md, "Where things live"), checked on the import graph that the cache keys
are built from (:mod:`xaireport.core.codegraph`) and on the report's source (issue 35):

* imports go downwards only: ``core`` < ``models``, ``images`` < ``methods`` < ``settings`` < ``results``,
  ``outputs`` < ``session`` < ``engine`` < ``report``, ``cli`` (a module may import its own subpackage and anything
  below);
* ``cli`` never imports ``report`` (a command and a chapter call the same functions of ``results``) and ``report``
  never imports ``cli``;
* ``report`` computes nothing it prints: no numeric primitive (logarithms, roots, NaN-aware or other statistics,
  element-wise maxima, random numbers, FFTs, linear algebra) and no SciPy, scikit-learn or explanation library; a
  measure lives in ``methods/``, a table of numbers in ``results/``, and ``report`` turns them into tables, figures
  and verdicts.
"""

from __future__ import annotations

import ast

import pytest

from xaireport.core.codegraph import PACKAGE_DIR, imports, module_file

MODULES = sorted(
    ".".join(("xaireport", *p.relative_to(PACKAGE_DIR).with_suffix("").parts)).removesuffix(".__init__")
    for p in PACKAGE_DIR.rglob("*.py")
)

#: The layers, bottom up: a module may import modules of a lower layer, and of its own subpackage.
LAYERS = [
    {"core"},
    {"models", "images"},
    {"methods"},
    {"settings"},
    {"results", "outputs"},
    {"session"},
    {"engine"},
    {"report", "cli"},
    {"__main__"},
]
RANK = {part: i for i, layer in enumerate(LAYERS) for part in layer}

#: Imports that break a rule, each to be removed: (importing module, imported module).
ALLOWED = {
    # TEMPORARY (issue 35): `xaireport sanity` takes its verdicts from results.sanity but still draws chapter 5's
    # figures with report.sanity_checks (the figure helpers live in report/figures.py). Remove once they move down.
    ("xaireport.cli.sanity", "xaireport.report.sanity_checks"),
}

#: Numeric primitives ``report`` may not call (``np.<name>``): the computations that define a measure or statistic.
COMPUTING = {
    "log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "power", "square",
    "mean", "median", "std", "var", "average", "percentile", "quantile", "corrcoef", "cov", "histogram",
    "nanmean", "nanmedian", "nanstd", "nanvar", "nansum", "nanmin", "nanmax", "nanpercentile", "nanquantile",
    "maximum", "minimum", "fmax", "fmin", "logical_and", "logical_or", "logical_xor", "cumsum", "diff", "trapz",
    "trapezoid", "convolve", "einsum", "dot", "matmul", "fft", "linalg", "random",
}  # fmt: skip
#: Libraries that compute measures or explanations (torch is not one: the report asks it for a GPU's name).
HEAVY = {"scipy", "sklearn", "captum", "pytorch_grad_cam", "lime", "timm"}

#: (report module, numpy name) uses that break the rule, each to be removed.
ALLOWED_COMPUTING: set[tuple[str, str]] = set()


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _allowed(importer: str, imported: str) -> bool:
    return any(importer == a and (b == imported or b.startswith(imported + ".")) for a, b in ALLOWED)


def test_every_subpackage_has_a_layer():
    assert {_top(m) for m in MODULES} - {""} == set(RANK)


@pytest.mark.parametrize("module", MODULES)
def test_imports_go_downwards_only(module):
    here = _top(module)
    if not here:
        return  # the package's own __init__: it imports nothing (tests/core/test_codegraph.py)
    upward = sorted(
        m for m in imports(module) if _top(m) != here and RANK[_top(m)] >= RANK[here] and not _allowed(module, m)
    )
    assert upward == [], f"{module} imports {upward}: a layer may import only the layers below it"


def test_cli_never_imports_report_and_report_never_cli():
    crossing = sorted(
        (m, i) for m in MODULES for i in imports(m) if {_top(m), _top(i)} == {"cli", "report"} and not _allowed(m, i)
    )
    assert crossing == []


def test_the_allow_lists_name_only_imports_and_uses_that_exist():
    """An entry that no longer breaks a rule is to be deleted, not kept."""
    for importer, imported in ALLOWED:
        assert imported in imports(importer), (importer, imported)
    for module, name in ALLOWED_COMPUTING:
        assert name in _numpy_calls(_source(module)), (module, name)


def _source(module: str) -> str:
    path = module_file(module)
    assert path is not None
    return path.read_text()


def _numpy_calls(source: str) -> set[str]:
    """The ``np.<name>`` (``numpy.<name>``) a module's source uses."""
    return {
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy")
    }


def _heavy_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found & HEAVY


REPORT = [m for m in MODULES if _top(m) == "report"]


@pytest.mark.parametrize("module", REPORT)
def test_report_computes_nothing_it_prints(module):
    source = _source(module)
    computing = sorted(n for n in _numpy_calls(source) & COMPUTING if (module, n) not in ALLOWED_COMPUTING)
    assert computing == [], f"{module} computes with numpy.{computing}: move it to methods/ or results/"
    assert _heavy_imports(source) == set(), module


def test_the_rules_catch_what_issue_35_found():
    """The report rule flags chapter 2's entropy as report/cam_methods.py computed it before issue 35, and the import
    rule a cli module importing a chapter."""
    before = "import numpy as np\nx = np.asarray(m)\nentropy = float(-(nz * np.log(nz)).sum() / np.log(x.size))\n"
    assert _numpy_calls(before) & COMPUTING == {"log"}
    assert _heavy_imports("import numpy as np\nimport scipy.stats\nfrom sklearn import metrics\n") == {
        "scipy",
        "sklearn",
    }
    assert not _allowed("xaireport.cli.cams", "xaireport.report.cam_methods")
    assert _allowed("xaireport.cli.sanity", "xaireport.report")  # the package of the allowed module
