"""The generic kernels, compiled once per company plug-in and cached between processes.

:mod:`compmodel._compiled` holds the solver's compiled best responses, written against
one function of the company model: ``means_jacobian(t, data, columns) -> (means,
jacobian)``. numba neither caches a kernel that takes another kernel as an argument
(numba issues #2956, #6251) nor notices when a compiled callee in another file changes
(an edited callee, and the cached caller still returns the old value). So the kernels are
instantiated per plug-in as source: :func:`kernels_for` writes a module that is the
template with the plug-in's equations imported in place of its ``<plug-in equations>``
block, named by a SHA-256 of every source it compiles (the template, the pay-moment
kernels of :mod:`compmodel.moments`, :mod:`compmodel._jit`, the plug-in's module and
numba's version). The next process finds the same file and loads numba's cache beside
it; an edit to any of those sources gives a new name, so a stale kernel cannot be
loaded, and the module's older files are removed.

A plug-in without exact derivatives names its means function instead
(``means(t, data) -> means``); the generated module then differentiates it by central
differences in compiled code (step ``1e-6 max(1, |t_j|)``). A plug-in that splits its
individual-scope metrics into a person's own part and a company-wide part
(:mod:`compmodel.equilibrium.line_of_sight`) names its compiled split too
(``own_means_jacobian(t, t0, data, columns) -> (own means, jacobian)``), imported as
``_own_means_jacobian_packed``; without one the generated module defines it as the means
themselves (no split), which the kernels never call (no plan variable asks for it).

Where: ``$COMPMODEL_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/compmodel/kernels``, else
``~/.cache/compmodel/kernels`` (a temporary directory if none is writable). Module and
function names reach the generated source only after matching
:data:`compmodel.kinds.MODULE_NAME`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numba

from .errors import ScenarioError
from .kinds import MODULE_NAME

__all__ = ["cache_dir", "kernels_for"]

_HERE = Path(__file__).resolve().parent
_TEMPLATE = _HERE / "_compiled.py"
#: compmodel's own sources the generated kernels compile (with the template)
_OWN = (_HERE / "moments.py", _HERE / "cara.py", _HERE / "_jit.py")
_BEGIN, _END = "# <plug-in equations>", "# </plug-in equations>"
_LOADED: dict[tuple[str, str, str], ModuleType] = {}
#: this process's kernels per plug-in: a plug-in module is imported once per process, so
#: its source cannot change under it (a new process hashes the sources again)
_BY_PLUGIN: dict[tuple[str, str | None, str | None, str | None], ModuleType] = {}

_CENTRAL = '''
from {module} import {means} as _plugin_means


@jit
def _means_jacobian_packed(t, data, columns):
    """The plug-in's means and their central differences in ``columns``."""
    means = _plugin_means(t, data)
    jac = np.empty((means.size, columns.size))
    moved = t.copy()
    for j in range(columns.size):
        c = columns[j]
        h = 1e-6 * max(1.0, abs(t[c]))
        moved[c] = t[c] + h
        up = _plugin_means(moved, data)
        moved[c] = t[c] - h
        down = _plugin_means(moved, data)
        moved[c] = t[c]
        for i in range(means.size):
            jac[i, j] = (up[i] - down[i]) / (2.0 * h)
    return means, jac
'''

_NO_SPLIT = '''

@jit
def _own_means_jacobian_packed(t, t0, data, columns):
    """No split: a person's own part of every metric is all of it (never called)."""
    return _means_jacobian_packed(t, data, columns)
'''


def cache_dir() -> Path:
    """Where generated kernel modules and numba's cache of them live."""
    given = os.environ.get("COMPMODEL_KERNEL_CACHE")
    if given:
        root = Path(given)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "compmodel" / "kernels"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError:
        root = Path(tempfile.mkdtemp(prefix="compmodel-kernels-"))
    return root


def _checked(name: str, what: str, dotted: bool) -> str:
    if not MODULE_NAME.match(name) or (not dotted and "." in name):
        raise ScenarioError(
            "company.kind",
            f"the plug-in's {what} {name!r} is not a Python {'module' if dotted else 'name'}; "
            "fix its declaration (models.CompiledEquations)",
        )
    return name


def _source_of(module: str) -> bytes:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise ScenarioError(
            "company.kind",
            f"the plug-in module {module!r} has no Python source to compile kernels with",
        )
    return Path(spec.origin).read_bytes()


def kernels_for(
    module: str,
    means_jacobian: str | None = None,
    means: str | None = None,
    own_means_jacobian: str | None = None,
) -> ModuleType:
    """The generic kernels compiled with a plug-in's equations.

    Parameters
    ----------
    module
        The plug-in's module (dotted name).
    means_jacobian
        Its compiled ``(t, data, columns) -> (means, jacobian)`` (exact derivatives).
    means
        Or its compiled ``(t, data) -> means`` (derivatives by central differences).
    own_means_jacobian
        Its compiled split of individual-scope metrics, ``(t, t0, data, columns) ->
        (own means, jacobian)`` (optional; module docstring).
    """
    known = _BY_PLUGIN.get((module, means_jacobian, means, own_means_jacobian))
    if known is not None:
        return known
    _checked(module, "module", dotted=True)
    if (means_jacobian is None) == (means is None):
        raise ScenarioError(
            "company.kind",
            "a plug-in's compiled equations name one of means_jacobian (exact derivatives) "
            "or means (central differences)",
        )
    template = _TEMPLATE.read_text(encoding="utf-8")
    head, rest = template.split(_BEGIN, 1)
    _, tail = rest.split(_END, 1)
    if means_jacobian is not None:
        block = f"\nfrom {module} import {_checked(means_jacobian, 'function', False)} as _means_jacobian_packed\n"
    else:
        block = _CENTRAL.format(module=module, means=_checked(str(means), "function", False))
    if own_means_jacobian is not None:
        own = _checked(own_means_jacobian, "function", False)
        block += f"from {module} import {own} as _own_means_jacobian_packed\n"
    else:
        block += _NO_SPLIT
    digest = hashlib.sha256()
    for part in (template.encode(), *(p.read_bytes() for p in _OWN), _source_of(module)):
        digest.update(hashlib.sha256(part).digest())
    digest.update(
        f"{numba.__version__}|{module}|{means_jacobian}|{means}|{own_means_jacobian}".encode()
    )
    tag = digest.hexdigest()[:20]
    key = (module, block, tag)
    found = _LOADED.get(key)
    if found is not None:
        _BY_PLUGIN[(module, means_jacobian, means, own_means_jacobian)] = found
        return found
    root = cache_dir()
    kind = ("exact" if means is None else "cd") + ("own" if own_means_jacobian else "")
    prefix = "kernels_" + module.replace(".", "_") + f"_{kind}_"
    name = f"{prefix}{tag}"
    path = root / f"{name}.py"
    if not path.exists():
        source = (
            f"# Generated by compmodel._kernels from compmodel/_compiled.py for {module}.\n"
            f"# Do not edit: the name is a hash of every source it compiles.\n{head}{block}{tail}"
        )
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=root)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(source)
        os.replace(tmp, path)
        _forget_older(root, prefix, name)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a .py file we just wrote
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    _LOADED[key] = mod
    _BY_PLUGIN[(module, means_jacobian, means, own_means_jacobian)] = mod
    return mod


def _forget_older(root: Path, prefix: str, keep: str) -> None:
    """Remove a plug-in's kernel modules of older sources, and numba's cache of them."""
    for old in root.glob(f"{prefix}*.py"):
        if old.stem != keep:
            with contextlib.suppress(OSError):
                old.unlink()
            for cached in (root / "__pycache__").glob(f"{old.stem}.*"):
                with contextlib.suppress(OSError):
                    cached.unlink()
