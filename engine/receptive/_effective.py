"""Theoretical versus effective receptive field (Luo, Li, Urtasun & Zemel, NIPS 2016).

The theoretical field is every cell the output can see (the mask); the effective field is
the part that carries most of the contribution: the fewest cells, largest ``|map|`` first,
whose ``|map|`` adds up to ``mass`` (95 % by default) of the total. For n stacked layers the
theoretical width grows like n, the effective width like √n (the all-ones map is an n-fold
convolution, i.e. nearly Gaussian with standard deviation ∝ √n), so the fraction shrinks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def effective_fraction(cmap, mass: float = 0.95) -> dict:
    """How concentrated a contribution map is.

    Returns ``{"theoretical_cells", "effective_cells", "fraction", "mass"}``:
    non-zero cells, the fewest cells holding ``mass`` of ``Σ|map|``, and their ratio.
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1]. Received: mass={mass!r}")
    a = np.abs(np.asarray(cmap, np.float64)).ravel()
    support = int(np.count_nonzero(a))
    total = a.sum()
    if support == 0 or total == 0:
        return {"theoretical_cells": support, "effective_cells": 0, "fraction": 0.0,
                "mass": mass}
    values = np.sort(a[a > 0])[::-1]
    cum = np.cumsum(values)
    k = int(np.searchsorted(cum, mass * total * (1 - 1e-12))) + 1
    k = min(k, support)
    return {"theoretical_cells": support, "effective_cells": k, "fraction": k / support,
            "mass": mass}


@dataclass
class Growth:
    """Result of :func:`erf_growth`: one dict per depth and the fitted growth exponents.

    Each row: ``depth``, ``theoretical_cells``, ``effective_cells``, ``fraction``,
    ``theoretical_width`` / ``effective_width`` (cells ** (1/rank): a side length).
    ``theoretical_exponent`` / ``effective_exponent``: slopes of log width vs log depth
    (about 1 and 1/2 for plain stacks, Luo et al.).
    """

    rows: list = field(default_factory=list)
    theoretical_exponent: float = float("nan")
    effective_exponent: float = float("nan")


def _slope(xs, ys):
    xs, ys = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    if len(xs) < 2 or np.ptp(xs) == 0:
        return float("nan")
    return float(np.polyfit(xs, ys, 1)[0])


def erf_growth(make_layers, input_shape, depths, mass: float = 0.95, weights: str = "ones",
               x=None) -> Growth:
    """Theoretical vs effective field of ``make_layers(n)`` for each ``n`` in ``depths``, at
    the centre output position. ``make_layers(n)`` returns a fresh list of layers."""
    from engine.receptive._maps import ReceptivePlan

    growth = Growth()
    for n in depths:
        plan = ReceptivePlan(make_layers(n), input_shape)
        index = tuple(s // 2 for s in plan.output_spatial)
        stats = effective_fraction(plan.contribution_map(index, weights, x), mass)
        rank = plan.rank
        growth.rows.append({
            "depth": n, **stats,
            "theoretical_width": stats["theoretical_cells"] ** (1 / rank),
            "effective_width": stats["effective_cells"] ** (1 / rank),
        })
    ok = [r for r in growth.rows if r["effective_cells"] > 0]
    growth.theoretical_exponent = _slope([r["depth"] for r in ok],
                                         [r["theoretical_width"] for r in ok])
    growth.effective_exponent = _slope([r["depth"] for r in ok],
                                       [r["effective_width"] for r in ok])
    if not math.isfinite(growth.effective_exponent):
        growth.effective_exponent = float("nan")
    return growth
