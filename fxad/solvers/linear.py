"""cg: conjugate gradients for A x = b with A symmetric positive definite, given as a function.

The solve is a custom_linear_solve (symmetric), so x is differentiated implicitly: a tangent or
a cotangent is one more CG solve with the same A, never the CG iterations themselves.
"""
import numpy as np

from .. import numpy as fnp
from ..core import get_aval
from ..lax import custom_linear_solve, while_loop
from ..tree_util import tree_leaves
from ._util import (DEFAULT_TOL, check_positive_int, check_tol, checked, conform_like,
                    float_tree, tree_add, tree_norm, tree_scale, tree_sub, tree_vdot)

_NAME = 'fxad.solvers.cg'


def cg(matvec, b, x0=None, tol=DEFAULT_TOL, maxiter=None):
    """The solution x of matvec(x) = b by conjugate gradients; A must be symmetric positive
    definite. b (and x0, the initial guess, zeros by default) are arrays or pytrees of arrays.

    CG stops when ||b - A x|| <= tol * ||b|| and raises ConvergenceError at run time if that takes
    more than maxiter steps (default 10 * the size of b). x is differentiable in b and in the
    values matvec closes over, in forward and reverse mode; x0 gets no derivative.
    """
    return cg_solve(matvec, b, x0, check_tol(tol, _NAME), maxiter, _NAME)


def cg_solve(matvec, b, x0, tol, maxiter, solver, measure="||b - A x|| / ||b||"):
    """cg with a checked tol; a ConvergenceError names `solver` and `measure` (so that a
    caller such as minimize's derivative can say which solve failed)."""
    b = float_tree(b, f"{_NAME}: b")
    size = sum(get_aval(leaf).size for leaf in tree_leaves(b))
    maxiter = check_positive_int(10 * max(size, 1) if maxiter is None else maxiter, 'maxiter', _NAME)
    if x0 is not None:
        x0 = conform_like(float_tree(x0, f"{_NAME}: x0"), b, f"{_NAME}'s x0", "b")

    def solve(matvec, b):
        x, r_norm, k, _ = cg_iterations(matvec, b, tree_scale(0.0, b) if x0 is None else x0,
                                        tol * tree_norm(b), maxiter)
        b_norm = tree_norm(b)
        rel = r_norm / fnp.maximum(b_norm, np.finfo(np.float64).tiny)
        return checked(x, r_norm <= tol * b_norm, rel, k, solver=solver, measure=measure, tol=tol)

    return custom_linear_solve(matvec, b, solve, symmetric=True)


def cg_iterations(matvec, b, x0, threshold, maxiter):
    """Conjugate gradients from x0 until ||b - A x|| <= threshold, maxiter steps, or a direction
    of non-positive curvature p^T A p <= 0 (A is not positive definite there).

    Returns (x, ||b - A x||, iterations, curvature_ok).
    """
    r0 = tree_sub(b, matvec(x0))
    gamma0 = tree_vdot(r0, r0)

    def cond(carry):
        _, _, _, gamma, k, curvature_ok = carry
        return (fnp.sqrt(gamma) > threshold) & (k < maxiter) & curvature_ok

    def body(carry):
        x, r, p, gamma, k, _ = carry
        ap = matvec(p)
        curvature = tree_vdot(p, ap)
        ok = curvature > 0
        alpha = fnp.where(ok, gamma / fnp.where(ok, curvature, 1.0), 0.0)
        x = tree_add(x, tree_scale(alpha, p))
        r = tree_sub(r, tree_scale(alpha, ap))
        gamma_new = tree_vdot(r, r)
        p = tree_add(r, tree_scale(gamma_new / gamma, p))
        return x, r, p, gamma_new, k + 1, ok

    x, _, _, gamma, k, ok = while_loop(cond, body, (x0, r0, r0, gamma0, 0, True))
    return x, fnp.sqrt(gamma), k, ok
