"""Structural primitives (lax/shapes.py), one table row each: values vs NumPy, jvp vs central
differences, transposes by the dot-product test (linear_transpose and grad), vmap vs a Python
loop, and shape-rule errors that name the shapes."""
import numpy as np
import pytest

import fxad
from fxad import dtypes, lax
from fxad.core import Primitive
from fxad.lax import shapes

from helpers import (check_error_names, check_jvp_fd, check_transpose, check_transpose_via_grad, check_vmap_vs_loop,
                     rand, vmap_eqn_counts)


def pad_reference(x, value, config):
    """lax.pad by index arithmetic: operand element k lands at low + k * (interior + 1)."""
    x = np.asarray(x)
    shape = tuple(lo + hi + n + max(n - 1, 0) * i for n, (lo, hi, i) in zip(x.shape, config))
    out = np.full(shape, value, x.dtype)
    for src in np.ndindex(*x.shape):
        dst = tuple(lo + k * (i + 1) for k, (lo, _, i) in zip(src, config))
        if all(0 <= d < s for d, s in zip(dst, shape)):
            out[dst] = x[src]
    return out


class Row:
    """A primitive applied with fixed params: fun(*arrays), its NumPy reference, operand shapes."""

    def __init__(self, name, fun, ref, shapes):
        self.name = name
        self.prim = name.split(':')[0]
        self.fun = fun
        self.ref = ref
        self.shapes = shapes

    def __repr__(self):
        return self.name


PAD_INTERIOR_CROP = ((1, -2, 1), (-1, 2, 2))
PAD_HEAVY_CROP = ((-3, 0, 0), (2, -4, 1))

ROWS = [
    Row('broadcast_in_dim', lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (0, 2)),
        lambda x: np.broadcast_to(x[:, None, :], (2, 3, 4)), [(2, 4)]),
    Row('broadcast_in_dim:stretch', lambda x: lax.broadcast_in_dim(x, (3, 4), (0, 1)),
        lambda x: np.broadcast_to(x, (3, 4)), [(1, 4)]),
    Row('reshape', lambda x: lax.reshape(x, (3, 4)), lambda x: np.reshape(x, (3, 4)), [(2, 6)]),
    Row('transpose', lambda x: lax.transpose(x, (2, 0, 1)), lambda x: np.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
    Row('squeeze', lambda x: lax.squeeze(x, (1,)), lambda x: x[:, 0, :], [(2, 1, 3)]),
    Row('expand_dims', lambda x: lax.expand_dims(x, (0, 2)), lambda x: x[None, :, None, :], [(2, 3)]),
    Row('rev', lambda x: lax.rev(x, (0, 2)), lambda x: x[::-1, :, ::-1], [(2, 3, 4)]),
    Row('concatenate', lambda a, b, c: lax.concatenate([a, b, c], 1),
        lambda a, b, c: np.concatenate([a, b, c], 1), [(2, 3), (2, 1), (2, 4)]),
    Row('concatenate:axis0', lambda a, b: lax.concatenate([a, b], 0),
        lambda a, b: np.concatenate([a, b], 0), [(1, 3), (4, 3)]),
    Row('pad', lambda x, v: lax.pad(x, v, PAD_INTERIOR_CROP),
        lambda x, v: pad_reference(x, v, PAD_INTERIOR_CROP), [(4, 3), ()]),
    Row('pad:heavy_crop', lambda x, v: lax.pad(x, v, PAD_HEAVY_CROP),
        lambda x, v: pad_reference(x, v, PAD_HEAVY_CROP), [(4, 5), ()]),
    Row('pad:positive', lambda x, v: lax.pad(x, v, ((2, 1, 0), (0, 3, 0))),
        lambda x, v: pad_reference(x, v, ((2, 1, 0), (0, 3, 0))), [(2, 3), ()]),
]

NO_OPERANDS = {'iota'}


def _ids(rows):
    return [r.name for r in rows]


def _args(rng, row):
    return tuple(rand(rng, s) for s in row.shapes)


def test_table_has_a_row_per_primitive():
    prims = {p.name for p in vars(shapes).values() if isinstance(p, Primitive)}
    assert {r.prim for r in ROWS} | NO_OPERANDS == prims


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_impl_matches_numpy(row):
    args = _args(np.random.default_rng(0), row)
    out = row.fun(*args)
    expected = row.ref(*args)
    assert np.shape(out) == expected.shape and np.asarray(out).dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)
    traced = fxad.jit(row.fun)(*args)
    np.testing.assert_array_equal(traced, expected)


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_jvp(row):
    check_jvp_fd(row.fun, _args(np.random.default_rng(1), row))


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_transpose_dot_product(row):
    rng = np.random.default_rng(2)
    args = _args(rng, row)
    y = rand(rng, row.ref(*args).shape)
    check_transpose(lambda a: row.fun(*a), args, y)
    check_transpose_via_grad(lambda a: row.fun(*a), args, y)


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_transpose_in_each_operand(row):
    # The other operands are zero constants, so the function stays linear in operand i (the
    # rule returns None for the constants).
    rng = np.random.default_rng(3)
    args = _args(rng, row)
    y = rand(rng, row.ref(*args).shape)
    for i in range(len(args)):
        zeros = [np.zeros_like(a) for a in args]

        def f(xi):
            return row.fun(*zeros[:i], xi, *zeros[i + 1:])
        check_transpose(f, args[i], y)
        check_transpose_via_grad(f, args[i], y)


def _batched(rng, row, axes, size=3):
    out = []
    for s, ax in zip(row.shapes, axes):
        if ax is None:
            out.append(rand(rng, s))
        else:
            out.append(np.moveaxis(rand(rng, (size,) + s), 0, ax))
    return tuple(out)


@pytest.mark.parametrize('spec', [0, 1, -1])
@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_matches_loop(row, spec):
    axes = tuple(spec if len(s) >= 1 else 0 for s in row.shapes)
    check_vmap_vs_loop(row.fun, _batched(np.random.default_rng(4), row, axes), axes)


MULTI = [r for r in ROWS if len(r.shapes) > 1]


@pytest.mark.parametrize('row', MULTI, ids=_ids(MULTI))
def test_vmap_with_unbatched_operands(row):
    rng = np.random.default_rng(5)
    n = len(row.shapes)
    for i in range(n):
        only_i = tuple(0 if j == i else None for j in range(n))
        all_but_i = tuple(None if j == i else -1 if row.shapes[j] else 0 for j in range(n))
        for axes in (only_i, all_but_i):
            check_vmap_vs_loop(row.fun, _batched(rng, row, axes), axes)


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_equations_do_not_grow_with_the_batch(row):
    args = _args(np.random.default_rng(6), row)
    small, large = vmap_eqn_counts(row.fun, args)
    assert small == large
    tangents = _args(np.random.default_rng(7), row)
    small, large = vmap_eqn_counts(lambda a, t: fxad.jvp(row.fun, a, t)[1], (args, tangents))
    assert small == large


def test_pad_transpose_reaches_the_padding_value():
    # d/dv sum(w * pad(x, v)) = sum of w over the padded places (cropped operand places excluded).
    rng = np.random.default_rng(8)
    x, w = rand(rng, (4, 3)), rand(rng, (6, 8))
    f = lambda x, v: lax.reduce_sum(lax.mul(lax.pad(x, v, PAD_INTERIOR_CROP), w), (0, 1))
    gx, gv = fxad.grad(f, argnums=(0, 1))(x, 0.5)
    is_operand = pad_reference(np.ones((4, 3)), 0.0, PAD_INTERIOR_CROP) == 1
    np.testing.assert_allclose(gv, np.sum(w[~is_operand]), rtol=1e-12)
    np.testing.assert_allclose(gx, _pad_cotangent_reference(w, (4, 3), PAD_INTERIOR_CROP), rtol=1e-12)


def _pad_cotangent_reference(w, shape, config):
    """Operand element k receives the cotangent at its output position, or 0 if it was cropped."""
    out = np.zeros(shape)
    for src in np.ndindex(*shape):
        dst = tuple(lo + k * (i + 1) for k, (lo, _, i) in zip(src, config))
        if all(0 <= d < s for d, s in zip(dst, w.shape)):
            out[src] = w[dst]
    return out


# ---------------------------------------------------------------------------------------------
# iota: no operands, no derivative


@pytest.mark.parametrize('dtype', [np.int32, np.int64, np.float64])
def test_iota_values(dtype):
    out = lax.iota(dtype, 5)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.arange(5))
    out = lax.broadcasted_iota(dtype, (2, 3, 4), 1)
    assert out.shape == (2, 3, 4) and out.dtype == dtype
    np.testing.assert_array_equal(out, np.arange(3)[None, :, None] * np.ones((2, 1, 4)))
    np.testing.assert_array_equal(lax.broadcasted_iota(dtype, (2, 3), -1), np.indices((2, 3))[1])


def test_iota_under_transformations():
    jaxpr = fxad.make_jaxpr(lambda: lax.broadcasted_iota(np.int32, (2, 3), 0))()
    assert str(jaxpr.eqns[0]) == "a:i32[2,3] = iota[dtype=int32 shape=(2, 3) dimension=0]"
    # An iota beside a batched value stays unbatched; its tangent is zero.
    f = lambda x: lax.mul(x, lax.iota(np.float64, 3))
    np.testing.assert_array_equal(fxad.vmap(f)(np.ones((2, 3))), [[0., 1., 2.]] * 2)
    np.testing.assert_array_equal(fxad.grad(lambda x: lax.reduce_sum(f(x), (0,)))(np.ones(3)), [0., 1., 2.])
    _, t = fxad.jvp(lambda x: lax.add(x, lax.iota(np.float64, 3)), (np.ones(3),), (np.ones(3),))
    np.testing.assert_array_equal(t, np.ones(3))


# ---------------------------------------------------------------------------------------------
# Shape rules: errors name the shapes, in eager and traced code alike

ERRORS = [
    ('concatenate', lambda: lax.concatenate([np.ones((2, 3)), np.ones((3, 4))], 0), ValueError,
     [r'\(2, 3\)', r'\(3, 4\)']),
    ('concatenate_ranks', lambda: lax.concatenate([np.ones((2, 3)), np.ones(3)], 0), ValueError,
     [r'\(2, 3\)', r'\(3,\)']),
    ('concatenate_dtypes', lambda: lax.concatenate([np.ones(2), np.ones(2, np.float32)], 0), TypeError,
     ['float32']),
    ('concatenate_rank0', lambda: lax.concatenate([np.float64(1), np.float64(2)], 0), ValueError, [r'\(\)']),
    ('pad_config_length', lambda: lax.pad(np.ones((2, 3)), 0.0, [(1, 1, 0)]), ValueError, [r'\(2, 3\)']),
    ('pad_negative_size', lambda: lax.pad(np.ones(3), 0.0, [(-2, -2, 0)]), ValueError, [r'\(3,\)', r'\(-1,\)']),
    ('pad_negative_interior', lambda: lax.pad(np.ones(3), 0.0, [(0, 0, -1)]), ValueError, [r'\(3,\)']),
    ('pad_value_shape', lambda: lax.pad(np.ones(3), np.zeros(2), [(0, 0, 0)]), ValueError, [r'\(2,\)']),
    ('pad_value_dtype', lambda: lax.pad(np.ones(3), np.float32(0), [(0, 0, 0)]), TypeError, ['float32']),
    ('rev', lambda: lax.rev(np.ones((2, 3)), (2,)), ValueError, [r'\(2, 3\)']),
    ('rev_repeated', lambda: lax.rev(np.ones((2, 3)), (1, -1)), ValueError, [r'\(2, 3\)']),
    ('iota_dimension', lambda: lax.broadcasted_iota(np.int32, (2, 3), 2), ValueError, [r'\(2, 3\)']),
    ('iota_dtype', lambda: lax.iota(np.bool_, 3), TypeError, ['bool']),
    ('reshape', lambda: lax.reshape(np.ones((2, 3)), (4, 2)), ValueError, [r'\(2, 3\)', r'\(4, 2\)']),
    ('broadcast_in_dim', lambda: lax.broadcast_in_dim(np.ones((2, 3)), (3, 3), (0, 1)), ValueError,
     [r'\(2, 3\)', r'\(3, 3\)']),
    ('transpose', lambda: lax.transpose(np.ones((2, 3)), (0, 2)), ValueError, [r'\(2, 3\)']),
    ('squeeze', lambda: lax.squeeze(np.ones((2, 3)), (0,)), ValueError, [r'\(2, 3\)']),
    ('expand_dims', lambda: lax.expand_dims(np.ones((2, 3)), (0, 0)), ValueError, [r'\(2, 3\)']),
]


@pytest.mark.parametrize('name, thunk, exc, patterns', ERRORS, ids=[e[0] for e in ERRORS])
def test_shape_rule_errors_name_the_shapes(name, thunk, exc, patterns):
    check_error_names(thunk, exc, patterns)


def test_integer_operands_keep_their_dtype_and_have_no_tangent():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    out = lax.pad(lax.rev(lax.concatenate([x, x], 0), (1,)), 7, ((1, 0, 1), (0, 0, 0)))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, pad_reference(np.concatenate([x, x], 0)[:, ::-1], 7, ((1, 0, 1), (0, 0, 0))))
    _, t = fxad.jvp(lambda x: lax.pad(x, 0, ((1, 1, 0), (0, 0, 0))), (x,), (np.zeros(x.shape, dtypes.float0),))
    assert t.dtype == dtypes.float0 and t.shape == (4, 3)
