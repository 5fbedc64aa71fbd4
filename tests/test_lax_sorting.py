"""sort (lax/sorting.py), one table row per way of calling it: values vs NumPy's stable sorts, jvp
and grad vs central differences (ties in integer keys included), vmap vs a Python loop, and
shape-rule errors that name the shapes."""
import numpy as np
import pytest

import fxad
from fxad import lax

from helpers import check_error_names, check_jvp_fd, check_vmap_vs_loop, rand, vmap_eqn_counts


def _distinct(rng, shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.05, n) - 0.05 * n).reshape(shape)


def _tied_ints(rng, shape):
    return rng.integers(0, 3, shape)


def _stable_order(keys, axis):
    """The stable sorting permutation of NumPy's lexsort (primary key first in `keys`)."""
    return np.lexsort(keys[::-1], axis=axis)


def _take(xs, perm, axis):
    return tuple(np.take_along_axis(x, perm, axis) for x in xs)


class Row:
    """fun(*operands) calling sort, a NumPy reference, and a draw per operand."""

    def __init__(self, name, fun, ref, draws, shape=(3, 5)):
        self.name = name
        self.fun = fun
        self.ref = ref
        self.draws = draws
        self.shape = shape

    def args(self, rng, shape=None):
        return tuple(d(rng, self.shape if shape is None else shape) for d in self.draws)

    def __repr__(self):
        return self.name


ROWS = [
    Row('sort', lambda x: lax.sort(x), lambda x: np.sort(x, -1), [_distinct]),
    Row('sort:dimension0', lambda x: lax.sort(x, 0), lambda x: np.sort(x, 0), [_distinct], (4, 3, 2)),
    Row('sort:tuple', lambda x, y: lax.sort((x, y), 1),
        lambda x, y: _take((x, y), _stable_order((x,), 1), 1), [_distinct, _distinct]),
    Row('sort_key_val:tied_int_keys', lambda k, v: lax.sort_key_val(k, v, 0),
        lambda k, v: _take((k, v), _stable_order((k,), 0), 0), [_tied_ints, _distinct], (8, 3)),
    Row('sort:two_keys', lambda a, b, v: lax.sort((a, b, v), -1, num_keys=2),
        lambda a, b, v: _take((a, b, v), _stable_order((a, b), -1), -1), [_tied_ints, _tied_ints, _distinct],
        (2, 9)),
    Row('sort:float_key_int_values', lambda k, i: lax.sort((k, i), 1),
        lambda k, i: _take((k, i), _stable_order((k,), 1), 1), [_distinct, _tied_ints]),
]


def _ids(rows):
    return [r.name for r in rows]


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_impl_matches_numpy(row):
    args = row.args(np.random.default_rng(0))
    out, expected = row.fun(*args), row.ref(*args)
    out_t = out if isinstance(out, tuple) else (out,)
    exp_t = expected if isinstance(expected, tuple) else (expected,)
    assert isinstance(out, tuple) == isinstance(expected, tuple)
    for o, e in zip(out_t, exp_t):
        assert o.dtype == e.dtype
        np.testing.assert_array_equal(o, e)
    traced = fxad.jit(row.fun)(*args)
    for o, e in zip(traced if isinstance(traced, tuple) else (traced,), exp_t):
        np.testing.assert_array_equal(o, e)


def test_sort_is_stable_and_lexicographic():
    k1 = np.array([1, 0, 1, 0, 1])
    k2 = np.array([2, 2, 1, 2, 2])
    v = np.arange(5.0)
    a, b, w = lax.sort((k1, k2, v), num_keys=2)
    np.testing.assert_array_equal(w, [1.0, 3.0, 2.0, 0.0, 4.0])
    k, w = lax.sort_key_val(k1, v)
    np.testing.assert_array_equal(w, [1.0, 3.0, 0.0, 2.0, 4.0])
    np.testing.assert_array_equal(lax.sort(np.array([3.0, np.nan, -np.inf, 1.0])), [-np.inf, 1.0, 3.0, np.nan])


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_jvp(row):
    check_jvp_fd(row.fun, row.args(np.random.default_rng(1)), atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_grad(row):
    # Reverse mode: <grad of <w, sort>, t> against the central difference along t.
    rng = np.random.default_rng(2)
    args = row.args(rng)
    outs = row.fun(*args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    floats = [i for i, a in enumerate(args) if a.dtype.kind == 'f']
    ws = [rand(rng, o.shape) if o.dtype.kind == 'f' else None for o in outs]

    def pairing(*args):
        outs = row.fun(*args)
        outs = outs if isinstance(outs, tuple) else (outs,)
        total = 0.0
        for o, w in zip(outs, ws):
            if w is not None:
                total = lax.add(total, lax.reduce_sum(lax.mul(o, w), tuple(range(w.ndim))))
        return total
    grads = fxad.grad(pairing, argnums=tuple(floats))(*args)
    ts = {i: rand(rng, args[i].shape) for i in floats}
    eps = 1e-6

    def shifted(sign):
        return tuple(a + sign * eps * ts[i] if i in ts else a for i, a in enumerate(args))
    fd = (pairing(*shifted(1)) - pairing(*shifted(-1))) / (2 * eps)
    np.testing.assert_allclose(sum(np.sum(g * ts[i]) for g, i in zip(grads, floats)), fd, rtol=1e-7)


@pytest.mark.parametrize('spec', [0, 1, -1])
@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_matches_loop(row, spec):
    rng = np.random.default_rng(3)
    args = tuple(np.moveaxis(a, 0, spec) for a in row.args(rng, (4,) + row.shape))
    check_vmap_vs_loop(row.fun, args, spec)


MULTI = [r for r in ROWS if len(r.draws) > 1]


@pytest.mark.parametrize('row', MULTI, ids=_ids(MULTI))
def test_vmap_with_unbatched_operands(row):
    rng = np.random.default_rng(4)
    n = len(row.draws)
    batched = row.args(rng, (3,) + row.shape)
    plain = row.args(rng)
    for i in range(n):
        for axes in (tuple(0 if j == i else None for j in range(n)), tuple(None if j == i else -1 for j in range(n))):
            args = tuple(plain[j] if ax is None else np.moveaxis(batched[j], 0, ax) for j, ax in enumerate(axes))
            check_vmap_vs_loop(row.fun, args, axes)


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_of_jvp_matches_loop(row):
    rng = np.random.default_rng(5)
    args = row.args(rng, (3,) + row.shape)
    tangents = tuple(rand(rng, a.shape) if a.dtype.kind == 'f' else np.zeros(a.shape, fxad.dtypes.float0)
                     for a in args)

    def float_tangents(a, t):
        out = fxad.jvp(row.fun, a, t)[1]
        return tuple(x for x in (out if isinstance(out, tuple) else (out,)) if x.dtype.kind == 'f')
    check_vmap_vs_loop(float_tangents, (args, tangents), (0, 0))


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_equations_do_not_grow_with_the_batch(row):
    rng = np.random.default_rng(6)
    args = row.args(rng)
    small, large = vmap_eqn_counts(row.fun, args)
    assert small == large
    tangents = tuple(rand(rng, a.shape) if a.dtype.kind == 'f' else np.zeros(a.shape, fxad.dtypes.float0)
                     for a in args)
    small, large = vmap_eqn_counts(lambda a, t: fxad.jvp(row.fun, a, t)[1], (args, tangents))
    assert small == large


def test_jaxpr_of_the_jvp_sorts_an_iota_alongside():
    jaxpr = fxad.make_jaxpr(lambda x, t: fxad.jvp(lax.sort, (x,), (t,)))(np.ones(3), np.ones(3))
    sorts = [e for e in jaxpr.eqns if e.primitive.name == 'sort']
    assert len(sorts) == 1 and len(sorts[0].invars) == 2
    assert sorts[0].invars[1].aval.dtype.kind == 'i'


ERRORS = [
    ('shapes', lambda: lax.sort((np.ones(3), np.ones(4))), ValueError, [r'\(3,\)', r'\(4,\)']),
    ('dimension', lambda: lax.sort(np.ones((2, 3)), 2), ValueError, [r'\(2, 3\)']),
    ('num_keys', lambda: lax.sort((np.ones(3), np.ones(3)), num_keys=3), ValueError, ['num_keys=3']),
    ('rank0', lambda: lax.sort(np.float64(1.0)), ValueError, [r'\(\)']),
]


@pytest.mark.parametrize('name, thunk, exc, patterns', ERRORS, ids=[e[0] for e in ERRORS])
def test_shape_rule_errors_name_the_shapes(name, thunk, exc, patterns):
    check_error_names(thunk, exc, patterns)
