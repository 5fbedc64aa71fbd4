"""fixed_point: x* = f(x*, *params) by iteration, differentiated implicitly.

At the fixed point, dx* = A dx* + B dtheta with A = df/dx and B = df/dtheta, so
dx* = (I - A)^-1 B dtheta. The primal is a root of g(x) = f(x, theta) - x, so custom_root gives
the derivative (a custom_jvp); its tangent solve is a custom_linear_solve whose `solve` is the
tangent fixed-point iteration v <- A v - y and whose `transpose_solve` is the adjoint iteration
w <- A^T w - c (autograd's fixed-point example). The iterations are never differentiated.
"""
import numpy as np

from .. import numpy as fnp
from ..lax import custom_linear_solve, custom_root, while_loop
from ._util import (DEFAULT_TOL, check_positive_int, check_tol, checked, conform_like,
                    float_tree, tree_add, tree_max_abs, tree_scale, tree_sub)

_NAME = 'fxad.solvers.fixed_point'
_TINY = float(np.finfo(np.float64).tiny)
_EPS = float(np.finfo(np.float64).eps)


def fixed_point(f, x0, *params, tol=DEFAULT_TOL, max_iter=1000):
    """x* with x* = f(x*, *params), iterating x <- f(x, *params) from x0.

    x0 is an array or a pytree of arrays; f returns the same structure, shapes and dtypes. The
    iteration stops when the step is small relative to the iterate, max|f(x) - x| <= tol *
    max|f(x)| (a relative test whatever the scale of x*), and raises ConvergenceError at run time
    if that takes more than max_iter steps. x* is differentiable in params (and in values
    f closes over) in forward and reverse mode, by the implicit function theorem, provided
    the iteration contracts at x* (the spectral radius of df/dx is below one). x0 gets no
    derivative: x* does not depend on it.
    """
    tol = check_tol(tol, _NAME)
    max_iter = check_positive_int(max_iter, 'max_iter', _NAME)
    x0 = float_tree(x0, f"{_NAME}: x0")

    def f_checked(x):
        return conform_like(f(x, *params), x0, f"the output of {_NAME}'s f", "x0")

    def residual_map(x):
        return tree_sub(f_checked(x), x)

    def solve(_, x):
        return _iterate(f_checked, x, tol, max_iter)

    def tangent_solve(g_lin, y):
        # g_lin(v) = (A - I) v: the tangent iteration v <- v + g_lin(v) - y = A v - y.
        richardson = _richardson_solver(tol, max_iter)
        return custom_linear_solve(g_lin, y, richardson, transpose_solve=richardson)

    return custom_root(residual_map, x0, solve, tangent_solve)


def _iterate(f, x0, tol, max_iter):
    # Relative to x itself, so a tiny x* is found as accurately as a large one; the floor,
    # far below any meaningful accuracy (tol * eps of the starting point), lets an iteration
    # converging to exactly 0 stop too.
    floor = fnp.maximum(tree_max_abs(x0) * (tol * _EPS), _TINY)

    def cond(carry):
        _, err, k = carry
        return (err > tol) & (k < max_iter)

    def body(carry):
        x, _, k = carry
        fx = f(x)
        err = tree_max_abs(tree_sub(fx, x)) / fnp.maximum(tree_max_abs(fx), floor)
        return fx, err, k + 1

    x, err, k = while_loop(cond, body, (x0, np.inf, 0))
    return checked(x, err <= tol, err, k, solver=_NAME, measure="max|f(x) - x| / max|f(x)|",
                   tol=tol)


def _richardson_solver(tol, max_iter):
    """solve(matvec, y) for matvec = A - I with A contracting: v <- v + matvec(v) - y."""
    def solve(matvec, y):
        y_norm = tree_max_abs(y)

        def cond(carry):
            _, r_norm, k = carry
            return (r_norm > tol * y_norm) & (k < max_iter)

        def body(carry):
            v, _, k = carry
            r = tree_sub(matvec(v), y)
            return tree_add(v, r), tree_max_abs(r), k + 1

        v, r_norm, k = while_loop(cond, body, (tree_scale(0.0, y), np.inf, 0))
        rel = r_norm / fnp.maximum(y_norm, _TINY)
        return checked(v, r_norm <= tol * y_norm, rel, k,
                       solver=f"{_NAME} (derivative: the linear fixed-point iteration)",
                       measure="max|(A - I) v - y| / max|y|, A = df/dx at x*", tol=tol)
    return solve
