"""The one place compmodel compiles numerical kernels.

Kernels are plain Python functions (scalar loops over NumPy arrays) decorated with
:func:`jit`, which compiles them with numba on first call and caches the machine code
beside the module, so later processes load it instead of compiling again. Set the
environment variable ``NUMBA_DISABLE_JIT=1`` to run them as ordinary Python (the same
numbers, slower): useful with a debugger or a coverage tool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from numba import njit

F = TypeVar("F", bound=Callable[..., object])


def jit(fn: F) -> F:
    """Compile ``fn`` in numba's nopython mode, caching the machine code on disk."""
    return cast(F, njit(cache=True)(fn))
