"""root: Newton's method for g(x, *params) = 0, differentiated by the implicit function theorem
(custom_root): dx* = -(dg/dx)^-1 (dg/dtheta) dtheta, with the tangent system solved densely."""
import numpy as np

from .. import numpy as fnp
from ..api import jacfwd
from ..core import get_aval
from ..lax import custom_linear_solve, custom_root, while_loop
from ._util import (DEFAULT_TOL, check_positive_int, check_tol, checked, conform_like,
                    float_tree, tree_max_abs)

_NAME = 'fxad.solvers.root'
_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


def root(g, x0, *params, tol=DEFAULT_TOL, max_iter=50):
    """x* with g(x*, *params) = 0, by Newton's method from x0 (an array of any shape).

    Each step solves the dense Jacobian system (for small problems). The iteration stops when
    the Newton step is small relative to the iterate, max|dx| <= tol * max|x|, and raises
    ConvergenceError at run time if that takes more than max_iter steps or a step meets a
    (numerically) singular Jacobian. x* is differentiable in params (and in values g closes
    over) in both modes, given a nonsingular dg/dx at x*; x0 gets no derivative.
    """
    tol = check_tol(tol, _NAME)
    max_iter = check_positive_int(max_iter, 'max_iter', _NAME)
    x0 = float_tree(x0, f"{_NAME}: x0")
    if not hasattr(x0, 'shape'):
        raise TypeError(f"{_NAME}: x0 must be one array (of any shape), got a {type(x0).__name__}")

    def f(x):
        return conform_like(g(x, *params), x0, f"the output of {_NAME}'s g", "x0")

    def solve(f, x):
        return _newton(f, x, tol, max_iter)

    return custom_root(f, x0, solve, _tangent_solve)


def _jacobian(fun, x):
    """dfun/dx at x as a dense (n, n) matrix."""
    n = get_aval(x).size
    return fnp.reshape(jacfwd(fun)(x), (n, n))


def _svd_solve(jac, y):
    """(J^-1 y, nonsingular, cond(J)) by the SVD of J. J counts as singular, as in
    np.linalg.matrix_rank, when s_min <= n eps s_max, or when it is not finite; then the
    solution is zero, and a flag (not an exception) reports it, so that under vmap one singular
    batch member cannot stop the others."""
    n = get_aval(jac).shape[0]
    finite = fnp.all(fnp.isfinite(jac))
    u, s, vh = fnp.linalg.svd(fnp.where(finite, jac, 0.0))   # LAPACK rejects inf and nan
    nonsingular = finite & (s[-1] > n * _EPS * s[0])
    s_inv = fnp.where(nonsingular, 1.0 / fnp.where(nonsingular, s, 1.0), 0.0)
    cond = fnp.where(nonsingular, s[0] / fnp.where(nonsingular, s[-1], 1.0), np.inf)
    aval = get_aval(y)
    v = vh.T @ (s_inv * (u.T @ fnp.reshape(y, (n,))))
    return fnp.reshape(v, aval.shape), nonsingular, cond


def _dense_solver(what):
    """solve(linear_map, y): v with linear_map(v) = y, ConvergenceError if the map is singular."""
    def solve(linear_map, y):
        n = get_aval(y).size
        v, nonsingular, cond = _svd_solve(_jacobian(linear_map, fnp.zeros_like(y)), y)
        return checked(v, nonsingular, cond, 1, solver=f"{_NAME} (derivative: {what})",
                       measure="cond(dg/dx at x*) (inf if singular)",
                       tol=1 / (n * _EPS))
    return solve


def _tangent_solve(linear_map, y):
    # A custom_linear_solve, so that reverse mode solves with J^T by a solver that checks it
    # (a transposed check would never run).
    return custom_linear_solve(linear_map, y, _dense_solver("the dense solve with dg/dx"),
                               transpose_solve=_dense_solver("the dense solve with dg/dx^T"))


def _newton(f, x0, tol, max_iter):
    def cond(carry):
        _, err, k, ok = carry
        return (err > tol) & (k < max_iter) & ok

    def body(carry):
        x, _, k, _ = carry
        fx = f(x)
        step, nonsingular, _ = _svd_solve(_jacobian(f, x), -fx)
        ok = nonsingular | fnp.all(fx == 0)      # an exact root needs no step (the step is 0)
        x_new = fnp.where(ok, x + step, x)
        # Relative to x itself (the floor only keeps 0/0 away), so a tiny x* is found as
        # accurately as a large one; a singular Jacobian ends the iteration (err = inf).
        err = fnp.where(ok, tree_max_abs(step) / fnp.maximum(tree_max_abs(x_new), _TINY), np.inf)
        return x_new, err, k + 1, ok

    x, err, k, _ = while_loop(cond, body, (x0, np.inf, 0, True))
    return checked(x, err <= tol, err, k, solver=_NAME,
                   measure="Newton step max|dx| / max|x| (inf: dg/dx is singular)", tol=tol)
