"""Brent's root finder exactly as R's ``uniroot`` runs it (``R_zeroin2``), so roots agree to the bit.

Kayenta's Mann-Whitney interval is R's ``wilcox.test`` interval, found with ``uniroot(tol=1e-4)``.
The function searched is a step function of the shift, so *where* the search stops inside the
tolerance depends on the exact sequence of bisection and interpolation steps; a different Brent
variant (SciPy's ``brentq``) lands on a different point within 1e-4. This one follows the
published algorithm (Brent 1973, chapter 4) step for step: secant or inverse quadratic
interpolation when it stays inside the bracket and shrinks fast enough, bisection otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

EPSILON = sys.float_info.epsilon
DEFAULT_TOLERANCE = 1e-4
MAX_ITERATIONS = 1000


def zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    f_lower: float,
    f_upper: float,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> float:
    """A point of ``[lower, upper]`` within ``tolerance`` of a sign change of ``f``.

    ``f_lower``/``f_upper`` are ``f`` at the ends (the caller has them already). Like R, it does
    not check that they differ in sign, and after ``max_iterations`` it returns its best point.

    >>> round(zeroin(lambda x: x * x - 2, 0.0, 2.0, -2.0, 2.0, tolerance=1e-12), 9)
    1.414213562
    """
    a, b = lower, upper
    fa, fb = f_lower, f_upper
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(max_iterations + 1):
        previous_step = b - a
        if abs(fc) < abs(fb):
            # keep b the best guess so far
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tolerance_here = 2.0 * EPSILON * abs(b) + tolerance / 2.0
        step = (c - b) / 2.0
        if abs(step) <= tolerance_here or fb == 0.0:
            return b
        if abs(previous_step) >= tolerance_here and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < 0.75 * cb * q - abs(tolerance_here * q) / 2.0 and p < abs(previous_step * q / 2.0):
                step = p / q
        if abs(step) < tolerance_here:
            step = tolerance_here if step > 0.0 else -tolerance_here
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            c, fc = a, fa
    return b
