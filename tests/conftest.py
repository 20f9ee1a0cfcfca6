"""Test-session set-up.

The suite's linear algebra is tiny (a few levers, 10,000-draw vectors) and several
tests run two solver processes at once: BLAS threads would only compete with them on
a 2-core machine. One thread per process, set before numpy loads (an explicit setting
in the environment wins).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
