"""The equilibrium solver, a module per concern (see :mod:`compmodel.solve` for the
public functions and the map of modules).

Layers, bottom to top: ``participation`` and ``line_of_sight``; ``results`` (the
solution records, built with participation) and ``problem`` (the department problem);
``best_response`` and ``newton`` (the Python climbs); ``backends`` (Python and compiled
behind one protocol); ``gauss_seidel`` (sweeps from a profile) and ``benchmarks`` (first
best); ``selection`` (starting profiles, the highest-surplus rule, warm continuation);
``steady`` (where customers carry over: the steady state, each year a selection).
"""
