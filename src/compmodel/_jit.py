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
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from typing import TypeVar, cast

from numba import njit
from numba.core.bytecode import FunctionIdentity

F = TypeVar("F", bound=Callable[..., object])


def _separate_symbol_names() -> None:
    """Start numba's function-identity counter at a random offset (see the module doc)."""
    if isinstance(getattr(FunctionIdentity, "_unique_ids", None), itertools.count):
        FunctionIdentity._unique_ids = itertools.count(secrets.randbits(48) + 1)


_separate_symbol_names()


def jit(fn: F) -> F:
    """Compile ``fn`` in numba's nopython mode, caching the machine code on disk."""
    return cast(F, njit(cache=True)(fn))
