"""NumPy indexing (x[idx], fnp.at(x)[idx].set/add/mul/min/max/get, take, take_along_axis) against
NumPy itself, finite differences and a Python loop over the batch."""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad.errors import NonConcreteBooleanIndexError
from fxad.test_util import check_grads
from helpers import check_vmap_vs_loop

I = np.array
SHAPE = (4, 5, 6)
_MASK = np.random.default_rng(42).uniform(size=SHAPE) > 0.5

INDICES = [
    ('int', 1), ('negative_int', -1), ('two_ints', (1, -2)), ('int_array_0d', I(2)),
    ('slice', slice(1, 3)), ('slice_step', (slice(None), slice(0, None, 2))),
    ('slice_negative_step', slice(None, None, -1)), ('slice_negative_step_2', (slice(4, 0, -2), slice(None, None, -3))),
    ('slice_empty', (slice(None), slice(3, 1))), ('slice_out_of_range', slice(-10, 10)),
    ('none', None), ('none_between', (1, None, slice(None), None)), ('ellipsis', (Ellipsis, 2)),
    ('ellipsis_none', (1, Ellipsis, None)), ('empty_tuple', ()),
    ('int_list', [1, 2, 0]), ('array', I([0, 3, -1])), ('array_repeated', I([2, 2, 0, 2])),
    ('array_2d', I([[0, 1], [3, 2]])), ('array_on_last', (Ellipsis, I([5, 0, -6]))),
    ('two_arrays', (I([0, 1, 3]), I([4, 0, 2]))), ('broadcast_arrays', (I([[0], [3]]), I([1, 4, 0]))),
    ('adjacent_after_slice', (slice(None), I([0, 4]), I([1, 5]))),
    ('separated_by_slice', (I([0, 1]), slice(None), I([2, 3]))),
    ('int_and_array_separated', (0, slice(None), I([2, 3]))), ('int_and_array_adjacent', (slice(None), 1, I([2, 3]))),
    ('separated_by_none', (slice(None), I([0, 1]), None, I([2, 3]))),
    ('separated_by_ellipsis', (I([0, 1]), Ellipsis, I([2, 3]))),
    ('array_with_strided_slice', (slice(None, None, -2), I([0, 4]))),
    ('array_with_slices_and_none', (slice(1, 3), None, I([[1, 2]]), slice(None, None, 2))),
    ('mask_full', _MASK), ('mask_leading', _MASK[:, :, 0]), ('mask_after_slice', (slice(None), _MASK[0, :, 0])),
    ('mask_and_array', (_MASK[:, 0, 0], slice(None), I([1]))), ('scalar_true', True), ('scalar_false', (False, 1)),
    ('empty_array', I([], np.int64)),
]
IDS = [name for name, _ in INDICES]
IDXS = [idx for _, idx in INDICES]


def x_value(seed=0):
    return np.random.default_rng(seed).standard_normal(SHAPE)


def _is_int_array(i):
    return isinstance(i, np.ndarray) and i.dtype.kind in 'iu' and i.ndim > 0


def split_arrays(idx):
    """(template, arrays): the index with its integer arrays pulled out, to pass them traced."""
    items = idx if isinstance(idx, tuple) else (idx,)
    arrays = [i for i in items if _is_int_array(i)]
    return (lambda arrs: _refill(idx, arrs)), arrays


def _refill(idx, arrays):
    it = iter(arrays)
    if not isinstance(idx, tuple):
        return next(it) if _is_int_array(idx) else idx
    return tuple(next(it) if _is_int_array(i) else i for i in idx)


@pytest.mark.parametrize('idx', IDXS, ids=IDS)
def test_getitem_matches_numpy(idx):
    x = x_value()
    expected = x[idx]
    eager = fnp.at(x)[idx].get()
    assert isinstance(eager, np.ndarray) or np.isscalar(eager)
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(fxad.jit(lambda x: x[idx])(x), expected)
    rebuild, arrays = split_arrays(idx)
    traced = fxad.jit(lambda x, *a: x[rebuild(a)])(x, *arrays)
    np.testing.assert_array_equal(traced, expected)


@pytest.mark.parametrize('idx', IDXS, ids=IDS)
def test_getitem_gradient(idx):
    x = x_value()
    w = np.random.default_rng(1).standard_normal(np.shape(x[idx]))
    # The gradient of <w, x[idx]> scatters w back (repeated indices accumulate).
    expected = np.zeros(SHAPE)
    np.add.at(expected, idx, w)
    np.testing.assert_allclose(fxad.grad(lambda x: fnp.sum(w * x[idx]))(x), expected, rtol=1e-14)
    check_grads(lambda x: x[idx], (x,), order=1)


UPDATE_OPS = [('set', None), ('add', np.add), ('mul', np.multiply), ('min', np.minimum), ('max', np.maximum)]
UPDATE_INDICES = [i for i in INDICES if i[0] not in ('array_repeated', 'scalar_true', 'scalar_false')]


@pytest.mark.parametrize('op', UPDATE_OPS, ids=[o[0] for o in UPDATE_OPS])
@pytest.mark.parametrize('idx', [i for _, i in UPDATE_INDICES], ids=[n for n, _ in UPDATE_INDICES])
def test_updates_match_numpy(idx, op):
    x = x_value()
    x_before = x.copy()
    name, ufunc = op
    v = np.random.default_rng(2).standard_normal(np.shape(x[idx]))
    expected = x.copy()
    if ufunc is None:
        expected[idx] = v
    else:
        ufunc.at(expected, idx, v)
    eager = getattr(fnp.at(x)[idx], name)(v)
    assert type(eager) is np.ndarray and eager is not x
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_allclose(eager, expected, rtol=1e-15)
    rebuild, arrays = split_arrays(idx)
    traced = fxad.jit(lambda x, v, *a: getattr(x.at[rebuild(a)], name)(v))(x, v, *arrays)
    np.testing.assert_allclose(traced, expected, rtol=1e-15)


@pytest.mark.parametrize('op', UPDATE_OPS, ids=[o[0] for o in UPDATE_OPS])
@pytest.mark.parametrize('idx', [(slice(None), I([0, 3])), (1, slice(None, None, -2)), I([2, 0, 2]), _MASK[:, 0, 0]],
                         ids=['array', 'strided', 'repeated', 'mask'])
def test_update_gradients(idx, op):
    x = x_value()
    name = op[0]
    v = np.random.default_rng(3).standard_normal(np.shape(x[idx]))
    check_grads(lambda x, v: getattr(fnp.at(x)[idx], name)(v), (x, v), order=1)


def test_add_accumulates_repeated_indices_and_broadcasts_values():
    x = np.zeros(4)
    np.testing.assert_array_equal(fnp.at(x)[I([1, 1, 3, 1])].add(2.0), [0.0, 6.0, 0.0, 2.0])
    np.testing.assert_array_equal(fnp.at(np.zeros((2, 3)))[:, 1].set(np.ones((1, 2))), [[0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(fnp.at(np.zeros(3, np.int64))[0].add(2.7), [2, 0, 0])


def test_traced_out_of_bounds_indices_clamp_on_read_and_drop_on_write():
    x = np.arange(5.0)
    i = I([-1, 7, -9])
    np.testing.assert_array_equal(fxad.jit(lambda x, i: x[i])(x, i), [4.0, 4.0, 0.0])
    np.testing.assert_array_equal(fxad.jit(lambda x, i: x.at[i].set(-1.0))(x, i), [0.0, 1.0, 2.0, 3.0, -1.0])
    np.testing.assert_array_equal(fxad.jit(lambda x, i: x.at[i].get(mode='fill', fill_value=-5.0))(x, i),
                                  [4.0, -5.0, -5.0])
    np.testing.assert_array_equal(fxad.jit(lambda x, i: x.at[i].add(1.0, mode='clip'))(x, i), [1.0, 1, 2, 3, 6])
    np.testing.assert_array_equal(fxad.jit(lambda x, k: x[k])(x, 9), 4.0)


# An explicit mode= applies to static (Python int) indices too, as in JAX: 'fill' reads fill_value
# (NaN by default), 'clip' clamps after counting negatives from the end, 'drop' skips the update.
_X2 = np.arange(20.0).reshape(4, 5)


def _with(x, idx, value):
    y = x.copy()
    y[idx] = value
    return y


STATIC_MODES = [
    ('get_fill', lambda x: fnp.at(x)[11].get(mode='fill', fill_value=-1.0), np.full(5, -1.0)),
    ('get_fill_default_nan', lambda x: fnp.at(x)[1, -6].get(mode='fill'), np.nan),
    ('get_fill_with_slice', lambda x: fnp.at(x)[-5, 1:3].get(mode='fill', fill_value=7.0), [7.0, 7.0]),
    ('get_fill_with_array', lambda x: fnp.at(x)[I([0, 9]), 7].get(mode='fill', fill_value=0.5), [0.5, 0.5]),
    ('get_drop_fills', lambda x: fnp.at(x)[2, 5].get(mode='drop', fill_value=3.0), 3.0),
    ('get_clip_high', lambda x: fnp.at(x)[11].get(mode='clip'), _X2[3]),
    ('get_clip_low', lambda x: fnp.at(x)[2, -9].get(mode='clip'), _X2[2, 0]),
    ('get_clip_with_array', lambda x: fnp.at(x)[9, I([0, 4])].get(mode='clip'), _X2[3, [0, 4]]),
    ('get_in_range_with_mode', lambda x: fnp.at(x)[-1, 1].get(mode='fill'), _X2[-1, 1]),
    ('set_drop', lambda x: fnp.at(x)[5].set(9.0, mode='drop'), _X2),
    ('add_drop', lambda x: fnp.at(x)[11].add(5.0, mode='drop'), _X2),
    ('add_fill_drops', lambda x: fnp.at(x)[1, -6].add(5.0, mode='fill'), _X2),
    ('mul_drop_with_array', lambda x: fnp.at(x)[I([0, 7]), 1].mul(2.0, mode='drop'), _with(_X2, (0, 1), 2.0)),
    ('min_drop_with_slice', lambda x: fnp.at(x)[1:3, 5].min(-1.0, mode='drop'), _X2),
    ('set_clip', lambda x: fnp.at(x)[4, -7].set(-1.0, mode='clip'), _with(_X2, (3, 0), -1.0)),
    ('max_clip', lambda x: fnp.at(x)[-8].max(100.0, mode='clip'), _with(_X2, 0, 100.0)),
]


@pytest.mark.parametrize('fn, expected', [row[1:] for row in STATIC_MODES], ids=[row[0] for row in STATIC_MODES])
def test_explicit_mode_applies_to_static_out_of_bounds_indices(fn, expected):
    np.testing.assert_array_equal(fn(_X2), expected)
    np.testing.assert_array_equal(fxad.jit(fn)(_X2), expected)
    if not np.isnan(expected).any():   # finite differences of a NaN fill are NaN
        check_grads(fn, (_X2,), order=1)


def test_explicit_mode_on_a_static_index_1d_and_take():
    a = np.arange(10)
    assert fnp.at(a)[11].get(mode='fill', fill_value=-1) == -1
    np.testing.assert_array_equal(fnp.at(a)[11].add(5, mode='drop'), a)
    np.testing.assert_array_equal(fnp.at(np.arange(3.0))[5].set(9.0, mode='drop'), [0.0, 1.0, 2.0])
    assert fnp.at(a)[-11].get(mode='clip') == 0
    assert fnp.take(a, 12, mode='fill', fill_value=-3) == -3
    with pytest.raises(IndexError, match="index 11 is out of bounds for axis 0 with size 10"):
        fnp.at(a)[11].add(5)      # no mode: a static index raises, as in NumPy
    with pytest.raises(IndexError, match="index -11 is out of bounds for axis 0 with size 10"):
        fnp.at(a)[-11].get()


def test_explicit_mode_on_an_axis_of_size_0():
    x = np.zeros((0, 3))
    np.testing.assert_array_equal(fnp.at(x)[0].get(mode='fill'), np.full(3, np.nan))
    assert fnp.at(np.zeros(0, np.int64))[2].get(mode='fill', fill_value=4) == 4
    np.testing.assert_array_equal(fnp.at(x)[0].set(1.0, mode='drop'), x)
    np.testing.assert_array_equal(fxad.jit(lambda x, i: x.at[i].add(1.0))(x, 0), x)
    with pytest.raises(IndexError, match=r"cannot clip an index into an axis of size 0 of an array of shape \(0, 3\)"):
        fnp.at(x)[0].set(1.0, mode='clip')


def test_traced_scalar_index_uses_dynamic_slice():
    x = x_value()
    f = lambda x, i: x[i, 1:, i]
    jaxpr = fxad.make_jaxpr(f)(x, 2)
    assert 'dynamic_slice' in str(jaxpr) and 'gather' not in str(jaxpr)
    np.testing.assert_array_equal(fxad.jit(f)(x, -2), x[-2, 1:, -2])


def test_eager_getitem_through_grad_and_jvp():
    x = x_value()
    idx = (I([0, 2]), slice(1, None, 2), -1)
    check_grads(lambda x: fnp.sin(x)[idx] ** 2, (x,), order=2)
    _, t = fxad.jvp(lambda x: x[idx], (x,), (np.ones(SHAPE),))
    np.testing.assert_array_equal(t, np.ones(SHAPE)[idx])


# ---------------------------------------------------------------------------------------------
# Boolean masks must be concrete


def test_concrete_boolean_mask_under_grad():
    x = x_value()
    f = lambda x: fnp.sum(x[x > 0] ** 2)
    np.testing.assert_allclose(fxad.grad(f)(x), np.where(x > 0, 2 * x, 0.0), rtol=1e-14)
    np.testing.assert_allclose(fxad.grad(lambda x: fnp.sum(x.at[x < 0].set(0.0)))(x), (x >= 0) * 1.0)


@pytest.mark.parametrize('transform', [fxad.jit, fxad.make_jaxpr, fxad.vmap])
def test_abstract_boolean_mask_raises(transform):
    with pytest.raises(NonConcreteBooleanIndexError, match=r"boolean indices must be concrete.*bool\[.*fnp.where"):
        transform(lambda x: x[x > 0])(x_value())
    assert issubclass(NonConcreteBooleanIndexError, TypeError)


# ---------------------------------------------------------------------------------------------
# vmap: the index, the array or both batched

VMAP_CASES = [
    ('array_index', lambda x, i: fnp.at(x)[i].get()),
    ('array_with_slices', lambda x, i: fnp.at(x)[1:, i, ::-2].get()),
    ('scalar_index', lambda x, i: fnp.at(x)[i[0], :, i[1]].get()),
    ('set', lambda x, i: fnp.at(x)[i].set(7.0)),
    ('add_strided', lambda x, i: fnp.at(x)[::2, i].add(1.0)),
    ('take_along_axis', lambda x, i: fnp.take_along_axis(x, i[None, :, None], axis=1)),
]


@pytest.mark.parametrize('name, f', VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
@pytest.mark.parametrize('in_axes', [(0, None), (None, 0), (0, 0), (2, 1)])
def test_vmap_indexing(name, f, in_axes):
    r = np.random.default_rng(4)
    n = 3
    x = x_value()
    xs = x if in_axes[0] is None else np.stack([x * (k + 1) for k in range(n)], in_axes[0])
    i = r.integers(-4, 4, (2,))
    idxs = i if in_axes[1] is None else np.stack([r.integers(-4, 4, (2,)) for _ in range(n)], in_axes[1] % 2)
    check_vmap_vs_loop(f, (xs, idxs), (in_axes[0], None if in_axes[1] is None else in_axes[1] % 2))


def test_vmapped_indexing_jaxpr_does_not_grow_with_the_batch():
    f = lambda x, i: x.at[i].add(x[i] * 2.0)

    def n_eqns(batch):
        return len(fxad.make_jaxpr(fxad.vmap(f))(np.ones((batch, 5)), np.zeros((batch, 3), np.int64)).eqns)
    assert n_eqns(2) == n_eqns(50)


# ---------------------------------------------------------------------------------------------
# take and take_along_axis

@pytest.mark.parametrize('axis', [None, 0, 1, -1])
@pytest.mark.parametrize('mode', [None, 'wrap', 'clip'])
def test_take(axis, mode):
    x = x_value()
    n = x.size if axis is None else x.shape[axis]
    idx = I([[0, n - 1], [1, -2]]) if mode is None else I([[0, n + 2], [-1, -n - 3]])
    expected = np.take(x, idx, axis=axis, mode=mode or 'raise')
    np.testing.assert_array_equal(fnp.take(x, idx, axis=axis, mode=mode), expected)
    np.testing.assert_array_equal(fxad.jit(lambda x, i: fnp.take(x, i, axis=axis, mode=mode))(x, idx), expected)
    check_grads(lambda x: fnp.take(x, idx, axis=axis, mode=mode), (x,), order=1)


def test_take_fill_and_raise():
    x = np.arange(4.0)
    np.testing.assert_array_equal(fnp.take(x, I([1, 4, -5]), mode='fill', fill_value=9.0), [1.0, 9.0, 9.0])
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 0 with size 4"):
        fnp.take(x, I([1, 4]))


@pytest.mark.parametrize('arr_shape, idx_shape, axis', [
    ((4, 5), (4, 3), 1), ((4, 5), (2, 5), 0), ((4, 5, 6), (4, 2, 6), 1), ((4, 1, 6), (4, 3, 2), 2),
    ((1, 5), (3, 2), -1), ((7,), (3,), None), ((3, 4), (3, 4), -1)])
def test_take_along_axis(arr_shape, idx_shape, axis):
    r = np.random.default_rng(5)
    x = r.standard_normal(arr_shape)
    n = x.size if axis is None else arr_shape[axis]
    idx = r.integers(-n, n, idx_shape)
    expected = np.take_along_axis(x, idx, axis=axis)
    np.testing.assert_array_equal(fnp.take_along_axis(x, idx, axis=axis), expected)
    np.testing.assert_array_equal(fxad.jit(lambda x, i: fnp.take_along_axis(x, i, axis=axis))(x, idx), expected)
    check_grads(lambda x: fnp.take_along_axis(x, idx, axis=axis), (x,), order=1)


# ---------------------------------------------------------------------------------------------
# Errors

ERRORS = [
    (lambda x: x[4], IndexError, "index 4 is out of bounds for axis 0 with size 4"),
    (lambda x: x.at[4].add(1.0), IndexError, "index 4 is out of bounds for axis 0 with size 4"),
    (lambda x: x.at[0, -6].get(), IndexError, "index -6 is out of bounds for axis 1 with size 5"),
    (lambda x: x[:, I([0, 5])], IndexError, "index 5 is out of bounds for axis 1 with size 5"),
    (lambda x: x[1, 2, 3, 4], IndexError, "too many indices for array: array is 3-dimensional, but 4 were indexed"),
    (lambda x: x[..., 1, ...], IndexError, "single ellipsis"),
    (lambda x: x[1.5], IndexError, "only integers, slices"),
    (lambda x: x[I([0.5])], IndexError, "integer \\(or boolean\\) type"),
    (lambda x: x[I([0, 1]), I([0, 1, 2])], IndexError, r"could not be broadcast together with shapes \(2,\) \(3,\)"),
    (lambda x: x[_MASK[:, :2]], IndexError, r"boolean index of shape \(4, 2, 6\) does not match.*\(4, 5, 6\)"),
    (lambda x: x[::0], ValueError, "slice step cannot be zero"),
    (lambda x: x.at[0].set(np.ones(3)), ValueError, r"value array of shape \(3,\).*result of shape \(5, 6\)"),
]


@pytest.mark.parametrize('fn, err, match', ERRORS)
def test_errors(fn, err, match):
    with pytest.raises(err, match=match):
        fxad.jit(fn)(x_value())


def test_traced_slice_bounds_raise():
    with pytest.raises(IndexError, match="slice bounds must be static"):
        fxad.jit(lambda x, i: x[i:])(x_value(), 1)
