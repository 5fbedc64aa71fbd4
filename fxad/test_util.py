"""check_grads: verify a function's derivatives numerically, as jax.test_util.check_grads does.

Forward mode is compared with central finite differences; reverse mode with forward mode by the
dot-product identity <vjp(ct), t> = <ct, jvp(t)>. Higher orders check the derivative functions.
"""
import functools

import numpy as np

from . import dtypes
from .api import jvp, vjp
from .tree_util import tree_flatten, tree_map

__all__ = ['check_grads', 'check_jvp', 'check_vjp', 'numerical_jvp']

# (eps, atol, rtol) by the lowest float precision among the arguments.
_DEFAULTS = {
    np.dtype('float64'): (1e-5, 1e-6, 1e-6),
    np.dtype('complex128'): (1e-5, 1e-6, 1e-6),
    np.dtype('float32'): (1e-3, 2e-2, 2e-2),
    np.dtype('complex64'): (1e-3, 2e-2, 2e-2),
    np.dtype('float16'): (1e-2, 1e-1, 1e-1),
}


def _float_leaves(tree):
    return [np.asarray(x) for x in tree_flatten(tree)[0] if dtypes.is_float(np.asarray(x).dtype)]


def _defaults(args):
    dts = [x.dtype for x in _float_leaves(args)]
    if not dts:
        raise TypeError("check_grads needs at least one floating-point argument")
    worst = min(dts, key=lambda d: d.itemsize / (2 if d.kind == 'c' else 1))
    return _DEFAULTS.get(worst, _DEFAULTS[np.dtype('float32')])


def _tangent_like(rng, x):
    x = np.asarray(x)
    if not dtypes.is_float(x.dtype):
        return np.zeros(x.shape, dtypes.float0)
    t = rng.standard_normal(x.shape)
    if x.dtype.kind == 'c':
        t = t + 1j * rng.standard_normal(x.shape)
    return t.astype(x.dtype)


def _add_scaled(x, t, scale):
    x = np.asarray(x)
    if not dtypes.is_float(x.dtype):
        return x
    return (x + scale * np.asarray(t)).astype(x.dtype)


def numerical_jvp(f, primals, tangents, eps):
    """Central differences (f(x + eps t) - f(x - eps t)) / (2 eps) on pytrees of arrays."""
    plus = f(*tree_map(lambda x, t: _add_scaled(x, t, eps), primals, tangents))
    minus = f(*tree_map(lambda x, t: _add_scaled(x, t, -eps), primals, tangents))
    return tree_map(lambda p, m: (np.asarray(p) - np.asarray(m)) / (2 * eps)
                    if dtypes.is_float(np.asarray(p).dtype) else np.zeros(np.shape(p), dtypes.float0),
                    plus, minus)


def _inner(a, b):
    total = 0.0
    for x, y in zip(tree_flatten(a)[0], tree_flatten(b)[0]):
        x, y = np.asarray(x), np.asarray(y)
        if dtypes.is_float(x.dtype) and dtypes.is_float(y.dtype):
            total += np.real(np.sum(np.conj(x.astype(np.complex128)) * y.astype(np.complex128)))
    return float(total)


def _assert_close(actual, expected, atol, rtol, what):
    a_leaves, a_tree = tree_flatten(actual)
    e_leaves, e_tree = tree_flatten(expected)
    if a_tree != e_tree:
        raise AssertionError(f"{what}: output structures differ: {a_tree} vs {e_tree}")
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves)):
        a, e = np.asarray(a), np.asarray(e)
        if not (dtypes.is_float(a.dtype) and dtypes.is_float(e.dtype)):
            continue
        if a.shape != e.shape:
            raise AssertionError(f"{what}: leaf {i} has shape {a.shape}, expected {e.shape}")
        err = np.abs(a - e)
        bound = atol + rtol * np.abs(e)
        if not np.all(err <= bound):
            worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.ndim else ()
            raise AssertionError(
                f"{what}: leaf {i} differs by up to {float(np.max(err)):.3g} (atol={atol:g}, "
                f"rtol={rtol:g}); at index {tuple(int(k) for k in worst)} got {a[worst]!r}, "
                f"expected {e[worst]!r}")


def check_jvp(f, args, eps, atol, rtol, rng, what='JVP'):
    """fxad.jvp of f at args along a random tangent against central differences."""
    tangents = tree_map(lambda x: _tangent_like(rng, x), args)
    _, t_out = jvp(f, args, tangents)
    expected = numerical_jvp(f, args, tangents, eps)
    _assert_close(t_out, expected, atol, rtol, f"{what} against finite differences")


def _as_tangent(x):
    """x itself as a tangent direction; integer and boolean values have float0 tangents."""
    x = np.asarray(x)
    return x if dtypes.is_float(x.dtype) else np.zeros(x.shape, dtypes.float0)


def check_vjp(f, args, eps, atol, rtol, rng, what='VJP'):
    """<vjp(ct), t> against <ct, jvp(t)> (fxad's jvp) and against <ct, finite differences>."""
    out, f_vjp = vjp(f, *args)
    ct = tree_map(lambda y: _tangent_like(rng, y), out)
    ct_in = f_vjp(ct)
    tangents = tree_map(lambda x: _tangent_like(rng, x), args)
    lhs = _inner(ct_in, tangents)
    try:
        _, t_out = jvp(f, args, tangents)
    except TypeError:
        t_out = None  # no forward mode (a custom_vjp function): finite differences alone judge
    if t_out is not None:
        rhs = _inner(ct, t_out)
        tight = 1e3 * np.finfo(np.float64 if atol < 1e-4 else np.float32).eps
        if abs(lhs - rhs) > tight * max(1.0, abs(rhs)) + atol:
            raise AssertionError(f"{what}: the dot-product identity <vjp(ct), t> = <ct, jvp(t)> "
                                 f"fails: {lhs!r} vs {rhs!r} (discrepancy {abs(lhs - rhs):.3g})")
    fd = _inner(ct, numerical_jvp(f, args, tangents, eps))
    if abs(lhs - fd) > atol + rtol * max(abs(fd), 1.0):
        raise AssertionError(f"{what}: <vjp(ct), t> = {lhs!r} but finite differences give "
                             f"<ct, (f(x + eps t) - f(x - eps t)) / 2eps> = {fd!r} "
                             f"(discrepancy {abs(lhs - fd):.3g}, atol={atol:g}, rtol={rtol:g})")


def check_grads(f, args, order, modes=("fwd", "rev"), eps=None, atol=None, rtol=None, seed=0):
    """Check f's derivatives at args up to `order`, in forward ("fwd") and/or reverse ("rev") mode.

    args is a tuple of positional arguments (pytrees of arrays). Raises AssertionError naming the
    mode, the order and the discrepancy. For order > 1 the functions (primals, tangents) ->
    jvp(f, primals, tangents) and x -> vjp(f, x)[1](f(x)) are checked in turn.
    """
    if order < 1:
        raise ValueError(f"check_grads: order must be at least 1, got {order}")
    bad = set(modes) - {"fwd", "rev"}
    if bad:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {sorted(bad)}")
    args = tuple(args)
    d_eps, d_atol, d_rtol = _defaults(args)
    eps = d_eps if eps is None else eps
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    rng = np.random.default_rng(seed)

    def rec(fun, fun_args, k, label):
        if "fwd" in modes:
            what = f"{label}JVP (order {order - k + 1})"
            check_jvp(fun, fun_args, eps, atol, rtol, rng, what)
            if k > 1:
                tangent_args = tree_map(_as_tangent, fun_args)
                rec(functools.partial(jvp, fun), (fun_args, tangent_args), k - 1, f"{what} of ")
        if "rev" in modes:
            what = f"{label}VJP (order {order - k + 1})"
            check_vjp(fun, fun_args, eps, atol, rtol, rng, what)
            if k > 1:
                def fun_vjp(*xs):
                    out, pullback = vjp(fun, *xs)
                    return pullback(out)
                rec(fun_vjp, fun_args, k - 1, f"{what} of ")

    rec(f, args, order, "")
