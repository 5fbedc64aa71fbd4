"""Shared test helpers: independent references to compare fxad with.

Central finite differences for JVPs, the dot-product test for transposes, a Python loop over the
batch for vmap, and random inputs that stay inside each primitive's domain.
"""
import re

import numpy as np
import pytest

import fxad
from fxad import dtypes
from fxad.tree_util import tree_flatten, tree_map, tree_unflatten


def _is_float(x):
    return dtypes.is_float(np.asarray(x).dtype)


def numerical_jvp(f, args, tangents, eps=1e-6):
    """Central differences (f(args + eps t) - f(args - eps t)) / (2 eps), leafwise on pytrees.

    Only floating-point leaves of args are perturbed; non-float output leaves get zeros.
    """
    def shifted(sign):
        return tree_map(lambda x, t: (np.asarray(x) + sign * eps * np.asarray(t)).astype(np.asarray(x).dtype)
                        if _is_float(x) else x, args, tangents)
    plus = f(*shifted(+1))
    minus = f(*shifted(-1))
    return tree_map(lambda p, m: (np.asarray(p) - np.asarray(m)) / (2 * eps) if _is_float(p)
                    else np.zeros(np.shape(p)), plus, minus)


def random_tangents(rng, args):
    """Random float tangents for float leaves, float0 zeros for integer and boolean leaves."""
    def one(x):
        x = np.asarray(x)
        if dtypes.is_float(x.dtype):
            return rng.standard_normal(x.shape).astype(x.dtype)
        return np.zeros(x.shape, dtypes.float0)
    return tree_map(one, args)


def assert_tree_allclose(actual, expected, atol=1e-7, rtol=1e-7, err_msg=''):
    a_leaves, a_tree = tree_flatten(actual)
    e_leaves, e_tree = tree_flatten(expected)
    assert a_tree == e_tree, f"{err_msg}: tree structures differ: {a_tree} vs {e_tree}"
    for a, e in zip(a_leaves, e_leaves):
        if np.asarray(e).dtype == dtypes.float0 or np.asarray(a).dtype == dtypes.float0:
            continue
        np.testing.assert_allclose(np.asarray(a, dtype=np.result_type(a, np.float64) if _is_float(a) else None),
                                   e, atol=atol, rtol=rtol, err_msg=err_msg)


def check_jvp_fd(f, args, tangents=None, eps=1e-6, atol=1e-6, rtol=1e-6, seed=0):
    """fxad.jvp's primal output against f itself, its tangent against central differences."""
    args = tuple(args)
    if tangents is None:
        tangents = random_tangents(np.random.default_rng(seed), args)
    tangents = tuple(tangents)
    primal_out, tangent_out = fxad.jvp(f, args, tangents)
    assert_tree_allclose(primal_out, f(*args), atol=1e-12, rtol=1e-12, err_msg="jvp primal output")
    expected = numerical_jvp(f, args, tangents, eps)
    assert_tree_allclose(tangent_out, expected, atol=atol, rtol=rtol, err_msg="jvp vs finite differences")
    return tangent_out


def check_vjp_fd(f, args, eps=1e-6, rtol=1e-6, seed=0):
    """fxad.vjp against central differences: <vjp(ct), t> = <ct, (f(x + eps t) - f(x - eps t)) / 2 eps>
    for a random cotangent ct and random tangents t."""
    args = tuple(args)
    rng = np.random.default_rng(seed)
    out, vjp_fn = fxad.vjp(f, *args)
    ct = random_tangents(rng, out)
    tangents = random_tangents(rng, args)
    lhs = inner(vjp_fn(ct), tangents)
    rhs = inner(ct, numerical_jvp(f, args, tangents, eps))
    scale = max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= rtol * scale, f"vjp vs finite differences: {lhs} vs {rhs}"


def inner(a, b):
    """<a, b> summed over all float leaves of two pytrees of the same structure."""
    a_leaves, _ = tree_flatten(a)
    b_leaves, _ = tree_flatten(b)
    total = 0.0
    for x, y in zip(a_leaves, b_leaves):
        x, y = np.asarray(x), np.asarray(y)
        if dtypes.is_float(x.dtype) and dtypes.is_float(y.dtype):
            total += float(np.sum(x.astype(np.float64) * y.astype(np.float64)))
    return total


def check_transpose(f_linear, x_example, y_example, rtol=1e-10):
    """The dot-product test <T^T y, x> = <y, T x> with T^T from fxad.linear_transpose.

    f_linear takes one argument (a pytree) shaped like x_example; y_example is shaped like its
    output. Also checks that T^T y has x's structure, shapes and dtypes.
    """
    f_t = fxad.linear_transpose(f_linear, x_example)
    ct_x, = f_t(y_example)
    x_leaves, x_tree = tree_flatten(x_example)
    c_leaves, c_tree = tree_flatten(ct_x)
    assert c_tree == x_tree, f"transpose structure {c_tree} differs from the input's {x_tree}"
    for c, x in zip(c_leaves, x_leaves):
        assert np.shape(c) == np.shape(x), f"transpose gives shape {np.shape(c)}, input has {np.shape(x)}"
        assert np.asarray(c).dtype == np.asarray(x).dtype, \
            f"transpose gives dtype {np.asarray(c).dtype}, input has {np.asarray(x).dtype}"
    lhs = inner(ct_x, x_example)
    rhs = inner(y_example, f_linear(x_example))
    scale = max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= rtol * scale, f"dot-product test failed: <T^T y, x> = {lhs}, <y, T x> = {rhs}"
    return ct_x


def check_vmap_vs_loop(f, batched_args, in_axes, out_axes=0, atol=0.0, rtol=1e-12):
    """fxad.vmap(f, in_axes) against a Python loop over the batch, stacking outputs on out_axes.

    in_axes is an int, None or a tuple with one int/None per argument (leaves of an argument
    share its axis).
    """
    batched_args = tuple(batched_args)
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(batched_args)
    sizes = {np.shape(leaf)[ax] for a, ax in zip(batched_args, axes) if ax is not None
             for leaf in tree_flatten(a)[0]}
    assert len(sizes) == 1, f"test bug: batch sizes {sizes}"
    n = sizes.pop()
    actual = fxad.vmap(f, in_axes=in_axes, out_axes=out_axes)(*batched_args)
    per_example = []
    for i in range(n):
        args_i = [a if ax is None else tree_map(lambda x: np.take(x, i, axis=ax), a)
                  for a, ax in zip(batched_args, axes)]
        per_example.append(f(*args_i))
    leaves0, out_tree = tree_flatten(per_example[0])
    columns = zip(*[tree_flatten(o)[0] for o in per_example])
    expected = tree_unflatten(out_tree, [np.stack([np.asarray(v) for v in col], axis=out_axes)
                                         for col in columns])
    a_leaves, a_tree = tree_flatten(actual)
    assert a_tree == out_tree, f"vmap output structure {a_tree} differs from the loop's {out_tree}"
    for a, e in zip(a_leaves, tree_flatten(expected)[0]):
        assert np.shape(a) == e.shape, f"vmap output shape {np.shape(a)} differs from the loop's {e.shape}"
        assert np.asarray(a).dtype == e.dtype, f"vmap output dtype {np.asarray(a).dtype} vs loop {e.dtype}"
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
    return actual


def check_transpose_via_grad(f_linear, x_example, y_example, rtol=1e-10):
    """The dot-product test with T^T y from reverse mode: the gradient of x -> <y, T x>, which
    grad computes by linearize and backward_pass. f_linear returns one array."""
    def pairing(x):
        return fxad.lax.reduce_sum(fxad.lax.mul(f_linear(x), y_example), tuple(range(np.ndim(y_example))))
    ct_x = fxad.grad(pairing)(x_example)
    lhs = inner(ct_x, x_example)
    rhs = inner(y_example, f_linear(x_example))
    scale = max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= rtol * scale, f"dot-product test via grad failed: {lhs} vs {rhs}"
    return ct_x


def vmap_eqn_counts(f, example_args, sizes=(2, 50)):
    """len(make_jaxpr(vmap(f)).eqns) per batch size; equal counts mean no Python loop over the batch."""
    counts = []
    for n in sizes:
        batched = tree_map(lambda x: np.stack([np.asarray(x)] * n), tuple(example_args))
        counts.append(len(fxad.make_jaxpr(fxad.vmap(f))(*batched).eqns))
    return counts


def check_error_names(thunk, exc, patterns):
    """thunk() raises exc, eagerly and under make_jaxpr alike, with every regex of patterns
    (the offending shapes, dtypes or values) in its message."""
    for run in (thunk, lambda: fxad.make_jaxpr(thunk)()):
        with pytest.raises(exc) as info:
            run()
        for p in patterns:
            assert re.search(p, str(info.value)), (p, str(info.value))


# ---------------------------------------------------------------------------------------------
# Random inputs within a primitive's domain

def _uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def _away_from(points, width, lo, hi):
    """Uniform on [lo, hi] but at least `width` from every point in `points` (kinks)."""
    def gen(rng, shape):
        x = rng.uniform(lo, hi, shape)
        for _ in range(100):
            bad = np.zeros(np.shape(x), bool)
            for p in points(x):
                bad |= np.abs(x - p) < width
            if not bad.any():
                return x
            x = np.where(bad, rng.uniform(lo, hi, shape), x)
        raise RuntimeError("could not draw values away from the kinks")
    return gen


def _nonzero(rng, shape):
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _with_nonfinite(rng, shape):
    x = rng.standard_normal(shape)
    specials = np.array([np.inf, -np.inf, np.nan])
    mask = rng.uniform(size=shape) < 0.3
    return np.where(mask, rng.choice(specials, shape), x)


def _with_nan(rng, shape):
    """Uniform on [-2, 2] with NaN at every flat index = 1 mod 3: no slice along an axis of
    length >= 2 whose stride is not a multiple of 3 is all NaN (nansum, nanmean, fmax)."""
    x = rng.uniform(-2.0, 2.0, shape)
    return np.where(np.arange(x.size).reshape(np.shape(x)) % 3 == 1, np.nan, x)


DOMAINS = {
    'real': _uniform(-2.0, 2.0),
    'positive': _uniform(0.3, 3.0),
    'unit': _uniform(-0.9, 0.9),            # open interval (-1, 1): asin, acos, atanh
    'gt1': _uniform(1.2, 3.0),              # acosh
    'gt_m1': _uniform(-0.8, 2.0),           # log1p
    'tan': _uniform(-1.2, 1.2),             # inside (-pi/2, pi/2)
    'nonzero': _nonzero,
    'away_from_int': _away_from(lambda x: [np.round(x)], 0.05, -3.0, 3.0),
    'away_from_half': _away_from(lambda x: [np.floor(x) + 0.5], 0.05, -3.0, 3.0),
    'clamp_lo': _uniform(-1.0, -0.8),
    'clamp_hi': _uniform(0.8, 1.0),
    'clamp_x': _away_from(lambda x: [-0.9, 0.9], 0.15, -2.0, 2.0),
    'small_int_float': lambda rng, shape: rng.integers(-2, 3, shape).astype(np.float64),
    'with_nonfinite': _with_nonfinite,
    'with_nan': _with_nan,
    'shift': lambda rng, shape: rng.integers(0, 70, shape),   # bit-shift counts, past 64 too
    'int': lambda rng, shape: rng.integers(-20, 20, shape),
    'bool': lambda rng, shape: rng.uniform(size=shape) < 0.5,
}


def rand(rng, shape, domain='real', dtype=None):
    """Random values of `shape` from a named domain (see DOMAINS), cast to `dtype` if given."""
    x = np.asarray(DOMAINS[domain](rng, shape))
    if dtype is not None:
        x = x.astype(dtype)
    elif x.dtype.kind == 'i':
        x = x.astype(np.int64)
    return x if shape != () else x[()]
