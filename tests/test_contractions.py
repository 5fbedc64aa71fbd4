"""dot_general's rules over arbitrary dimension numbers, and the matmul family (dot, matmul, @,
tensordot, inner, outer, vdot, trace, diagonal) against NumPy, finite differences, the
dot-product test and a Python loop over the batch."""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import lax
from helpers import check_jvp_fd, check_transpose, check_vjp_fd, check_vmap_vs_loop

# ---------------------------------------------------------------------------------------------
# dot_general: one row per (lhs shape, rhs shape, dimension_numbers)

DOT_GENERAL_CASES = [
    ((3, 4), (4, 5), (([1], [0]), ([], []))),              # matrix product
    ((4, 3), (4, 5), (([0], [0]), ([], []))),              # A^T B
    ((3, 4), (5, 4), (([1], [1]), ([], []))),              # A B^T
    ((4,), (4,), (([0], [0]), ([], []))),                  # inner product
    ((3,), (5,), (([], []), ([], []))),                    # outer product
    ((), (2, 3), (([], []), ([], []))),                    # scalar times array
    ((2, 3, 4), (4, 3), (([2, 1], [0, 1]), ([], []))),     # two contracting dims, crossed
    ((2, 3, 4), (2, 4, 5), (([2], [1]), ([0], [0]))),      # batched matmul
    ((3, 2, 4), (4, 5, 2), (([2], [0]), ([1], [2]))),      # batch dims in the middle/end
    ((2, 3, 4, 5), (5, 3, 2, 6), (([3], [0]), ([1, 0], [1, 2]))),  # two batch dims, permuted
    ((2, 3), (3, 2), (([], []), ([0, 1], [1, 0]))),        # batch only: elementwise product
    ((3, 4, 2), (2, 3), (([2, 0], [0, 1]), ([], []))),     # contract everything of rhs
    ((2, 5, 3), (3, 2, 5), (([1, 2], [2, 0]), ([0], [1]))),  # batch + two contracting dims
]


def _einsum_spec(lhs_ndim, rhs_ndim, dimension_numbers):
    """An independent reference: the numpy.einsum string equivalent to the dimension numbers."""
    (lc, rc), (lb, rb) = dimension_numbers
    letters = iter('abcdefghijklmnopqrstuvwxyz')
    lhs = [None] * lhs_ndim
    rhs = [None] * rhs_ndim
    for i, j in list(zip(lc, rc)) + list(zip(lb, rb)):
        lhs[i] = rhs[j] = next(letters)
    lhs = [c or next(letters) for c in lhs]
    rhs = [c or next(letters) for c in rhs]
    out = ([lhs[i] for i in lb] + [c for i, c in enumerate(lhs) if i not in lc and i not in lb]
           + [c for i, c in enumerate(rhs) if i not in rc and i not in rb])
    return f"{''.join(lhs)},{''.join(rhs)}->{''.join(out)}"


def _operands(lhs_shape, rhs_shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(lhs_shape), rng.standard_normal(rhs_shape)


@pytest.mark.parametrize('lhs_shape, rhs_shape, dn', DOT_GENERAL_CASES)
def test_dot_general_value(lhs_shape, rhs_shape, dn):
    x, y = _operands(lhs_shape, rhs_shape)
    expected = np.einsum(_einsum_spec(len(lhs_shape), len(rhs_shape), dn), x, y)
    np.testing.assert_allclose(lax.dot_general(x, y, dn), expected, rtol=1e-12, atol=1e-12)
    out_aval = fxad.make_jaxpr(lambda a, b: lax.dot_general(a, b, dn))(x, y).out_avals[0]
    assert out_aval.shape == np.shape(expected)


@pytest.mark.parametrize('lhs_shape, rhs_shape, dn', DOT_GENERAL_CASES)
def test_dot_general_jvp(lhs_shape, rhs_shape, dn):
    x, y = _operands(lhs_shape, rhs_shape)
    check_jvp_fd(lambda a, b: lax.dot_general(a, b, dn), (x, y), atol=1e-7, rtol=1e-7)


@pytest.mark.parametrize('lhs_shape, rhs_shape, dn', DOT_GENERAL_CASES)
def test_dot_general_transpose(lhs_shape, rhs_shape, dn):
    x, y = _operands(lhs_shape, rhs_shape)
    ct = np.random.default_rng(1).standard_normal(np.shape(lax.dot_general(x, y, dn)))
    check_transpose(lambda a: lax.dot_general(a, y, dn), x, ct)
    check_transpose(lambda b: lax.dot_general(x, b, dn), y, ct)


@pytest.mark.parametrize('lhs_shape, rhs_shape, dn', DOT_GENERAL_CASES)
@pytest.mark.parametrize('which', ['lhs', 'rhs', 'both'])
def test_dot_general_batching(lhs_shape, rhs_shape, dn, which):
    # The vmapped axis sits last on lhs and first on rhs, so it shifts every dimension number.
    rng = np.random.default_rng(2)
    n = 3
    x = rng.standard_normal(lhs_shape + (n,)) if which != 'rhs' else rng.standard_normal(lhs_shape)
    y = rng.standard_normal((n,) + rhs_shape) if which != 'lhs' else rng.standard_normal(rhs_shape)
    in_axes = (len(lhs_shape) if which != 'rhs' else None, 0 if which != 'lhs' else None)
    check_vmap_vs_loop(lambda a, b: lax.dot_general(a, b, dn), (x, y), in_axes, rtol=1e-12, atol=1e-12)


def test_dot_general_prints_dimension_numbers():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    text = str(fxad.make_jaxpr(lambda a, b: lax.dot_general(a, b, (([1], [0]), ([], []))))(a, b))
    assert 'dot_general[dimension_numbers=(([1], [0]), ([], []))] a b' in text


def test_dot_general_zero_size():
    out = lax.dot_general(np.ones((2, 0)), np.ones((0, 3)), (([1], [0]), ([], [])))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))


@pytest.mark.parametrize('lhs_shape, rhs_shape, dn, message', [
    ((2, 3), (4, 5), (([1], [0]), ([], [])), 'differ in size'),
    ((2, 3), (3, 5), (([2], [0]), ([], [])), 'out of range'),
    ((2, 3), (3, 5), (([1], [0, 1]), ([], [])), 'as many'),
])
def test_dot_general_errors(lhs_shape, rhs_shape, dn, message):
    with pytest.raises(ValueError, match=message):
        lax.dot_general(np.ones(lhs_shape), np.ones(rhs_shape), dn)


# ---------------------------------------------------------------------------------------------
# The matmul family: one row per (function, operand shapes, keyword arguments)

FAMILY_CASES = [
    ('dot', [(3, 4), (4, 5)], {}),
    ('dot', [(4,), (4,)], {}),
    ('dot', [(2, 3, 4), (4,)], {}),
    ('dot', [(4,), (4, 5)], {}),
    ('dot', [(2, 3, 4), (5, 4, 6)], {}),
    ('dot', [(), (3, 4)], {}),
    ('dot', [(3, 4), ()], {}),
    ('matmul', [(3, 4), (4, 5)], {}),
    ('matmul', [(4,), (4,)], {}),
    ('matmul', [(4,), (2, 4, 5)], {}),
    ('matmul', [(2, 3, 4), (4,)], {}),
    ('matmul', [(2, 3, 4), (2, 4, 5)], {}),
    ('matmul', [(2, 3, 4), (4, 5)], {}),
    ('matmul', [(3, 4), (2, 4, 5)], {}),
    ('matmul', [(2, 1, 3, 4), (5, 4, 2)], {}),
    ('matmul', [(1, 3, 4), (1, 4, 2)], {}),
    ('tensordot', [(2, 3, 4), (3, 4, 5)], {}),
    ('tensordot', [(2, 3, 4), (4, 5)], {'axes': 1}),
    ('tensordot', [(2, 3), (4, 5)], {'axes': 0}),
    ('tensordot', [(2, 3, 4), (4, 2, 5)], {'axes': ([0, 2], [1, 0])}),
    ('tensordot', [(2, 3, 4), (5, 3)], {'axes': (1, -1)}),
    ('inner', [(4,), (4,)], {}),
    ('inner', [(2, 3, 4), (5, 4)], {}),
    ('inner', [(), (2, 3)], {}),
    ('outer', [(3,), (4,)], {}),
    ('outer', [(2, 3), (4,)], {}),
    ('vdot', [(2, 3), (3, 2)], {}),
    ('trace', [(4, 4)], {}),
    ('trace', [(3, 5)], {'offset': 1}),
    ('trace', [(3, 5)], {'offset': -2}),
    ('trace', [(2, 3, 4)], {'axis1': 2, 'axis2': 0}),
    ('trace', [(3, 4, 3)], {'offset': 1, 'axis1': -1, 'axis2': 0}),
    ('diagonal', [(4, 4)], {}),
    ('diagonal', [(3, 5)], {'offset': 1}),
    ('diagonal', [(3, 5)], {'offset': 3}),
    ('diagonal', [(5, 3)], {'offset': -1}),
    ('diagonal', [(5, 3)], {'offset': -4}),
    ('diagonal', [(4, 3)], {'offset': 1}),
    ('diagonal', [(2, 3, 4)], {'axis1': 2, 'axis2': 1}),
    ('diagonal', [(3, 2, 5)], {'offset': -1, 'axis1': 2, 'axis2': 0}),
    ('diagonal', [(3, 3)], {'offset': 5}),
]
FAMILY_IDS = [f"{name}:{'x'.join(map(str, shapes))}:{kw}" for name, shapes, kw in FAMILY_CASES]


def _family_operands(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _family_fn(name, kwargs):
    return lambda *xs: getattr(fnp, name)(*xs, **kwargs)


@pytest.mark.parametrize('name, shapes, kwargs', FAMILY_CASES, ids=FAMILY_IDS)
def test_family_value(name, shapes, kwargs):
    ops = _family_operands(shapes)
    expected = getattr(np, name)(*ops, **kwargs)
    for actual in (_family_fn(name, kwargs)(*ops), fxad.jit(_family_fn(name, kwargs))(*ops)):
        assert np.shape(actual) == np.shape(expected)
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('name, shapes, kwargs', FAMILY_CASES, ids=FAMILY_IDS)
def test_family_derivatives(name, shapes, kwargs):
    ops = _family_operands(shapes, seed=1)
    check_jvp_fd(_family_fn(name, kwargs), ops, atol=1e-7, rtol=1e-7)
    check_vjp_fd(_family_fn(name, kwargs), ops)


@pytest.mark.parametrize('name, shapes, kwargs', FAMILY_CASES, ids=FAMILY_IDS)
def test_family_vmap(name, shapes, kwargs):
    n = 3
    rng = np.random.default_rng(2)
    ops = [rng.standard_normal((n,) + tuple(s)) for s in shapes]
    check_vmap_vs_loop(_family_fn(name, kwargs), ops, 0, rtol=1e-12, atol=1e-12)
    if len(ops) == 2:  # one operand batched, the other shared
        check_vmap_vs_loop(_family_fn(name, kwargs), [ops[0][0], ops[1]], (None, 0), rtol=1e-12, atol=1e-12)


def test_matmul_operator_on_tracers():
    a, b = _family_operands([(2, 3, 4), (4, 5)])
    np.testing.assert_allclose(fxad.jit(lambda a, b: a @ b)(a, b), a @ b, rtol=1e-12)
    np.testing.assert_allclose(fxad.jit(lambda b: a @ b)(b), a @ b, rtol=1e-12)  # __rmatmul__
    ga = fxad.grad(lambda a: lax.reduce_sum(a @ b, (0, 1, 2)))(a)
    np.testing.assert_allclose(ga, np.broadcast_to(b.sum(1), a.shape), rtol=1e-12)


@pytest.mark.parametrize('fn, shapes', [
    (fnp.dot, [(3, 4), (4, 5)]),
    (fnp.dot, [(2, 3, 4), (4,)]),
    (fnp.matmul, [(3, 4), (4, 5)]),
    (fnp.matmul, [(2, 3, 4), (2, 4, 5)]),
    (fnp.matmul, [(2, 3, 4), (4, 5)]),
    (lambda a, b: a @ b, [(3, 4), (4,)]),
    (fnp.tensordot, [(2, 3, 4), (3, 4, 5)]),
    (fnp.inner, [(3, 4), (5, 4)]),
])
def test_products_are_one_dot_general(fn, shapes):
    jaxpr = fxad.make_jaxpr(fn)(*_family_operands(shapes))
    assert [e.primitive.name for e in jaxpr.eqns] == ['dot_general']
    assert [str(v) for v in jaxpr.eqns[0].invars] == [str(v) for v in jaxpr.jaxpr.invars]


@pytest.mark.parametrize('name', ['dot', 'matmul', 'inner', 'vdot', 'tensordot'])
@pytest.mark.parametrize('dtype_a, dtype_b', [(np.int32, np.float32), (np.float32, np.float64), (np.int64, np.int64)])
def test_family_promotes_dtypes(name, dtype_a, dtype_b):
    a = np.arange(6).reshape(2, 3).astype(dtype_a)
    b = np.arange(6).reshape(3, 2).astype(dtype_b)
    b = b.T if name in ('inner',) else b
    kwargs = {'axes': 1} if name == 'tensordot' else {}
    expected = getattr(np, name)(a, b, **kwargs)
    actual = getattr(fnp, name)(a, b, **kwargs)
    assert np.asarray(actual).dtype == expected.dtype
    np.testing.assert_allclose(actual, expected)


@pytest.mark.parametrize('call, message', [
    (lambda: fnp.dot(np.ones((3, 4)), np.ones((5,))), r'shapes \(3, 4\) and \(5,\) not aligned'),
    (lambda: fnp.matmul(np.ones((3, 4)), 2.0), 'does not have enough dimensions'),
    (lambda: fnp.matmul(np.ones((3, 4)), np.ones((5, 6))), 'core dimension'),
    (lambda: fnp.matmul(np.ones((2, 3, 4)), np.ones((3, 4, 5))), 'could not be broadcast'),
    (lambda: fnp.tensordot(np.ones((3, 4)), np.ones((5, 6)), 1), 'shape-mismatch for sum'),
    (lambda: fnp.tensordot(np.ones((3, 4)), np.ones((4, 6)), ([1, 0], [0])), 'shape-mismatch for sum'),
    (lambda: fnp.inner(np.ones((3, 4)), np.ones((3,))), 'not aligned'),
    (lambda: fnp.vdot(np.ones((3, 4)), np.ones((3,))), 'same number of elements'),
    (lambda: fnp.diagonal(np.ones(3)), 'at least two dimensions'),
    (lambda: fnp.trace(np.ones((3, 3)), axis1=1, axis2=-1), 'cannot be the same'),
])
def test_family_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_trace_accumulates_small_integers_like_numpy():
    a = np.arange(9, dtype=np.int32).reshape(3, 3)
    for kwargs in ({}, {'dtype': np.float32}, {'offset': 1}):
        out, expected = fnp.trace(a, **kwargs), np.trace(a, **kwargs)
        assert out.dtype == expected.dtype, kwargs
        np.testing.assert_array_equal(out, expected)
