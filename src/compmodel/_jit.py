"""The one place compmodel compiles numerical kernels.

Kernels are plain Python functions (scalar loops over NumPy arrays) decorated with
:func:`jit`, which compiles them with numba on first call and caches the machine code
beside the module, so later processes load it instead of compiling again. Set the
environment variable ``NUMBA_DISABLE_JIT=1`` to run them as ordinary Python (the same
numbers, slower): useful with a debugger or a coverage tool.

Cache safety across processes
-----------------------------
numba names the helper functions it generates inside a kernel (``np.empty``'s
implementation, integer powers, ...) with a per-process counter that starts at 1. Two
processes that each compile *different* kernels into the shared on-disk cache (a sweep
on a process pool, a budget run then a solve, parallel test workers) can therefore give
two different helpers the same symbol. A later process that loads both kernels links
one helper for both and returns garbage or fails with ``SystemError: ... 'descr' is
NULL`` (numba issues #10486 and #4807, open in numba 0.68). On import this module
starts the counter at a random 48-bit offset, so symbols made by different processes
do not meet. Names inside one process stay unique and ordered, as before.

numba writes each cache file atomically (a temporary file, then a rename), so two
processes saving the *same* entry leave one whole copy. Two processes saving different
signatures of one kernel, though, can each read the index before the other writes it:
both take data file 1, and the index can end up naming the other signature's machine
code (a later process loads it for the wrong argument types). :func:`jit` therefore
reads a kernel's cache under a shared lock and writes it under an exclusive one (``flock``
on ``.compmodel-numba.lock`` in the cache folder; where locks are unavailable, numba's
own behaviour).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from numba import njit
from numba.core.bytecode import FunctionIdentity
from numba.core.caching import IndexDataCacheFile

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: numba's own behaviour
    fcntl = None  # type: ignore[assignment]

F = TypeVar("F", bound=Callable[..., object])


def _separate_symbol_names() -> None:
    """Start numba's function-identity counter at a random offset (see the module doc)."""
    if isinstance(getattr(FunctionIdentity, "_unique_ids", None), itertools.count):
        FunctionIdentity._unique_ids = itertools.count(secrets.randbits(48) + 1)


_separate_symbol_names()


LOCK_NAME = ".compmodel-numba.lock"


@contextlib.contextmanager
def _locked(folder: str, exclusive: bool) -> Iterator[None]:
    """Hold ``folder``'s cache lock (shared or exclusive) for the ``with`` block."""
    try:
        fd = os.open(os.path.join(folder, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # no folder yet (nothing to read) or a read-only one
        fd = -1
    try:
        if fd >= 0 and fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without locks
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # releases the lock


class _LockedCacheFile(IndexDataCacheFile):
    """numba's index and data files of one kernel, read and written under a lock: an
    index entry always names its own signature's data (module doc)."""

    def save(self, key: Any, data: Any) -> None:
        with _locked(self._cache_path, exclusive=True):
            super().save(key, data)

    def load(self, key: Any) -> Any:
        with _locked(self._cache_path, exclusive=False):
            return super().load(key)


def jit(fn: F) -> F:
    """Compile ``fn`` in numba's nopython mode, caching the machine code on disk."""
    compiled = njit(cache=True)(fn)
    cache = getattr(getattr(compiled, "_cache", None), "_cache_file", None)
    if type(cache) is IndexDataCacheFile:  # not with NUMBA_DISABLE_JIT=1 (a plain function)
        cache.__class__ = _LockedCacheFile
    return cast(F, compiled)
