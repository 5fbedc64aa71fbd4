"""Elementwise primitives, one table row each: impl vs NumPy, jvp vs central differences (or
zero tangents), vmap vs a Python loop, and the dot-product test for the linear ones."""
import numpy as np
import pytest

import fxad
from fxad import dtypes, lax
from fxad.interpreters import ad
from fxad.lax import elementwise as ew
from fxad.test_util import check_grads

from helpers import (check_jvp_fd, check_transpose, check_vmap_vs_loop, numerical_jvp, rand,
                     random_tangents)


class Row:
    """One primitive: its lax wrapper, a NumPy reference, a domain per operand, and which
    operands it is differentiable in (empty: zero tangents). `shapes` names the shape rule:
    'nary' (equal shapes or rank-0), 'select' (select_n) or 'clamp'."""

    def __init__(self, prim, fun, ref, domains, diff=None, shapes='nary', fd_eps=1e-6, fd_tol=1e-6):
        self.prim = prim
        self.name = prim.name
        self.fun = fun
        self.ref = ref
        self.domains = domains
        self.diff = tuple(range(len(domains))) if diff is None else diff
        self.shapes = shapes
        self.fd_eps = fd_eps
        self.fd_tol = fd_tol

    def __repr__(self):
        return self.name


def _u(prim, ref, domain='real', **kw):
    return Row(prim, prim.bind, ref, (domain,), **kw)


def _b(prim, ref, d1='real', d2='real', **kw):
    return Row(prim, prim.bind, ref, (d1, d2), **kw)


def _np_logistic(x):
    return 1 / (1 + np.exp(-x))


ROWS = [
    _u(ew.neg_p, np.negative),
    _u(ew.sign_p, np.sign, 'nonzero', diff=()),
    _u(ew.floor_p, np.floor, 'away_from_int', diff=()),
    _u(ew.ceil_p, np.ceil, 'away_from_int', diff=()),
    _u(ew.round_p, np.round, 'away_from_half', diff=()),
    _u(ew.is_finite_p, np.isfinite, 'with_nonfinite', diff=()),
    _u(ew.exp_p, np.exp),
    _u(ew.exp2_p, np.exp2),
    _u(ew.log_p, np.log, 'positive'),
    _u(ew.log1p_p, np.log1p, 'gt_m1'),
    _u(ew.expm1_p, np.expm1),
    _u(ew.tanh_p, np.tanh),
    _u(ew.logistic_p, _np_logistic),
    _u(ew.sin_p, np.sin),
    _u(ew.cos_p, np.cos),
    _u(ew.tan_p, np.tan, 'tan'),
    _u(ew.asin_p, np.arcsin, 'unit'),
    _u(ew.acos_p, np.arccos, 'unit'),
    _u(ew.atan_p, np.arctan),
    _u(ew.sinh_p, np.sinh),
    _u(ew.cosh_p, np.cosh),
    _u(ew.asinh_p, np.arcsinh),
    _u(ew.acosh_p, np.arccosh, 'gt1'),
    _u(ew.atanh_p, np.arctanh, 'unit'),
    _u(ew.sqrt_p, np.sqrt, 'positive'),
    _u(ew.rsqrt_p, lambda x: 1 / np.sqrt(x), 'positive'),
    _u(ew.cbrt_p, np.cbrt, 'nonzero'),
    _u(ew.abs_p, np.abs, 'nonzero'),
    _u(ew.square_p, np.square),
    _u(ew.not_p, np.invert, 'int', diff=()),
    Row(ew.integer_pow_p, lambda x: lax.integer_pow(x, 3), lambda x: x ** 3, ('real',)),
    _b(ew.add_p, np.add),
    _b(ew.sub_p, np.subtract),
    _b(ew.mul_p, np.multiply),
    _b(ew.div_p, np.true_divide, 'real', 'nonzero'),
    _b(ew.rem_p, np.fmod, 'real', 'nonzero'),
    _b(ew.pow_p, np.power, 'positive', 'real'),
    _b(ew.max_p, np.maximum),
    _b(ew.min_p, np.minimum),
    _b(ew.atan2_p, np.arctan2, 'nonzero', 'nonzero'),
    _b(ew.and_p, np.bitwise_and, 'int', 'int', diff=()),
    _b(ew.or_p, np.bitwise_or, 'int', 'int', diff=()),
    _b(ew.xor_p, np.bitwise_xor, 'int', 'int', diff=()),
    _b(ew.eq_p, np.equal, 'small_int_float', 'small_int_float', diff=()),
    _b(ew.ne_p, np.not_equal, 'small_int_float', 'small_int_float', diff=()),
    _b(ew.lt_p, np.less, 'small_int_float', 'small_int_float', diff=()),
    _b(ew.le_p, np.less_equal, 'small_int_float', 'small_int_float', diff=()),
    _b(ew.gt_p, np.greater, 'small_int_float', 'small_int_float', diff=()),
    _b(ew.ge_p, np.greater_equal, 'small_int_float', 'small_int_float', diff=()),
    Row(ew.select_n_p, lax.select_n, lambda p, a, b: np.where(p, b, a), ('bool', 'real', 'real'),
        diff=(1, 2), shapes='select'),
    Row(ew.clamp_p, lax.clamp, lambda lo, x, hi: np.clip(x, lo, hi), ('clamp_lo', 'clamp_x', 'clamp_hi'),
        shapes='clamp'),
    # f64 -> f32 is linear: wide differences are exact up to float32 rounding of the output.
    Row(ew.convert_element_type_p, lambda x: lax.convert_element_type(x, np.float32),
        lambda x: x.astype(np.float32), ('real',), fd_eps=1e-2, fd_tol=1e-4),
    _u(ew.stop_gradient_p, lambda x: x, diff=()),
]

ELEMENTWISE_PRIMITIVES = {p.name for p in vars(ew).values() if isinstance(p, fxad.core.Primitive)}


def test_table_has_one_row_per_primitive():
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names))
    assert set(names) == ELEMENTWISE_PRIMITIVES


def _valid(row, shapes):
    if row.shapes == 'nary':
        arrays = {s for s in shapes if s}
        return len(arrays) <= 1
    if row.shapes == 'select':
        which, *cases = shapes
        return len(set(cases)) == 1 and which in ((), cases[0])
    lo, x, hi = shapes
    return lo in ((), x) and hi in ((), x)


def _args(row, rng, shapes):
    return tuple(rand(rng, s, d) for s, d in zip(shapes, row.domains))


def _shape_configs(row, shape=(3, 4)):
    n = len(row.domains)
    configs = [(shape,) * n]
    if n > 1:
        configs += [(shape,) + ((),) * (n - 1), ((),) + (shape,) * (n - 1), ((),) * n]
        configs += [tuple(() if j == i else shape for j in range(n)) for i in range(n)]
    out = []
    for c in configs:
        if _valid(row, c) and c not in out:
            out.append(c)
    return out


def _ids(rows):
    return [r.name for r in rows]


# ---------------------------------------------------------------------------------------------
# impl vs NumPy


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_impl_matches_numpy(row):
    rng = np.random.default_rng(0)
    for shapes in _shape_configs(row):
        args = _args(row, rng, shapes)
        out = row.fun(*args)
        expected = row.ref(*args)
        assert isinstance(out, (np.ndarray, np.generic)), type(out)
        assert np.shape(out) == np.shape(expected), shapes
        assert np.asarray(out).dtype == np.asarray(expected).dtype, shapes
        np.testing.assert_allclose(out, expected, rtol=1e-14, atol=0, equal_nan=True)


def test_div_of_integers_rounds_toward_zero():
    x = np.array([7, -7, 7, -7])
    y = np.array([2, 2, -2, -2])
    np.testing.assert_array_equal(lax.div(x, y), [3, -3, -3, 3])
    np.testing.assert_array_equal(lax.rem(x, y), np.fmod(x, y))


def test_bitwise_on_booleans_is_logical():
    p = np.array([True, True, False, False])
    q = np.array([True, False, True, False])
    np.testing.assert_array_equal(lax.bitwise_and(p, q), p & q)
    np.testing.assert_array_equal(lax.bitwise_or(p, q), p | q)
    np.testing.assert_array_equal(lax.bitwise_xor(p, q), p ^ q)
    np.testing.assert_array_equal(lax.bitwise_not(p), ~p)


def test_round_is_half_to_even_like_numpy():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49999999999999994])
    np.testing.assert_array_equal(lax.round(x), np.round(x))


def test_logistic_is_stable_for_large_arguments():
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    np.testing.assert_allclose(lax.logistic(x), [0.0, np.exp(-40.0), 0.5, 1.0, 1.0], rtol=1e-12, atol=0)


@pytest.mark.parametrize('bad, message', [
    (lambda: lax.sin(np.arange(3)), 'sin does not accept dtype int64'),
    (lambda: lax.add(np.ones(3), np.ones(3, np.float32)), 'same dtype, got float64, float32'),
    (lambda: lax.bitwise_and(np.ones(3), np.ones(3)), 'and does not accept dtype float64'),
], ids=['sin_int', 'add_mixed', 'and_float'])
def test_dtype_errors(bad, message):
    with pytest.raises(TypeError, match=message):
        bad()


def test_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(3,\) and \(4,\)"):
        lax.add(np.ones(3), np.ones(4))


# ---------------------------------------------------------------------------------------------
# JVP vs central differences; zero tangents for the non-differentiable ones


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_jvp(row):
    rng = np.random.default_rng(1)
    for shapes in _shape_configs(row):
        args = _args(row, rng, shapes)
        if row.diff:
            check_jvp_fd(row.fun, args, eps=row.fd_eps, atol=row.fd_tol, rtol=row.fd_tol)
            continue
        out, t_out = fxad.jvp(row.fun, args, random_tangents(rng, args))
        assert np.shape(t_out) == np.shape(out)
        expected_dtype = np.asarray(out).dtype if dtypes.is_float(np.asarray(out).dtype) else dtypes.float0
        assert np.asarray(t_out).dtype == expected_dtype
        if expected_dtype != dtypes.float0:
            np.testing.assert_array_equal(t_out, 0)


DIFF_NARY = [r for r in ROWS if len(r.domains) > 1 and r.diff]


@pytest.mark.parametrize('row', DIFF_NARY, ids=_ids(DIFF_NARY))
def test_jvp_in_one_operand(row):
    # The other operands are closed over, so their tangents are symbolic zeros; with rank-0
    # operands the output tangent must still have the output's shape.
    rng = np.random.default_rng(2)
    for shapes in _shape_configs(row):
        args = _args(row, rng, shapes)
        for i in row.diff:
            def f(xi):
                return row.fun(*args[:i], xi, *args[i + 1:])
            t_out = check_jvp_fd(f, (args[i],), eps=row.fd_eps, atol=row.fd_tol, rtol=row.fd_tol)
            assert np.shape(t_out) == np.shape(row.fun(*args)), (shapes, i)


@pytest.mark.parametrize('y', [0, 1, 2, 5, -1, -3])
def test_integer_pow_exponents(y):
    rng = np.random.default_rng(3)
    x = rand(rng, (4,), 'positive')
    np.testing.assert_allclose(lax.integer_pow(x, y), x ** float(y), rtol=1e-14)
    check_jvp_fd(lambda x: lax.integer_pow(x, y), (x,))


def test_convert_element_type_from_int_has_zero_tangent():
    out, t = fxad.jvp(lambda x: lax.convert_element_type(x, np.float64), (np.arange(3),),
                      (np.zeros(3, dtypes.float0),))
    np.testing.assert_array_equal(out, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(t, np.zeros(3))
    g = fxad.grad(lambda x: lax.convert_element_type(lax.convert_element_type(x, np.int64), np.float64))(2.7)
    assert g == 0.0


@pytest.mark.parametrize('op', [lax.max, lax.min], ids=['max', 'min'])
def test_ties_split_the_gradient_evenly(op):
    assert fxad.grad(lambda x: op(x, x))(1.5) == 1.0
    gx, gy = fxad.grad(op, argnums=(0, 1))(2.0, 2.0)
    assert (gx, gy) == (0.5, 0.5)
    gx, gy = fxad.grad(lambda x, y: lax.reduce_sum(op(x, y), (0,)), argnums=(0, 1))(
        np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0]))
    winner_x = np.array([1.0, 2.0, 3.0]) > np.array([1.0, 0.0, 5.0]) if op is lax.max else \
        np.array([1.0, 2.0, 3.0]) < np.array([1.0, 0.0, 5.0])
    np.testing.assert_array_equal(gx, np.where([True, False, False], 0.5, winner_x))
    np.testing.assert_array_equal(gy, np.where([True, False, False], 0.5, ~winner_x))


def test_max_with_rank0_operand_tie():
    gx, gs = fxad.grad(lambda x, s: lax.reduce_sum(lax.max(x, s), (0,)), argnums=(0, 1))(
        np.array([1.0, 2.0, 3.0]), 2.0)
    np.testing.assert_array_equal(gx, [0.0, 0.5, 1.0])
    assert gs == 1.5


def test_second_derivatives_of_unary_math():
    # d2/dx2 against the closed forms.
    x = 0.7
    cases = [(lax.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
             (lax.sin, lambda x: -np.sin(x)),
             (lax.log, lambda x: -1 / x ** 2),
             (lax.sqrt, lambda x: -0.25 * x ** -1.5),
             (lax.logistic, lambda x: _np_logistic(x) * (1 - _np_logistic(x)) * (1 - 2 * _np_logistic(x))),
             (lax.asin, lambda x: x * (1 - x * x) ** -1.5),
             (lax.rsqrt, lambda x: 0.75 * x ** -2.5)]
    for f, d2 in cases:
        np.testing.assert_allclose(fxad.grad(fxad.grad(f))(x), d2(x), rtol=1e-12, err_msg=str(f))


DIFF_ROWS = [r for r in ROWS if r.diff and r.fd_eps == 1e-6]


@pytest.mark.parametrize('row', DIFF_ROWS, ids=_ids(DIFF_ROWS))
def test_second_order_derivatives(row):
    rng = np.random.default_rng(8)
    args = _args(row, rng, ((3,),) * len(row.domains))
    diff_args = tuple(args[i] for i in row.diff)

    def f(*xs):
        full = list(args)
        for i, x in zip(row.diff, xs):
            full[i] = x
        return row.fun(*full)
    check_grads(f, diff_args, order=2)


@pytest.mark.parametrize('row', DIFF_ROWS, ids=_ids(DIFF_ROWS))
def test_float32_tangents_stay_float32(row):
    rng = np.random.default_rng(9)
    args = tuple(a.astype(np.float32) if a.dtype == np.float64 else a
                 for a in _args(row, rng, ((3,),) * len(row.domains)))
    tangents = tuple(t if i in row.diff else np.zeros_like(t) for i, t in enumerate(random_tangents(rng, args)))
    out, t_out = fxad.jvp(row.fun, args, tangents)
    assert out.dtype == np.float32 and t_out.dtype == np.float32
    # Values: float64 central differences at the same (float32-representable) point.
    as64 = lambda xs: tuple(np.asarray(x, np.float64) if x.dtype == np.float32 else x for x in xs)  # noqa: E731
    fd = numerical_jvp(row.fun, as64(args), as64(tangents))
    np.testing.assert_allclose(t_out, fd, rtol=1e-4, atol=1e-4)
    ct_in = fxad.vjp(row.fun, *args)[1](np.ones(3, np.float32))
    for i in row.diff:
        assert ct_in[i].dtype == np.float32, i


def test_select_n_with_integer_predicate_and_three_cases():
    rng = np.random.default_rng(10)
    which = rng.integers(0, 3, (4,)).astype(np.int32)
    cases = tuple(rand(rng, (4,)) for _ in range(3))
    np.testing.assert_array_equal(lax.select_n(which, *cases), np.choose(which, cases))
    np.testing.assert_array_equal(lax.select_n(np.int32(2), *cases), cases[2])
    f = lambda a, b, c: lax.select_n(which, a, b, c)
    check_jvp_fd(f, cases)
    check_transpose(lambda abc: f(*abc), cases, rand(rng, (4,)))
    check_vmap_vs_loop(lax.select_n, (np.stack([which, which[::-1]]),) + cases, (0, None, None, None))
    check_vmap_vs_loop(lax.select_n, (np.int32(1), np.stack(cases), cases[1], cases[2]), (None, 0, None, None))
    with pytest.raises(TypeError, match='boolean predicate takes at most two cases'):
        lax.select_n(np.array([True, False, True, True]), *cases)


def test_add_any_vmap_and_jvp():
    rng = np.random.default_rng(11)
    x, y = rand(rng, (5, 3)), rand(rng, (3,))
    add_any = ad.add_any_p.bind
    np.testing.assert_array_equal(add_any(x[0], y), x[0] + y)
    check_vmap_vs_loop(add_any, (x, y), (0, None))
    check_vmap_vs_loop(add_any, (x, x.T), (0, 1))
    check_vmap_vs_loop(add_any, (y, x), (None, 0))
    check_jvp_fd(add_any, (x[0], y))


# ---------------------------------------------------------------------------------------------
# vmap vs a Python loop over the batch

B, S = 5, (3,)


def _vmap_configs(row):
    """(per-example shapes, in_axes) with mixed batched/unbatched and rank-0 operands."""
    n = len(row.domains)
    rest = n - 1
    configs = [((S,) * n, (0,) * n), ((S,) * n, (1,) + (0,) * rest), (((),) * n, (0,) * n)]
    if n > 1:
        configs += [
            ((S,) * n, (0,) + (None,) * rest),
            ((S,) + ((),) * rest, (0,) + (None,) * rest),
            (((),) + (S,) * rest, (0,) + (None,) * rest),
            (((),) + (S,) * rest, (None,) + (0,) * rest),
            ((S,) * n, (None,) * rest + (0,)),
            ((S,) * n, (None,) + (1,) * rest),
        ]
    return [(s, a) for s, a in configs if _valid(row, s)]


def _batched(rng, row, shapes, axes):
    out = []
    for s, ax, d in zip(shapes, axes, row.domains):
        if ax is None:
            out.append(rand(rng, s, d))
        else:
            x = rand(rng, (B,) + s, d)
            out.append(np.moveaxis(x, 0, ax))
    return tuple(out)


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_vmap_matches_loop(row):
    rng = np.random.default_rng(4)
    for shapes, axes in _vmap_configs(row):
        args = _batched(rng, row, shapes, axes)
        check_vmap_vs_loop(row.fun, args, axes)


def test_vmap_out_axes_and_nesting():
    rng = np.random.default_rng(5)
    x = rand(rng, (4, 3), 'real')
    y = rand(rng, (3, 4), 'real')
    out = fxad.vmap(lax.mul, in_axes=(0, 1), out_axes=1)(x, y)
    np.testing.assert_allclose(out, (x * y.T).T, rtol=1e-15)
    out = fxad.vmap(fxad.vmap(lax.atan2, in_axes=(0, None)), in_axes=(None, 0))(x[0], y[:, 0])
    np.testing.assert_allclose(out, np.arctan2(x[0][None, :], y[:, 0][:, None]), rtol=1e-15)


@pytest.mark.parametrize('row', [r for r in ROWS if r.diff], ids=_ids([r for r in ROWS if r.diff]))
def test_vmap_of_jvp_matches_loop(row):
    rng = np.random.default_rng(6)
    shapes, axes = (S,) * len(row.domains), (0,) * len(row.domains)
    args = _batched(rng, row, shapes, axes)
    tangents = random_tangents(rng, args)

    def f(args, tangents):
        return fxad.jvp(row.fun, args, tangents)[1]
    check_vmap_vs_loop(f, (args, tangents), (0, 0))


# ---------------------------------------------------------------------------------------------
# Transposes of the linear primitives: the dot-product test

_rng = np.random.default_rng(7)
_C = rand(_rng, (3, 4), 'nonzero')
_P = rand(_rng, (3, 4), 'bool')
_X, _Y, _X2 = rand(_rng, (3, 4)), rand(_rng, (3, 4)), rand(_rng, (3, 4))
_S = rand(_rng, (), 'real')

TRANSPOSES = [
    ('neg', lambda x: lax.neg(x), _X, _Y),
    ('add', lambda xy: lax.add(*xy), (_X, _X2), _Y),
    ('add_rank0', lambda xs: lax.add(*xs), (_X, _S), _Y),
    ('sub', lambda xy: lax.sub(*xy), (_X, _X2), _Y),
    ('sub_rank0', lambda sx: lax.sub(*sx), (_S, _X), _Y),
    ('mul_const_right', lambda x: lax.mul(x, _C), _X, _Y),
    ('mul_const_left', lambda x: lax.mul(_C, x), _X, _Y),
    ('mul_const_rank0', lambda x: lax.mul(x, 2.5), _X, _Y),
    ('mul_rank0_linear', lambda s: lax.mul(_C, s), _S, _Y),
    ('div_const', lambda x: lax.div(x, _C), _X, _Y),
    ('div_rank0_linear', lambda s: lax.div(s, _C), _S, _Y),
    ('select_n', lambda xy: lax.select_n(_P, *xy), (_X, _X2), _Y),
    ('select_n_one_case', lambda x: lax.select_n(_P, np.zeros_like(_C), x), _X, _Y),
    ('convert_f64_to_f32', lambda x: lax.convert_element_type(x, np.float32), _X, _Y.astype(np.float32)),
    ('convert_f32_to_f64', lambda x: lax.convert_element_type(x, np.float64), _X.astype(np.float32), _Y),
    ('add_any', lambda xy: ad.add_any_p.bind(*xy), (_X, _X2), _Y),
]


@pytest.mark.parametrize('name, f, x, y', TRANSPOSES, ids=[t[0] for t in TRANSPOSES])
def test_transpose_dot_product(name, f, x, y):
    check_transpose(f, x, y, rtol=1e-6 if 'f32' in name else 1e-12)


def test_mul_by_rank0_float32_transpose_sums_back_to_the_scalar():
    c = np.array([1.0, 2.0, 3.0], np.float32)
    ct = np.array([0.5, -1.0, 2.0], np.float32)
    f = lambda s: lax.mul(c, s)
    jaxpr = fxad.make_jaxpr(f)(np.float32(2.0))
    assert str(jaxpr) == "{ lambda a:f32[3]; b:f32[]. let c:f32[3] = mul a b in (c,) }"
    s_ct, = fxad.linear_transpose(f, np.float32(2.0))(ct)
    assert np.shape(s_ct) == () and np.asarray(s_ct).dtype == np.float32
    np.testing.assert_allclose(s_ct, np.sum(c * ct), rtol=1e-6)
    g = fxad.grad(lambda s: lax.reduce_sum(lax.mul(c, s), (0,)))(np.float32(2.0))
    assert np.asarray(g).dtype == np.float32 and g == np.float32(6.0)


def test_transpose_of_nonlinear_use_raises():
    with pytest.raises(TypeError, match="not linear"):
        fxad.linear_transpose(lambda x: lax.mul(x, x), _X)(_Y)
    with pytest.raises(TypeError, match="not linear"):
        fxad.linear_transpose(lambda x: lax.div(_C, x), _X)(_Y)
