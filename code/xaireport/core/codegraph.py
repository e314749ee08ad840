"""Which package code a computation runs, found from the import graph: the basis of every cache key's code part.

A cached result names the module that computes it (``xaireport.results.explanations``) and, where it runs a
method, the module that implements the method (``xaireport.methods.cams.scorecam``). :func:`closure` follows
every ``import`` of the package's own modules from there, recursively — imports inside functions too (they run
when the function runs), and the ``__init__`` of every package on the way (it runs on import) — and
:func:`code_version` hashes the source of all of them. Editing any module a result imports therefore gives its
key a new code part, and editing a module it does not import (a chapter, a figure helper, the CLI, another
method) changes nothing. No list is kept by hand.

Not followed: imports under ``if TYPE_CHECKING:`` (they never run) and modules loaded by name at run time
(``importlib.import_module("...")``): a computation that loads code that way names the module itself (as the
method registry does for each method's implementation module, and the model registry for each family's builder).

Not counted: the package's own ``__init__`` (``xaireport/__init__.py``). It runs on every import but holds only
the version string and a table of names imported on first use (it imports no module of the package when it runs,
which ``tests/core/test_codegraph.py`` checks), so no computation depends on it.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "xaireport"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # code/xaireport


def _source(path: Path) -> bytes:
    """A module's bytes (a seam for tests that pretend a file was edited)."""
    return path.read_bytes()


def module_file(name: str) -> Path | None:
    """The source file of a module of this package (``xaireport.methods.lime`` → ``methods/lime.py``; a package
    → its ``__init__.py``), or ``None`` when ``name`` is not one."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file() and parts[1:]:
        return base.with_suffix(".py")
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST):
    """Every node below ``node``, except the bodies of ``if TYPE_CHECKING:`` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


@cache
def imports(name: str) -> frozenset[str]:
    """The package modules that module ``name`` imports directly (anywhere in the file but type-checking
    blocks), with the packages that contain them. ``name`` may be a module outside the package (a plug-in)."""
    path = module_file(name) if name.split(".")[0] == PACKAGE else _external_file(name)
    if path is None:
        raise ValueError(f"{name}: not a module of the {PACKAGE} package")
    tree = ast.parse(_source(path), filename=str(path))
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = here.split(".")
                base = ".".join(up[: len(up) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            found.add(target)
            for alias in node.names:  # ``from xaireport.methods import agreement``: a module, not a name
                if module_file(f"{target}.{alias.name}") is not None:
                    found.add(f"{target}.{alias.name}")
    out: set[str] = set()
    for m in found:
        if module_file(m) is None:
            continue
        out.add(m)
        out.update(_parents(m))
    out.discard(name)
    out.discard(PACKAGE)  # ``from xaireport import images``: the module counts, the root ``__init__`` does not
    return frozenset(out)


def _parents(name: str) -> list[str]:
    """The packages that contain module ``name``, the root package (:data:`PACKAGE`) left out."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


@cache
def closure(*modules: str) -> frozenset[str]:
    """``modules``, the packages that contain them (but the root package), and every package module they import,
    recursively."""
    todo = [m for name in modules for m in (name, *_parents(name))]
    seen: set[str] = set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        if module_file(m) is None:
            raise ValueError(f"{m}: not a module of the {PACKAGE} package")
        seen.add(m)
        todo.extend(imports(m) - seen)
    return frozenset(seen)


def _split(modules: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(the package modules of :func:`closure` of ``modules`` and of every package module the others import,
    the others): a module outside the package (a plug-in's) counts with its own file and the package code it
    imports."""
    ours = [m for m in modules if m.split(".")[0] == PACKAGE]
    external = sorted(set(modules) - set(ours))
    ours += [m for e in external for m in imports(e)]
    return (sorted(closure(*ours)) if ours else []), external


@cache
def code_version(*modules: str) -> str:
    """Digest of the source of :func:`closure` of ``modules`` (file paths and bytes, in a fixed order). A module
    outside this package (a plug-in's method) counts with its own file and the package modules it imports."""
    if not modules:
        raise ValueError("name the module(s) that compute the result")
    ours, external = _split(modules)
    h = hashlib.sha256()
    for m in ours:
        path = module_file(m)
        assert path is not None
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(_source(path))
    for m in external:
        h.update(m.encode())
        h.update(_source(_external_file(m)))
    return h.hexdigest()[:16]


def listing(*modules: str) -> list[str]:
    """What :func:`code_version` of ``modules`` hashes: the package modules, sorted, then the modules outside it."""
    ours, external = _split(modules)
    return ours + external


def _external_file(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not Path(spec.origin).is_file():
        raise ValueError(f"{name}: no source file found for this module")
    return Path(spec.origin)


def forget() -> None:
    """Drop the remembered graphs and digests (after a source file changed in this process; tests)."""
    imports.cache_clear()
    closure.cache_clear()
    code_version.cache_clear()
