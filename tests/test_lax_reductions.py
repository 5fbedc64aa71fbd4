"""Reductions (lax/reductions.py), one table row each: values vs NumPy, jvp vs central differences
(with ties, zeros and running extrema), transposes of the linear ones by the dot-product test,
vmap vs a Python loop, and shape-rule errors that name the shapes."""
import numpy as np
import pytest

import fxad
from fxad import dtypes, lax
from fxad.core import Primitive
from fxad.lax import reductions

from helpers import (check_error_names, check_jvp_fd, check_transpose, check_transpose_via_grad, check_vmap_vs_loop,
                     rand, random_tangents, vmap_eqn_counts)


def _distinct(rng, shape):
    """Values at least 0.05 apart, so max/min/sort positions are stable under finite differences."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.05, n) - 0.05 * n).reshape(shape)


def _ints(rng, shape):
    return rng.integers(0, 3, shape).astype(np.float64)


def _bools(rng, shape):
    return rng.uniform(size=shape) < 0.6


class Row:
    """fun(x) with fixed params, its NumPy reference, the operand shape and how to draw it."""

    def __init__(self, name, fun, ref, shape=(3, 4), draw=_distinct, linear=False, diff=True):
        self.name = name
        self.prim = name.split(':')[0]
        self.fun = fun
        self.ref = ref
        self.shape = shape
        self.draw = draw
        self.linear = linear
        self.diff = diff

    def __repr__(self):
        return self.name


def _rev_cum(np_fn, axis):
    return lambda x: np.flip(np_fn(np.flip(x, axis), axis), axis)


ROWS = [
    Row('reduce_sum', lambda x: lax.reduce_sum(x, (0, 2)), lambda x: np.sum(x, (0, 2)), (2, 3, 4), linear=True),
    Row('reduce_max', lambda x: lax.reduce_max(x, (1,)), lambda x: np.max(x, 1)),
    Row('reduce_max:axes02', lambda x: lax.reduce_max(x, (0, -1)), lambda x: np.max(x, (0, 2)), (2, 3, 4)),
    Row('reduce_min', lambda x: lax.reduce_min(x, (0,)), lambda x: np.min(x, 0)),
    Row('reduce_prod', lambda x: lax.reduce_prod(x, (1,)), lambda x: np.prod(x, 1)),
    Row('reduce_prod:axes02', lambda x: lax.reduce_prod(x, (0, 2)), lambda x: np.prod(x, (0, 2)), (2, 3, 2)),
    Row('reduce_and', lambda x: lax.reduce_and(x, (1,)), lambda x: np.all(x, 1), draw=_bools, diff=False),
    Row('reduce_or', lambda x: lax.reduce_or(x, (0,)), lambda x: np.any(x, 0), draw=_bools, diff=False),
    Row('argmax', lambda x: lax.argmax(x, 1, np.int32), lambda x: np.argmax(x, 1).astype(np.int32),
        draw=_ints, diff=False),
    Row('argmin', lambda x: lax.argmin(x, 0, np.int64), lambda x: np.argmin(x, 0), draw=_ints, diff=False),
    Row('cumsum', lambda x: lax.cumsum(x, 1), lambda x: np.cumsum(x, 1), linear=True),
    Row('cumsum:reverse', lambda x: lax.cumsum(x, 0, reverse=True), _rev_cum(np.cumsum, 0), linear=True),
    Row('cumprod', lambda x: lax.cumprod(x, 1), lambda x: np.cumprod(x, 1), (3, 6)),
    Row('cumprod:reverse', lambda x: lax.cumprod(x, 0, reverse=True), _rev_cum(np.cumprod, 0), (5, 2)),
    Row('cummax', lambda x: lax.cummax(x, 1), lambda x: np.maximum.accumulate(x, 1), (3, 7)),
    Row('cummax:reverse', lambda x: lax.cummax(x, -1, reverse=True), _rev_cum(np.maximum.accumulate, 1), (3, 5)),
    Row('cummin', lambda x: lax.cummin(x, 0), lambda x: np.minimum.accumulate(x, 0), (6, 3)),
    Row('cummin:reverse', lambda x: lax.cummin(x, 1, reverse=True), _rev_cum(np.minimum.accumulate, 1)),
]

DIFF = [r for r in ROWS if r.diff]
NONDIFF = [r for r in ROWS if not r.diff]
LINEAR = [r for r in ROWS if r.linear]


def _ids(rows):
    return [r.name for r in rows]


def test_table_has_a_row_per_primitive():
    prims = {p.name for p in vars(reductions).values() if isinstance(p, Primitive)}
    assert {r.prim for r in ROWS} == prims


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_impl_matches_numpy(row):
    x = row.draw(np.random.default_rng(0), row.shape)
    out, expected = row.fun(x), row.ref(x)
    assert np.shape(out) == expected.shape and np.asarray(out).dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    np.testing.assert_allclose(fxad.jit(row.fun)(x), expected, rtol=1e-14)


@pytest.mark.parametrize('name, fun, ref', [
    ('reduce_sum', lambda x: lax.reduce_sum(x, (0,)), lambda x: np.sum(x, 0, dtype=x.dtype)),
    ('reduce_prod', lambda x: lax.reduce_prod(x, (1,)), lambda x: np.prod(x, 1, dtype=x.dtype)),
    ('reduce_max', lambda x: lax.reduce_max(x, (0, 1)), lambda x: np.max(x)),
    ('reduce_and', lambda x: lax.reduce_and(x, (1,)), lambda x: np.bitwise_and.reduce(x, 1)),
    ('cumsum', lambda x: lax.cumsum(x, 0), lambda x: np.cumsum(x, 0, dtype=x.dtype)),
    ('cumprod', lambda x: lax.cumprod(x, 1, reverse=True), _rev_cum(lambda x, a: np.cumprod(x, a, dtype=x.dtype), 1)),
    ('cummin', lambda x: lax.cummin(x, 1), lambda x: np.minimum.accumulate(x, 1)),
])
def test_integer_operands_keep_their_dtype(name, fun, ref):
    x = np.random.default_rng(1).integers(-3, 4, (3, 4)).astype(np.int32)
    out = fun(x)
    assert np.asarray(out).dtype == np.int32
    np.testing.assert_array_equal(out, ref(x))


def test_empty_reductions_give_the_identity():
    x = np.zeros((0, 3))
    np.testing.assert_array_equal(lax.reduce_max(x, (0,)), [-np.inf] * 3)
    np.testing.assert_array_equal(lax.reduce_min(x, (0,)), [np.inf] * 3)
    np.testing.assert_array_equal(lax.reduce_prod(x, (0,)), [1.0] * 3)
    np.testing.assert_array_equal(lax.reduce_max(np.zeros((0,), np.int8), (0,)), np.int8(-128))
    np.testing.assert_array_equal(lax.reduce_and(np.zeros((0,), bool), (0,)), True)


def test_argmax_takes_the_first_occurrence():
    x = np.array([[1., 3., 3., 0.], [2., 2., 2., 2.]])
    np.testing.assert_array_equal(lax.argmax(x, 1, np.int32), [1, 0])
    np.testing.assert_array_equal(lax.argmin(x, 1, np.int32), [3, 0])
    np.testing.assert_array_equal(lax.argmax(x, 0, np.int32), [1, 0, 0, 1])


# ---------------------------------------------------------------------------------------------
# JVPs vs central differences


@pytest.mark.parametrize('row', DIFF, ids=_ids(DIFF))
def test_jvp(row):
    rng = np.random.default_rng(2)
    check_jvp_fd(row.fun, (row.draw(rng, row.shape),), atol=1e-7, rtol=1e-7)


@pytest.mark.parametrize('row', NONDIFF, ids=_ids(NONDIFF))
def test_nondifferentiable_give_zero_tangents(row):
    rng = np.random.default_rng(3)
    x = row.draw(rng, row.shape)
    out, t = fxad.jvp(row.fun, (x,), random_tangents(rng, (x,)))
    assert t.shape == np.shape(out) and t.dtype == dtypes.float0


WITH_ZEROS = [
    ('one_zero', np.array([[1.5, 0.0, -2.0, 0.7], [0.3, 1.1, 0.0, 2.0]])),
    ('several_zeros', np.array([[1.5, 0.0, -2.0, 0.0], [0.0, 0.0, 0.0, 2.0]])),
    ('no_zero_and_all_zero', np.array([[1.5, 0.4, -2.0, 0.7], [0.0, 0.0, 0.0, 0.0]])),
]


@pytest.mark.parametrize('name, x', WITH_ZEROS, ids=[w[0] for w in WITH_ZEROS])
@pytest.mark.parametrize('fun', [
    lambda x: lax.reduce_prod(x, (1,)),
    lambda x: lax.reduce_prod(x, (0, 1)),
    lambda x: lax.reduce_prod(x, (0,)),
    lambda x: lax.cumprod(x, 1),
    lambda x: lax.cumprod(x, 1, reverse=True),
], ids=['reduce_prod_1', 'reduce_prod_01', 'reduce_prod_0', 'cumprod', 'cumprod_reverse'])
def test_products_with_zeros(fun, name, x):
    check_jvp_fd(fun, (x,), atol=1e-8, rtol=1e-8)
    # Reverse mode too: <grad of <w, f>, t> against the central difference along t.
    rng = np.random.default_rng(4)
    w, t = rand(rng, np.shape(fun(x))), rand(rng, x.shape)
    g = fxad.grad(lambda x: lax.reduce_sum(lax.mul(fun(x), w), tuple(range(np.ndim(w)))))(x)
    eps = 1e-6
    fd = (np.sum(w * fun(x + eps * t)) - np.sum(w * fun(x - eps * t))) / (2 * eps)
    np.testing.assert_allclose(np.sum(g * t), fd, rtol=1e-7, atol=1e-8)


def test_reduce_prod_hessian_with_zeros():
    # d2 prod / dx_i dx_j = product of the other entries (i != j), 0 on the diagonal.
    x = np.array([2.0, 0.0, 3.0, 0.0, -1.5])
    expected = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            if i != j:
                expected[i, j] = np.prod(np.delete(x, [i, j]))
    np.testing.assert_allclose(fxad.hessian(lambda x: lax.reduce_prod(x, (0,)))(x), expected, atol=1e-14)


@pytest.mark.parametrize('op, x, expected', [
    (lax.reduce_max, [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
    (lax.reduce_min, [2.0, -1.0, 5.0, -1.0, -1.0], [0.0, 1 / 3, 0.0, 1 / 3, 1 / 3]),
    (lax.reduce_max, [4.0, 4.0, 4.0, 4.0], [0.25] * 4),
], ids=['max', 'min', 'max_all_equal'])
def test_ties_share_the_gradient_evenly(op, x, expected):
    np.testing.assert_allclose(fxad.grad(lambda x: op(x, (0,)))(np.array(x)), expected, rtol=1e-15)


def test_ties_over_several_axes():
    x = np.array([[[1.0, 5.0], [5.0, 2.0]], [[0.0, 1.0], [1.0, 1.0]]])
    g = fxad.grad(lambda x: lax.reduce_sum(lax.reduce_max(x, (1, 2)), (0,)))(x)
    np.testing.assert_allclose(g, [[[0, .5], [.5, 0]], [[0, 1 / 3], [1 / 3, 1 / 3]]], rtol=1e-15)


def test_running_extremum_tangent_follows_its_position():
    x = np.array([0.5, 2.0, 1.0, 3.0, -1.0])
    t = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    _, tmax = fxad.jvp(lambda x: lax.cummax(x, 0), (x,), (t,))
    np.testing.assert_array_equal(tmax, [10, 20, 20, 40, 40])
    _, tmin = fxad.jvp(lambda x: lax.cummin(x, 0, reverse=True), (x,), (t,))
    np.testing.assert_array_equal(tmin, [50, 50, 50, 50, 50])
    _, tmin = fxad.jvp(lambda x: lax.cummin(x, 0), (x,), (t,))
    np.testing.assert_array_equal(tmin, [10, 10, 10, 10, 50])


# ---------------------------------------------------------------------------------------------
# Transposes of the linear reductions


@pytest.mark.parametrize('row', LINEAR, ids=_ids(LINEAR))
def test_transpose_dot_product(row):
    rng = np.random.default_rng(5)
    x = row.draw(rng, row.shape)
    y = rand(rng, row.ref(x).shape)
    check_transpose(row.fun, x, y)
    check_transpose_via_grad(row.fun, x, y)


# ---------------------------------------------------------------------------------------------
# vmap


@pytest.mark.parametrize('spec', [0, 1, -1])
@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_matches_loop(row, spec):
    rng = np.random.default_rng(6)
    x = np.moveaxis(row.draw(rng, (4,) + row.shape), 0, spec)
    check_vmap_vs_loop(row.fun, (x,), spec, rtol=1e-13)


@pytest.mark.parametrize('row', DIFF, ids=_ids(DIFF))
def test_vmap_of_jvp_matches_loop(row):
    rng = np.random.default_rng(7)
    x, t = row.draw(rng, (3,) + row.shape), rand(rng, (3,) + row.shape)
    check_vmap_vs_loop(lambda x, t: fxad.jvp(row.fun, (x,), (t,))[1], (x, t), (0, 0), rtol=1e-13)


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_equations_do_not_grow_with_the_batch(row):
    rng = np.random.default_rng(8)
    x = row.draw(rng, row.shape)
    small, large = vmap_eqn_counts(row.fun, (x,))
    assert small == large
    if row.diff:
        small, large = vmap_eqn_counts(lambda x, t: fxad.jvp(row.fun, (x,), (t,))[1], (x, rand(rng, row.shape)))
        assert small == large


# ---------------------------------------------------------------------------------------------
# Shape rules

ERRORS = [
    ('reduce_max_axis', lambda: lax.reduce_max(np.ones((2, 3)), (2,)), ValueError, [r'\(2, 3\)']),
    ('reduce_sum_axis', lambda: lax.reduce_sum(np.ones((2, 3)), (0, -3)), ValueError, [r'\(2, 3\)']),
    ('reduce_prod_repeated', lambda: lax.reduce_prod(np.ones((2, 3)), (1, -1)), ValueError, [r'\(2, 3\)']),
    ('reduce_sum_bool', lambda: lax.reduce_sum(np.ones(3, bool), (0,)), TypeError, ['bool']),
    ('reduce_and_float', lambda: lax.reduce_and(np.ones(3), (0,)), TypeError, ['float64']),
    ('argmax_empty', lambda: lax.argmax(np.ones((0, 3)), 0, np.int32), ValueError, [r'\(0, 3\)']),
    ('argmax_axis', lambda: lax.argmax(np.ones((2, 3)), 2, np.int32), ValueError, [r'\(2, 3\)']),
    ('argmin_index_dtype', lambda: lax.argmin(np.ones(3), 0, np.float32), TypeError, ['float32']),
    ('cumsum_axis', lambda: lax.cumsum(np.ones((2, 3)), 2), ValueError, [r'\(2, 3\)']),
    ('cummax_complex', lambda: lax.cummax(np.ones(3, complex), 0), TypeError, ['complex128']),
]


@pytest.mark.parametrize('name, thunk, exc, patterns', ERRORS, ids=[e[0] for e in ERRORS])
def test_shape_rule_errors_name_the_shapes(name, thunk, exc, patterns):
    check_error_names(thunk, exc, patterns)
