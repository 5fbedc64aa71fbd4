"""slice, dynamic_slice, dynamic_update_slice, gather and the scatter family against loop-based
NumPy references, finite differences, the dot-product test and a Python loop over the batch."""
import itertools

import numpy as np
import pytest

import fxad
from fxad import lax
from fxad.lax import GatherDimensionNumbers as GDN, ScatterDimensionNumbers as SDN
from fxad.test_util import check_grads
from helpers import check_jvp_fd, check_transpose, check_vmap_vs_loop


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# References: one window (or one update element) at a time, written from XLA's definitions


def _start_of(operand_shape, indices, b, index_map, obd, ibd, window):
    start = [0] * len(operand_shape)
    for i, d in enumerate(index_map):
        start[d] = int(indices[b + (i,)])
    inside = all(0 <= start[d] <= operand_shape[d] - window[d] for d in index_map)
    for d in index_map:
        start[d] = min(max(start[d], 0), operand_shape[d] - window[d])
    for o, i in zip(obd, ibd):
        start[o] = b[i]
    return start, inside


def gather_ref(operand, indices, dn, slice_sizes, mode='clip', fill_value=np.nan):
    r = operand.ndim
    batch_shape = indices.shape[:-1]
    dropped = set(dn.collapsed_slice_dims) | set(dn.operand_batching_dims)
    kept = [d for d in range(r) if d not in dropped]
    out_rank = len(batch_shape) + len(kept)
    out_shape = [0] * out_rank
    window_iter, batch_iter = iter(slice_sizes[d] for d in kept), iter(batch_shape)
    for o in range(out_rank):
        out_shape[o] = next(window_iter) if o in dn.offset_dims else next(batch_iter)
    out = np.zeros(out_shape, operand.dtype)
    for b in np.ndindex(*batch_shape):
        start, inside = _start_of(operand.shape, indices, b, dn.start_index_map, dn.operand_batching_dims,
                                  dn.start_indices_batching_dims, slice_sizes)
        for w in np.ndindex(*[slice_sizes[d] for d in kept]):
            src = list(start)
            for d, k in zip(kept, w):
                src[d] += k
            ws, bs = iter(w), iter(b)
            dst = tuple(next(ws) if o in dn.offset_dims else next(bs) for o in range(out_rank))
            out[dst] = operand[tuple(src)] if inside or mode == 'clip' else fill_value
    return out


def scatter_ref(combine, operand, indices, updates, dn, mode='drop'):
    out = operand.copy()
    r = operand.ndim
    skipped = set(dn.inserted_window_dims) | set(dn.operand_batching_dims)
    sizes = iter(updates.shape[d] for d in dn.update_window_dims)
    window = [1 if d in skipped else next(sizes) for d in range(r)]
    kept = [d for d in range(r) if d not in skipped]
    for u in np.ndindex(*updates.shape):
        b = tuple(u[d] for d in range(updates.ndim) if d not in dn.update_window_dims)
        w = [u[d] for d in dn.update_window_dims]
        start, inside = _start_of(operand.shape, indices, b, dn.scatter_dims_to_operand_dims,
                                  dn.operand_batching_dims, dn.scatter_indices_batching_dims, window)
        if not inside and mode == 'drop':
            continue
        dst = list(start)
        for d, k in zip(kept, w):
            dst[d] += k
        dst = tuple(dst)
        out[dst] = updates[u] if combine is None else combine(out[dst], updates[u])
    return out


# ---------------------------------------------------------------------------------------------
# Gather cases: (name, operand shape, indices, dimension numbers, slice sizes)

I = np.array
GATHERS = [
    ('rows', (5, 4), I([[0], [3], [1], [3]]), GDN((1,), (0,), (0,)), (1, 4)),
    ('windows', (6, 5), I([[0, 1], [4, 3], [2, 2]]), GDN((1, 2), (), (0, 1)), (2, 2)),
    ('batch_2d_offset_last', (5, 6), I([[[1], [0], [5]], [[2], [2], [4]]]), GDN((2,), (1,), (1,)), (5, 1)),
    ('offset_around_batch', (4, 5, 3), I([[1], [4]]), GDN((0, 2), (1,), (1,)), (4, 1, 3)),
    ('batching_dims', (3, 5, 4), I([[[0], [4]], [[2], [2]], [[1], [3]]]), GDN((2,), (1,), (1,), (0,), (0,)),
     (1, 1, 4)),
    ('out_of_bounds', (5, 4), I([[-2, 0], [7, 1], [3, 3]]), GDN((1,), (0,), (0, 1)), (1, 2)),
    ('no_index', (3, 4), np.zeros((0,), np.int64), GDN((0, 1), (), ()), (2, 3)),
]


def _gather_args(case, seed=0):
    name, shape, indices, dn, sizes = case
    return rng(seed).standard_normal(shape), indices, dn, sizes


@pytest.mark.parametrize('case', GATHERS, ids=[c[0] for c in GATHERS])
@pytest.mark.parametrize('mode', ['clip', 'fill'])
def test_gather_values(case, mode):
    x, idx, dn, sizes = _gather_args(case)
    expected = gather_ref(x, idx, dn, sizes, mode, fill_value=-7.0)
    actual = lax.gather(x, idx, dn, sizes, mode=mode, fill_value=-7.0 if mode == 'fill' else None)
    np.testing.assert_array_equal(actual, expected)
    jitted = fxad.jit(lambda x, i: lax.gather(x, i, dn, sizes, mode=mode, fill_value=-7.0))(x, idx)
    np.testing.assert_array_equal(jitted, expected)


def test_gather_fill_default_is_nan():
    x = np.arange(4.0)
    out = lax.gather(x, I([[1], [9]]), GDN((), (0,), (0,)), (1,), mode='fill')
    np.testing.assert_array_equal(out, [1.0, np.nan])


@pytest.mark.parametrize('case', GATHERS, ids=[c[0] for c in GATHERS])
def test_gather_derivatives_and_transpose(case):
    x, idx, dn, sizes = _gather_args(case)
    f = lambda x: lax.gather(x, idx, dn, sizes)
    check_grads(f, (x,), order=2)
    check_transpose(f, x, rng(1).standard_normal(np.shape(f(x))))
    f_fill = lambda x: lax.gather(x, idx, dn, sizes, mode='fill', fill_value=0.0)
    check_jvp_fd(f_fill, (x,))
    check_transpose(f_fill, x, rng(2).standard_normal(np.shape(f_fill(x))))


@pytest.mark.parametrize('case', GATHERS[:5], ids=[c[0] for c in GATHERS[:5]])
@pytest.mark.parametrize('in_axes', [(0, None), (None, 0), (0, 0), (1, 2)])
def test_gather_vmap(case, in_axes):
    x, idx, dn, sizes = _gather_args(case)
    r = rng(3)
    n = 3
    xs = np.stack([x + k for k in range(n)], axis=in_axes[0]) if in_axes[0] is not None else x
    if in_axes[1] is not None:
        bounds = np.array(x.shape)[list(dn.start_index_map)]
        idxs = np.stack([r.integers(0, bounds, idx.shape) for _ in range(n)], axis=in_axes[1] % (idx.ndim + 1))
    else:
        idxs = idx
    axes = (in_axes[0], None if in_axes[1] is None else in_axes[1] % (idx.ndim + 1))
    check_vmap_vs_loop(lambda x, i: lax.gather(x, i, dn, sizes), (xs, idxs), axes)


# ---------------------------------------------------------------------------------------------
# Scatter cases: (name, operand shape, indices, dimension numbers); updates are drawn to fit

SCATTERS = [
    ('rows', (5, 3), I([[0], [3], [1]]), SDN((1,), (0,), (0,)), (3, 3)),
    ('rows_repeated', (5, 3), I([[0], [3], [0], [3], [0]]), SDN((1,), (0,), (0,)), (5, 3)),
    ('windows_overlap', (6, 5), I([[0, 1], [1, 2], [4, 3]]), SDN((1, 2), (), (0, 1)), (3, 2, 2)),
    ('points', (4, 5), I([[0, 1], [3, 4], [0, 1], [2, 2]]), SDN((), (0, 1), (0, 1)), (4,)),
    ('batching_dims', (3, 5, 2), I([[[0], [4]], [[2], [2]], [[1], [1]]]), SDN((2,), (1,), (1,), (0,), (0,)),
     (3, 2, 2)),
    ('out_of_bounds', (5, 3), I([[-1], [4], [7]]), SDN((1,), (0,), (0,)), (3, 3)),
]
SCATTER_OPS = [
    ('scatter', lax.scatter, None),
    ('scatter_add', lax.scatter_add, lambda a, b: a + b),
    ('scatter_mul', lax.scatter_mul, lambda a, b: a * b),
    ('scatter_min', lax.scatter_min, min),
    ('scatter_max', lax.scatter_max, max),
]


def _scatter_args(case, seed=0):
    name, shape, indices, dn, updates_shape = case
    r = rng(seed)
    return r.standard_normal(shape), indices, r.standard_normal(updates_shape), dn


@pytest.mark.parametrize('case', SCATTERS, ids=[c[0] for c in SCATTERS])
@pytest.mark.parametrize('op', SCATTER_OPS, ids=[o[0] for o in SCATTER_OPS])
@pytest.mark.parametrize('mode', ['drop', 'clip'])
def test_scatter_values(case, op, mode):
    x, idx, u, dn = _scatter_args(case)
    _, fn, combine = op
    expected = scatter_ref(combine, x, idx, u, dn, mode)
    np.testing.assert_allclose(fn(x, idx, u, dn, mode=mode), expected, rtol=1e-14)
    jitted = fxad.jit(lambda x, i, u: fn(x, i, u, dn, mode=mode))(x, idx, u)
    np.testing.assert_allclose(jitted, expected, rtol=1e-14)


def test_scatter_does_not_mutate_its_operand():
    x = np.zeros(3)
    out = lax.scatter_add(x, I([[1]]), np.ones(1), SDN((), (0,), (0,)))
    np.testing.assert_array_equal(x, np.zeros(3))
    np.testing.assert_array_equal(out, [0.0, 1.0, 0.0])


@pytest.mark.parametrize('case', SCATTERS, ids=[c[0] for c in SCATTERS])
@pytest.mark.parametrize('op', SCATTER_OPS, ids=[o[0] for o in SCATTER_OPS])
def test_scatter_derivatives(case, op):
    # Repeated indices included: set keeps the last write, mul multiplies, min/max pick one.
    x, idx, u, dn = _scatter_args(case)
    _, fn, _ = op
    check_grads(lambda x, u: fn(x, idx, u, dn), (x, u), order=1)


def test_scatter_mul_derivative_with_zero_updates():
    # Zero updates, alone and repeated at one place: the product of the others has no 1/u.
    x = rng().standard_normal((4, 2))
    idx = I([[0], [0], [1], [1], [2]])
    u = rng(1).standard_normal((5, 2))
    f = lambda x, u: lax.scatter_mul(x, idx, u, SDN((1,), (0,), (0,)))
    check_grads(f, (x, u), order=2)
    u[0, 0] = u[2, :] = u[3, 1] = u[4, 0] = 0.0
    check_grads(f, (x, u), order=1)


@pytest.mark.parametrize('case', SCATTERS, ids=[c[0] for c in SCATTERS])
def test_scatter_transposes(case):
    x, idx, u, dn = _scatter_args(case)
    ct = rng(5).standard_normal(x.shape)
    check_transpose(lambda xu: lax.scatter_add(xu[0], idx, xu[1], dn), (x, u), ct)
    check_transpose(lambda xu: lax.scatter(xu[0], idx, xu[1], dn), (x, u), ct)
    check_transpose(lambda x: lax.scatter_mul(x, idx, u, dn), x, ct)


@pytest.mark.parametrize('case', SCATTERS[:5], ids=[c[0] for c in SCATTERS[:5]])
@pytest.mark.parametrize('op', SCATTER_OPS, ids=[o[0] for o in SCATTER_OPS])
@pytest.mark.parametrize('in_axes', [(0, None, None), (None, 0, None), (None, None, 1), (1, 0, 0), (None, 1, 0)])
def test_scatter_vmap(case, op, in_axes):
    x, idx, u, dn = _scatter_args(case)
    _, fn, _ = op
    n, r = 3, rng(7)
    xs = x if in_axes[0] is None else np.stack([x + k for k in range(n)], in_axes[0])
    us = u if in_axes[2] is None else np.stack([u * (k + 1) for k in range(n)], in_axes[2])
    if in_axes[1] is None:
        idxs = idx
    else:
        bounds = np.array(x.shape)[list(dn.scatter_dims_to_operand_dims)]
        idxs = np.stack([np.where(idx >= 0, r.integers(0, bounds, idx.shape), idx) for _ in range(n)], in_axes[1])
    check_vmap_vs_loop(lambda x, i, u: fn(x, i, u, dn), (xs, idxs, us), in_axes, rtol=1e-13)


def test_vmapped_gather_jaxpr_does_not_grow_with_the_batch():
    dn = GDN((1,), (0,), (0,))

    def f(x, i):
        return lax.gather(x, i, dn, (1, 3)) * 2.0

    def n_eqns(batch):
        x = np.ones((batch, 5, 3))
        i = np.zeros((batch, 4, 1), np.int64)
        return len(fxad.make_jaxpr(fxad.vmap(f))(x, i).eqns)
    assert n_eqns(2) == n_eqns(50)


# ---------------------------------------------------------------------------------------------
# slice, dynamic_slice, dynamic_update_slice

SLICES = [
    ((5, 6), (1, 0), (4, 6), None),
    ((5, 6), (0, 1), (5, 6), (2, 3)),
    ((7,), (2,), (7,), (2,)),
    ((4, 3, 2), (0, 1, 0), (4, 3, 1), (3, 1, 1)),
    ((4, 3), (2, 1), (2, 1), None),
]


@pytest.mark.parametrize('shape, start, limit, strides', SLICES)
def test_slice(shape, start, limit, strides):
    x = rng().standard_normal(shape)
    f = lambda x: lax.slice(x, start, limit, strides)
    expected = x[tuple(slice(s, l, st) for s, l, st in zip(start, limit, strides or [1] * len(shape)))]
    np.testing.assert_array_equal(f(x), expected)
    np.testing.assert_array_equal(fxad.jit(f)(x), expected)
    check_grads(f, (x,), order=1)
    check_transpose(f, x, rng(1).standard_normal(expected.shape))
    check_vmap_vs_loop(f, (np.stack([x, 2 * x], axis=len(shape)),), len(shape))


def test_slice_in_dim_and_index_in_dim():
    x = rng().standard_normal((4, 5))
    np.testing.assert_array_equal(lax.slice_in_dim(x, 1, None, 2, axis=1), x[:, 1::2])
    np.testing.assert_array_equal(lax.slice_in_dim(x, -3, -1, axis=0), x[-3:-1])
    np.testing.assert_array_equal(lax.index_in_dim(x, -1, axis=1, keepdims=False), x[:, -1])
    np.testing.assert_array_equal(lax.index_in_dim(x, 2), x[2:3])
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 4"):
        lax.index_in_dim(x, 5)


def _dynamic_slice_ref(x, starts, sizes):
    starts = [s + n if s < 0 else s for s, n in zip(starts, x.shape)]
    starts = [min(max(s, 0), n - k) for s, n, k in zip(starts, x.shape, sizes)]
    return x[tuple(slice(s, s + k) for s, k in zip(starts, sizes))]


DYNAMIC_SLICES = [((5, 6), (1, 2), (3, 2)), ((5, 6), (4, 5), (3, 2)), ((5, 6), (-2, -9), (2, 4)), ((7,), (3,), (0,))]


@pytest.mark.parametrize('shape, starts, sizes', DYNAMIC_SLICES)
def test_dynamic_slice(shape, starts, sizes):
    x = rng().standard_normal(shape)
    expected = _dynamic_slice_ref(x, starts, sizes)
    np.testing.assert_array_equal(lax.dynamic_slice(x, starts, sizes), expected)
    jitted = fxad.jit(lambda x, *s: lax.dynamic_slice(x, s, sizes))(x, *starts)
    np.testing.assert_array_equal(jitted, expected)
    f = lambda x: lax.dynamic_slice(x, starts, sizes)
    check_grads(f, (x,), order=2)
    check_transpose(f, x, rng(1).standard_normal(expected.shape))


@pytest.mark.parametrize('shape, starts, sizes', DYNAMIC_SLICES[:3])
@pytest.mark.parametrize('batched', [(True, False), (False, True), (True, True)])
def test_dynamic_slice_vmap(shape, starts, sizes, batched):
    x = rng().standard_normal(shape)
    n = 4
    xs = np.stack([x * (k + 1) for k in range(n)], 1) if batched[0] else x
    st = [np.array([s, s + 1, -1, 100])[:n] if batched[1] else s for s in starts]
    in_axes = (1 if batched[0] else None,) + (0 if batched[1] else None,) * len(starts)
    check_vmap_vs_loop(lambda x, *s: lax.dynamic_slice(x, s, sizes), (xs, *st), in_axes)


def _dynamic_update_slice_ref(x, u, starts):
    out = x.copy()
    starts = [s + n if s < 0 else s for s, n in zip(starts, x.shape)]
    starts = [min(max(s, 0), n - k) for s, n, k in zip(starts, x.shape, u.shape)]
    out[tuple(slice(s, s + k) for s, k in zip(starts, u.shape))] = u
    return out


DYNAMIC_UPDATES = [((5, 6), (2, 3), (1, 2)), ((5, 6), (3, 2), (4, 5)), ((5, 6), (2, 2), (-1, -20)), ((4,), (0,), (2,))]


@pytest.mark.parametrize('shape, update_shape, starts', DYNAMIC_UPDATES)
def test_dynamic_update_slice(shape, update_shape, starts):
    r = rng()
    x, u = r.standard_normal(shape), r.standard_normal(update_shape)
    expected = _dynamic_update_slice_ref(x, u, starts)
    np.testing.assert_array_equal(lax.dynamic_update_slice(x, u, starts), expected)
    jitted = fxad.jit(lambda x, u, *s: lax.dynamic_update_slice(x, u, s))(x, u, *starts)
    np.testing.assert_array_equal(jitted, expected)
    f = lambda x, u: lax.dynamic_update_slice(x, u, starts)
    check_grads(f, (x, u), order=1)
    check_transpose(lambda xu: f(*xu), (x, u), r.standard_normal(shape))


@pytest.mark.parametrize('shape, update_shape, starts', DYNAMIC_UPDATES[:3])
@pytest.mark.parametrize('batched', list(itertools.product([False, True], repeat=3))[1:])
def test_dynamic_update_slice_vmap(shape, update_shape, starts, batched):
    r = rng()
    x, u = r.standard_normal(shape), r.standard_normal(update_shape)
    n = 3
    xs = np.stack([x + k for k in range(n)]) if batched[0] else x
    us = np.stack([u * k for k in range(n)], -1) if batched[1] else u
    st = [np.array([s, 0, -1]) if batched[2] else s for s in starts]
    in_axes = (0 if batched[0] else None, len(update_shape) if batched[1] else None) + \
        (0 if batched[2] else None,) * len(starts)
    check_vmap_vs_loop(lambda x, u, *s: lax.dynamic_update_slice(x, u, s), (xs, us, *st), in_axes)


def test_in_dim_wrappers():
    x = rng().standard_normal((4, 5))
    np.testing.assert_array_equal(lax.dynamic_slice_in_dim(x, 1, 3, axis=1), x[:, 1:4])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(x, -1, axis=0, keepdims=False), x[-1])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(x, 2, axis=1), x[:, 2:3])
    expected = x.copy()
    expected[:, 3:5] = 0.0
    np.testing.assert_array_equal(lax.dynamic_update_slice_in_dim(x, np.zeros((4, 2)), 3, axis=1), expected)


def test_dimension_numbers_are_hashable_and_print_readably():
    dn = GDN([1], [0], [0])
    assert dn == GDN((1,), (0,), (0,)) and hash(dn) == hash(GDN((1,), (0,), (0,)))
    text = str(fxad.make_jaxpr(lambda x: lax.gather(x, I([[1]]), dn, (1, 2)))(np.ones((3, 2))))
    assert 'GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))' in text


# ---------------------------------------------------------------------------------------------
# Shape errors name the shapes and the offending numbers

ERRORS = [
    (lambda: lax.slice(np.ones((3, 4)), (0, 2), (2, 5)), ValueError, r"limit_indices \(2, 5\).*\(3, 4\)"),
    (lambda: lax.slice(np.ones((3, 4)), (0,), (2,)), TypeError, r"shape \(3, 4\) needs 2"),
    (lambda: lax.dynamic_slice(np.ones((3, 4)), (0, 0), (4, 1)), ValueError, r"slice_sizes \(4, 1\).*\(3, 4\)"),
    (lambda: lax.dynamic_slice(np.ones(3), (0.5,), (1,)), TypeError, r"start index 0 must be an integer"),
    (lambda: lax.dynamic_update_slice(np.ones(3), np.ones(4), (0,)), ValueError, r"\(4,\).*\(3,\)"),
    (lambda: lax.gather(np.ones((3, 4)), I([[0]]), GDN((1,), (0,), (0,)), (2, 4)), ValueError,
     r"dim 0 is collapsed.*\(2, 4\)"),
    (lambda: lax.gather(np.ones((3, 4)), I([[0, 1]]), GDN((1,), (0,), (0,)), (1, 4)), ValueError,
     r"start_index_map \(0,\) has 1 entries.*\(1, 2\)"),
    (lambda: lax.gather(np.ones((3, 4)), I([[0.5]]), GDN((1,), (0,), (0,)), (1, 4)), TypeError, r"integers"),
    (lambda: lax.scatter_add(np.ones((3, 4)), I([[0]]), np.ones((2, 4)), SDN((1,), (0,), (0,))), ValueError,
     r"updates of shape \(2, 4\).*\(1, 4\)"),
    (lambda: lax.scatter(np.ones(3), I([[0]]), np.ones(1, np.float32), SDN((), (0,), (0,))), TypeError,
     r"float32 differs from the operand's float64"),
    (lambda: lax.gather(np.ones(3), I([[0]]), GDN((), (0,), (0,)), (1,), mode='wrap'), ValueError,
     r"unknown mode 'wrap'"),
]


@pytest.mark.parametrize('fn, err, match', ERRORS)
def test_errors(fn, err, match):
    with pytest.raises(err, match=match):
        fn()
