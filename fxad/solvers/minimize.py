"""minimize: x* = argmin_x fun(x, *params) by BFGS, Newton-CG or gradient descent, differentiated
through the optimality condition grad_x fun(x*, params) = 0.

custom_root on the gradient gives dx* = -H^-1 (d grad_x fun / d params) dparams, H the Hessian
at x*; the tangent system is solved by CG on Hessian-vector products (jvp of the gradient), so
no dense Hessian is ever formed. The optimizer's iterations are never differentiated.

Every test is relative, so that scaling fun, adding a constant to it or moving x* towards 0
changes nothing: the descent stops when the gradient has shrunk by tol or the step is below tol
relative to x, and x* is then certified (and polished) by Newton steps: the Newton step
H^-1 grad, found by CG on Hessian-vector products, estimates the error of x and must be below
tol * max|x|.
"""
import numpy as np

from .. import numpy as fnp
from ..api import grad, linearize, value_and_grad
from ..core import get_aval
from ..lax import custom_root, while_loop
from ._util import (DEFAULT_TOL, check_positive_int, check_tol, checked, conform_like,
                    float_tree, tree_max_abs)
from .linear import cg_iterations, cg_solve

_NAME = 'fxad.solvers.minimize'
_TINY = float(np.finfo(np.float64).tiny)
_ARMIJO = 1e-4
_MAX_HALVINGS = 60
_NEWTON_RTOL = 1e-6            # CG accuracy of the certifying Newton steps
_MAX_NEWTON = 5                # certifying Newton steps after the descent


def minimize(fun, x0, *params, method="bfgs", tol=DEFAULT_TOL, max_iter=None):
    """x* = argmin_x fun(x, *params) from x0 (an array of any shape); fun returns a scalar.

    method: "bfgs" (quasi-Newton with a dense inverse-Hessian estimate, for small problems),
    "newton-cg" (Newton steps solved by CG on Hessian-vector products) or "gd" (gradient
    descent); all use a backtracking line search. The descent stops when
    max|grad f| <= tol * max|grad f(x0)| or a step is at most tol * max|x| (or after max_iter
    steps: 500 for bfgs and newton-cg, 20000 for gd). Then at most 5 Newton steps, solved by CG
    on Hessian-vector products, polish x and certify it: x* is returned once the Newton step,
    the estimated error, is at most tol * max|x|, and ConvergenceError is raised at run time
    otherwise. All tests are relative: scaling fun or adding a constant changes nothing.

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
        x_flat = _minimize(_METHODS[method], value_and_grad(objective), fnp.reshape(x, (n,)), tol,
                           max_iter)
        return fnp.reshape(x_flat, shape)

    def tangent_solve(hvp, y):
        return cg_solve(hvp, y, None, tol, None,
                        solver=f"{_NAME} (derivative: CG on the Hessian at x*)",
                        measure="||H v - y|| / ||y||, H the Hessian at x* (it must be positive "
                                "definite)")

    return custom_root(optimality, x0, solve, tangent_solve)


def _minimize(method, value_and_grad_fn, x0, tol, max_iter):
    def grad_fn(x):
        return value_and_grad_fn(x)[1]
    x, k = _descent(method, value_and_grad_fn, grad_fn, x0, tol, max_iter)
    x, err, j = _newton_polish(grad_fn, x, tol)
    return checked(x, err <= tol, err, k + j, solver=_NAME,
                   measure="Newton step max|H^-1 grad f(x)| / max|x|, H the Hessian (inf if H is "
                           "not positive definite or x not finite)", tol=tol)


def _curvature(grad_fn, x, g):
    """g^T H g / g^T g at x, a scale for the first step (1 where it is not positive)."""
    _, hvp = linearize(grad_fn, x)
    gg = fnp.vdot(g, g)
    c = fnp.vdot(g, hvp(g)) / fnp.where(gg > 0, gg, 1.0)
    return fnp.where((c > 0) & fnp.isfinite(c), c, 1.0)


def _line_search(value_and_grad_fn, x, f, g, p, t0):
    """A step t along the descent direction p by backtracking from t0. Returns
    (x + t p, f there, grad there, t, accepted).

    Where f changes by more than its rounding error, the test is sufficient decrease (Armijo):
    f(x + t p) <= f + c t g.p. Where it does not (near x*, or with a large constant in f), that
    test would accept noise, so the slope decides instead, as in Hager and Zhang's approximate
    Wolfe condition: grad(x + t p).p <= (1 - 2c) |g.p|, equivalent for a quadratic."""
    slope = fnp.vdot(g, p)
    flat_rtol = float(np.sqrt(np.finfo(get_aval(x).dtype).eps))

    def trial(t):
        f_t, g_t = value_and_grad_fn(x + t * p)
        return t, f_t, g_t

    def accepted(t, f_t, g_t):
        flat = fnp.abs(f_t - f) <= flat_rtol * fnp.maximum(fnp.abs(f), fnp.abs(f_t))
        armijo = f_t <= f + _ARMIJO * t * slope
        slope_t = fnp.vdot(g_t, p)
        slope_test = slope_t <= (1 - 2 * _ARMIJO) * fnp.abs(slope)
        finite = fnp.isfinite(f_t) & fnp.isfinite(slope_t) & fnp.isfinite(slope)
        return fnp.where(flat, slope_test, armijo) & finite

    def cond(carry):
        t, f_t, g_t, j = carry
        return ~accepted(t, f_t, g_t) & (j < _MAX_HALVINGS)

    def body(carry):
        t, _, _, j = carry
        return (*trial(t / 2), j + 1)

    t, f_t, g_t, _ = while_loop(cond, body, (*trial(t0), 0))
    return x + t * p, f_t, g_t, t, accepted(t, f_t, g_t)


def _descent(method, value_and_grad_fn, grad_fn, x0, tol, max_iter):
    """x <- line search along the method's direction until the gradient has shrunk by tol, a
    step is below tol relative to x, the line search fails, or max_iter steps. Returns (x, k)."""
    f0, g0 = value_and_grad_fn(x0)
    g0_max = tree_max_abs(g0)
    direction, state0 = method(grad_fn, x0, g0, _curvature(grad_fn, x0, g0))

    def cond(carry):
        *_, k, done = carry
        return ~done & (k < max_iter)

    def body(carry):
        x, f, g, state, k, _ = carry
        p, t0, update = direction(x, g, state)
        x_new, f_new, g_new, t, ok = _line_search(value_and_grad_fn, x, f, g, p, t0)
        s = x_new - x
        small_gradient = tree_max_abs(g_new) <= tol * g0_max
        small_step = tree_max_abs(s) <= tol * fnp.maximum(tree_max_abs(x_new), _TINY)
        state = update(s, g_new - g, t)
        x, f, g = (fnp.where(ok, new, old) for new, old in ((x_new, x), (f_new, f), (g_new, g)))
        return x, f, g, state, k + 1, small_gradient | small_step | ~ok

    x, *_, k, _ = while_loop(cond, body, (x0, f0, g0, state0, 0, ~(g0_max > 0)))
    return x, k


def _newton_polish(grad_fn, x0, tol):
    """Newton steps x <- x - H^-1 grad (CG on Hessian-vector products) until the step is at
    most tol * max|x|, at most _MAX_NEWTON of them; the returned x has taken that last step.
    Returns (x, the last step relative to x (inf where CG failed), steps)."""
    n = get_aval(x0).size

    def newton_step(x):
        g = grad_fn(x)
        _, hvp = linearize(grad_fn, x)
        g_norm = fnp.linalg.norm(g)
        e, r_norm, _, curvature_ok = cg_iterations(hvp, g, fnp.zeros_like(g),
                                                   _NEWTON_RTOL * g_norm, 10 * n)
        solved = (curvature_ok & (r_norm <= _NEWTON_RTOL * g_norm) & fnp.isfinite(g_norm)
                  & fnp.all(fnp.isfinite(e)))     # g g overflows to inf for a huge g
        err = fnp.where(solved, tree_max_abs(e) / fnp.maximum(tree_max_abs(x), _TINY), np.inf)
        return e, err

    def cond(carry):
        _, _, err, j = carry
        return (err > tol) & fnp.isfinite(err) & (j < _MAX_NEWTON)

    def body(carry):
        x, e, _, j = carry
        x = x - e
        return (x, *newton_step(x), j + 1)

    x, e, err, j = while_loop(cond, body, (x0, *newton_step(x0), 0))
    return x - e, err, j


def _bfgs(grad_fn, x0, g0, curvature):
    """BFGS: p = -H g, H the inverse-Hessian estimate (initially I / curvature), updated when
    s^T y > 0."""
    eye = np.eye(get_aval(x0).size, dtype=get_aval(x0).dtype)
    h0 = eye / curvature

    def direction(x, g, h):
        p = -(h @ g)
        descent = fnp.vdot(g, p) < 0   # else restart from scaled steepest descent
        h = fnp.where(descent, h, h0)
        p = fnp.where(descent, p, -(h0 @ g))

        def update(s, y, t):
            sy = fnp.vdot(s, y)
            rho = 1.0 / fnp.where(sy > 0, sy, 1.0)
            v = eye - rho * fnp.outer(s, y)
            return fnp.where(sy > 0, v @ h @ v.T + rho * fnp.outer(s, s), h)
        return p, 1.0, update

    return direction, h0


def _newton_cg(grad_fn, x0, g0, curvature):
    """Newton-CG: p solves H p = -g approximately, to relative accuracy
    min(0.5, sqrt(||g|| / ||g0||)), by CG on Hessian-vector products; a direction of negative
    curvature ends CG early."""
    n = get_aval(x0).size
    g0_norm = fnp.maximum(fnp.linalg.norm(g0), _TINY)

    def direction(x, g, state):
        _, hvp = linearize(grad_fn, x)
        g_norm = fnp.linalg.norm(g)
        eta = fnp.minimum(0.5, fnp.sqrt(g_norm / g0_norm))
        p, _, _, _ = cg_iterations(hvp, -g, fnp.zeros_like(g), eta * g_norm, 10 * n)
        p = fnp.where(fnp.vdot(g, p) < 0, p, -g / curvature)
        return p, 1.0, lambda s, y, t: state

    return direction, np.zeros(())


def _gradient_descent(grad_fn, x0, g0, curvature):
    """Gradient descent, each line search starting from twice the previous step (the first
    from 1 / curvature)."""
    def direction(x, g, step):
        return -g, 2.0 * step, lambda s, y, t: t

    return direction, 0.5 / curvature


_METHODS = {'bfgs': _bfgs, 'newton-cg': _newton_cg, 'gd': _gradient_descent}
_DEFAULT_MAX_ITER = {'bfgs': 500, 'newton-cg': 500, 'gd': 20000}
