"""minimize: x* = argmin_x fun(x, *params) by BFGS, Newton-CG or gradient descent, differentiated
through the optimality condition grad_x fun(x*, params) = 0.

custom_root on the gradient gives dx* = -H^-1 (d grad_x fun / d params) dparams, H the Hessian
at x*; the tangent system is solved by CG on Hessian-vector products (jvp of the gradient), so
no dense Hessian is ever formed. The optimizer's iterations are never differentiated.
"""
import numpy as np

from .. import numpy as fnp
from ..api import grad, linearize, value_and_grad
from ..core import get_aval
from ..lax import custom_root, while_loop
from ._util import (DEFAULT_TOL, check_positive_int, check_tol, checked, conform_like,
                    float_tree, tree_max_abs)
from .linear import cg, cg_iterations

_NAME = 'fxad.solvers.minimize'
_EPS = float(np.finfo(np.float64).eps)
_ARMIJO = 1e-4
_MAX_HALVINGS = 60


def minimize(fun, x0, *params, method="bfgs", tol=DEFAULT_TOL, max_iter=None):
    """x* = argmin_x fun(x, *params) from x0 (an array of any shape); fun returns a scalar.

    method: "bfgs" (quasi-Newton with a dense inverse-Hessian estimate, for small problems),
    "newton-cg" (Newton steps solved by CG on Hessian-vector products) or "gd" (gradient
    descent); all use a backtracking line search. They stop when
    max|grad| <= tol * max(1, max|grad at x0|) and raise ConvergenceError at run time if that takes
    more than max_iter steps (defaults: 500 for bfgs and newton-cg, 20000 for gd).

    x* is differentiable in params (and in values fun closes over) in forward and reverse mode,
    given a positive definite Hessian at x*; x0 gets no derivative.
    """
    if method not in _METHODS:
        raise ValueError(f"{_NAME}: unknown method {method!r}; use one of {sorted(_METHODS)}")
    tol = check_tol(tol, _NAME)
    max_iter = check_positive_int(_DEFAULT_MAX_ITER[method] if max_iter is None else max_iter,
                                  'max_iter', _NAME)
    x0 = float_tree(x0, f"{_NAME}: x0")
    if not hasattr(x0, 'shape'):
        raise TypeError(f"{_NAME}: x0 must be one array (of any shape), got a {type(x0).__name__}")
    shape, n = get_aval(x0).shape, get_aval(x0).size

    def objective(x_flat):
        return fun(fnp.reshape(x_flat, shape), *params)

    def optimality(x):
        return conform_like(grad(fun)(x, *params), x0, f"the gradient of {_NAME}'s fun", "x0")

    def solve(_, x):
        x_flat = _METHODS[method](value_and_grad(objective), fnp.reshape(x, (n,)), tol, max_iter)
        return fnp.reshape(x_flat, shape)

    def tangent_solve(hvp, y):
        return cg(hvp, y, tol=tol)

    return custom_root(optimality, x0, solve, tangent_solve)


def _line_search(value_and_grad_fn, x, f, g, p, t0):
    """A step t along the descent direction p by backtracking from t0: the first halving with
    sufficient decrease (Armijo), or, where the decrease is below rounding error, with a smaller
    gradient. Returns (x + t p, f there, grad there, t, accepted)."""
    slope = fnp.vdot(g, p)
    g_norm = fnp.linalg.norm(g)

    def trial(t):
        f_t, g_t = value_and_grad_fn(x + t * p)
        return t, f_t, g_t

    def accepted(t, f_t, g_t):
        armijo = f_t <= f + _ARMIJO * t * slope
        flat = (f_t <= f + 8 * _EPS * fnp.abs(f)) & (fnp.linalg.norm(g_t) < g_norm)
        return (armijo | flat) & fnp.isfinite(f_t)

    def cond(carry):
        t, f_t, g_t, j = carry
        return ~accepted(t, f_t, g_t) & (j < _MAX_HALVINGS)

    def body(carry):
        t, _, _, j = carry
        return (*trial(t / 2), j + 1)

    t, f_t, g_t, _ = while_loop(cond, body, (*trial(t0), 0))
    return x + t * p, f_t, g_t, t, accepted(t, f_t, g_t)


def _descent(value_and_grad_fn, x0, tol, max_iter, direction, state0):
    """The loop the methods share: x <- line search along direction(x, g, state) until the
    gradient is small, max_iter steps, or the line search fails."""
    f0, g0 = value_and_grad_fn(x0)
    threshold = tol * fnp.maximum(1.0, tree_max_abs(g0))

    def cond(carry):
        _, _, g, _, k, ok = carry
        return (tree_max_abs(g) > threshold) & (k < max_iter) & ok

    def body(carry):
        x, f, g, state, k, _ = carry
        p, t0, update = direction(x, g, state)
        x_new, f_new, g_new, t, ok = _line_search(value_and_grad_fn, x, f, g, p, t0)
        return x_new, f_new, g_new, update(x_new - x, g_new - g, t), k + 1, ok

    x, _, g, _, k, _ = while_loop(cond, body, (x0, f0, g0, state0(x0), 0, True))
    g_max = tree_max_abs(g)
    return checked(x, g_max <= threshold, g_max / fnp.maximum(1.0, tree_max_abs(g0)), k,
                   solver=_NAME, measure="max|grad f(x)| / max(1, max|grad f(x0)|)", tol=tol)


def _bfgs(value_and_grad_fn, x0, tol, max_iter):
    """BFGS: p = -H g, H the inverse-Hessian estimate, updated when s^T y > 0."""
    eye = np.eye(get_aval(x0).size)

    def direction(x, g, h):
        p = -(h @ g)
        descent = fnp.vdot(g, p) < 0   # else restart from steepest descent
        h = fnp.where(descent, h, eye)
        p = fnp.where(descent, p, -g)

        def update(s, y, t):
            sy = fnp.vdot(s, y)
            rho = 1.0 / fnp.where(sy > 0, sy, 1.0)
            v = eye - rho * fnp.outer(s, y)
            return fnp.where(sy > 0, v @ h @ v.T + rho * fnp.outer(s, s), h)
        return p, 1.0, update

    return _descent(value_and_grad_fn, x0, tol, max_iter, direction, lambda x: eye)


def _newton_cg(value_and_grad_fn, x0, tol, max_iter):
    """Newton-CG: p solves H p = -g approximately (to relative accuracy min(0.5, sqrt||g||)) by
    CG on Hessian-vector products; a direction of negative curvature ends CG early."""
    n = get_aval(x0).size

    def direction(x, g, state):
        _, hvp = linearize(lambda z: value_and_grad_fn(z)[1], x)
        g_norm = fnp.linalg.norm(g)
        eta = fnp.minimum(0.5, fnp.sqrt(g_norm))
        p, _, _, _ = cg_iterations(hvp, -g, fnp.zeros_like(g), eta * g_norm, 10 * n)
        p = fnp.where(fnp.vdot(g, p) < 0, p, -g)
        return p, 1.0, lambda s, y, t: state

    return _descent(value_and_grad_fn, x0, tol, max_iter, direction, lambda x: np.zeros(()))


def _gradient_descent(value_and_grad_fn, x0, tol, max_iter):
    """Gradient descent, each line search starting from twice the previous step."""
    def direction(x, g, step):
        return -g, 2.0 * step, lambda s, y, t: t

    return _descent(value_and_grad_fn, x0, tol, max_iter, direction, lambda x: np.ones(()))


_METHODS = {'bfgs': _bfgs, 'newton-cg': _newton_cg, 'gd': _gradient_descent}
_DEFAULT_MAX_ITER = {'bfgs': 500, 'newton-cg': 500, 'gd': 20000}
