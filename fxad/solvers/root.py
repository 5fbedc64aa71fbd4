"""root: Newton's method for g(x, *params) = 0, differentiated by the implicit function theorem
(custom_root): dx* = -(dg/dx)^-1 (dg/dtheta) dtheta, with the tangent system solved densely."""
from .. import numpy as fnp
from ..api import jacfwd
from ..core import get_aval
from ..lax import custom_root, while_loop
from ._util import (DEFAULT_TOL, check_positive_int, check_tol, checked, conform_like,
                    float_tree, tree_max_abs)

_NAME = 'fxad.solvers.root'


def root(g, x0, *params, tol=DEFAULT_TOL, max_iter=50):
    """x* with g(x*, *params) = 0, by Newton's method from x0 (an array of any shape).

    Each step solves the dense Jacobian system (for small problems). The iteration stops when
    the Newton step max|dx| <= tol * max(1, max|x|) and raises ConvergenceError at run time if that
    takes more than max_iter steps. x* is differentiable in params (and in values g closes over)
    in both modes; x0 gets no derivative.
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

    return custom_root(f, x0, solve, _dense_solve)


def _solve_at(fun, x, y):
    """The solution v of J v = y, J the Jacobian of fun at x as a dense (n, n) matrix."""
    aval = get_aval(y)
    jac = fnp.reshape(jacfwd(fun)(x), (aval.size, aval.size))
    return fnp.reshape(fnp.linalg.solve(jac, fnp.reshape(y, (aval.size,))), aval.shape)


def _dense_solve(linear_map, y):
    """The solution v of linear_map(v) = y; linear in y (so reverse mode transposes it)."""
    return _solve_at(linear_map, fnp.zeros_like(y), y)


def _newton(f, x0, tol, max_iter):
    def cond(carry):
        _, err, k = carry
        return (err > tol) & (k < max_iter)

    def body(carry):
        x, _, k = carry
        step = _solve_at(f, x, -f(x))
        x_new = x + step
        err = tree_max_abs(step) / fnp.maximum(1.0, tree_max_abs(x_new))
        return x_new, err, k + 1

    x, err, k = while_loop(cond, body, (x0, float('inf'), 0))
    return checked(x, err <= tol, err, k, solver=_NAME,
                   measure="Newton step max|dx| / max(1, max|x|)", tol=tol)
