"""Elementwise primitives: unary math, binary arithmetic, comparisons, logic, select and casts.

Each primitive is defined once and its JVP (and transpose, where linear) sit on the lines after
it; batching comes from the family constructor. Rules read like a table of derivatives.
"""
import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad
from ..interpreters.ad import Zero, defjvp, defjvp2, defjvp_zero, is_undefined_primal
from .utils import (ANY, FLOAT, INTEGRAL, NUMBER, standard_naryop, standard_unop, unbroadcast,
                    vectorized_batcher, broadcasting_batcher, elementwise_shape, _check_dtype_kinds)


def _bool_result(dtype):
    return dtypes.bool_


# ---------------------------------------------------------------------------------------------
# Unary math

neg_p = standard_unop('neg', np.negative, NUMBER)
sign_p = standard_unop('sign', np.sign, NUMBER)
floor_p = standard_unop('floor', np.floor, FLOAT)
ceil_p = standard_unop('ceil', np.ceil, FLOAT)
round_p = standard_unop('round', np.round, FLOAT)
is_finite_p = standard_unop('is_finite', np.isfinite, FLOAT, _bool_result)
exp_p = standard_unop('exp', np.exp, FLOAT)
exp2_p = standard_unop('exp2', np.exp2, FLOAT)
log_p = standard_unop('log', np.log, FLOAT)
log1p_p = standard_unop('log1p', np.log1p, FLOAT)
expm1_p = standard_unop('expm1', np.expm1, FLOAT)
tanh_p = standard_unop('tanh', np.tanh, FLOAT)
logistic_p = standard_unop('logistic', lambda x: _logistic_impl(x), FLOAT)
sin_p = standard_unop('sin', np.sin, FLOAT)
cos_p = standard_unop('cos', np.cos, FLOAT)
tan_p = standard_unop('tan', np.tan, FLOAT)
asin_p = standard_unop('asin', np.arcsin, FLOAT)
acos_p = standard_unop('acos', np.arccos, FLOAT)
atan_p = standard_unop('atan', np.arctan, FLOAT)
sinh_p = standard_unop('sinh', np.sinh, FLOAT)
cosh_p = standard_unop('cosh', np.cosh, FLOAT)
asinh_p = standard_unop('asinh', np.arcsinh, FLOAT)
acosh_p = standard_unop('acosh', np.arccosh, FLOAT)
atanh_p = standard_unop('atanh', np.arctanh, FLOAT)
sqrt_p = standard_unop('sqrt', np.sqrt, FLOAT)
rsqrt_p = standard_unop('rsqrt', lambda x: 1 / np.sqrt(x), FLOAT)
cbrt_p = standard_unop('cbrt', np.cbrt, 'f')
abs_p = standard_unop('abs', np.abs, NUMBER)
square_p = standard_unop('square', np.square, NUMBER)
not_p = standard_unop('not', lambda x: np.logical_not(x) if x.dtype == bool else np.invert(x), INTEGRAL)
stop_gradient_p = standard_unop('stop_gradient', lambda x: x)


def _logistic_impl(x):
    x = np.asarray(x)
    # exp of a negative argument only: stable for large |x|.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out.astype(x.dtype)[()] if out.ndim == 0 else out.astype(x.dtype)


def neg(x): return neg_p.bind(x)
def sign(x): return sign_p.bind(x)
def floor(x): return floor_p.bind(x)
def ceil(x): return ceil_p.bind(x)
def round(x): return round_p.bind(x)
def is_finite(x): return is_finite_p.bind(x)
def exp(x): return exp_p.bind(x)
def exp2(x): return exp2_p.bind(x)
def log(x): return log_p.bind(x)
def log1p(x): return log1p_p.bind(x)
def expm1(x): return expm1_p.bind(x)
def tanh(x): return tanh_p.bind(x)
def logistic(x): return logistic_p.bind(x)
def sin(x): return sin_p.bind(x)
def cos(x): return cos_p.bind(x)
def tan(x): return tan_p.bind(x)
def asin(x): return asin_p.bind(x)
def acos(x): return acos_p.bind(x)
def atan(x): return atan_p.bind(x)
def sinh(x): return sinh_p.bind(x)
def cosh(x): return cosh_p.bind(x)
def asinh(x): return asinh_p.bind(x)
def acosh(x): return acosh_p.bind(x)
def atanh(x): return atanh_p.bind(x)
def sqrt(x): return sqrt_p.bind(x)
def rsqrt(x): return rsqrt_p.bind(x)
def cbrt(x): return cbrt_p.bind(x)
def abs(x): return abs_p.bind(x)
def square(x): return square_p.bind(x)
def bitwise_not(x): return not_p.bind(x)


def stop_gradient(x):
    """The identity whose derivative is zero; x may be a pytree (integer leaves pass through)."""
    from ..tree_util import tree_map
    return tree_map(lambda v: stop_gradient_p.bind(v) if dtypes.is_float(get_aval(v).dtype) else v, x)


def _one(x):
    return np.ones((), get_aval(x).dtype)[()]


def _const(x, value):
    return np.asarray(value, get_aval(x).dtype)[()]


defjvp(neg_p, lambda g, x: neg(g))
defjvp_zero(sign_p)
defjvp_zero(floor_p)
defjvp_zero(ceil_p)
defjvp_zero(round_p)
defjvp_zero(is_finite_p)
defjvp_zero(not_p)
defjvp_zero(stop_gradient_p)
defjvp2(exp_p, lambda g, ans, x: mul(g, ans))
defjvp2(exp2_p, lambda g, ans, x: mul(g, mul(ans, _const(x, np.log(2)))))
defjvp(log_p, lambda g, x: div(g, x))
defjvp(log1p_p, lambda g, x: div(g, add(x, _one(x))))
defjvp2(expm1_p, lambda g, ans, x: mul(g, add(ans, _one(ans))))
defjvp2(tanh_p, lambda g, ans, x: mul(g, sub(_one(x), square(ans))))
defjvp2(logistic_p, lambda g, ans, x: mul(g, mul(ans, sub(_one(ans), ans))))
defjvp(sin_p, lambda g, x: mul(g, cos(x)))
defjvp(cos_p, lambda g, x: neg(mul(g, sin(x))))
defjvp2(tan_p, lambda g, ans, x: mul(g, add(_one(x), square(ans))))
defjvp(asin_p, lambda g, x: mul(g, rsqrt(sub(_one(x), square(x)))))
defjvp(acos_p, lambda g, x: neg(mul(g, rsqrt(sub(_one(x), square(x))))))
defjvp(atan_p, lambda g, x: div(g, add(_one(x), square(x))))
defjvp(sinh_p, lambda g, x: mul(g, cosh(x)))
defjvp(cosh_p, lambda g, x: mul(g, sinh(x)))
defjvp(asinh_p, lambda g, x: mul(g, rsqrt(add(square(x), _one(x)))))
defjvp(acosh_p, lambda g, x: mul(g, rsqrt(mul(sub(x, _one(x)), add(x, _one(x))))))
defjvp(atanh_p, lambda g, x: div(g, sub(_one(x), square(x))))
defjvp2(sqrt_p, lambda g, ans, x: div(g, mul(_const(x, 2), ans)))
defjvp2(rsqrt_p, lambda g, ans, x: mul(g, mul(_const(x, -0.5), div(ans, x))))
defjvp2(cbrt_p, lambda g, ans, x: mul(g, div(ans, mul(_const(x, 3), x))))
defjvp(abs_p, lambda g, x: mul(g, sign(x)))
defjvp(square_p, lambda g, x: mul(g, mul(_const(x, 2), x)))

# ---------------------------------------------------------------------------------------------
# integer_pow: x ** n for a static integer n

integer_pow_p = Primitive('integer_pow')


def _integer_pow_impl(x, *, y):
    if y < 0 and np.asarray(x).dtype.kind in 'iu':
        raise ValueError("integer_pow with a negative exponent needs a floating-point base")
    return np.power(x, x.dtype.type(y) if hasattr(x, 'dtype') else y)


def _integer_pow_abstract_eval(x, *, y):
    _check_dtype_kinds('integer_pow', [x], NUMBER)
    return ShapedArray(x.shape, x.dtype, x.weak_type)


integer_pow_p.impl = _integer_pow_impl
integer_pow_p.abstract_eval = _integer_pow_abstract_eval
integer_pow_p.batch = vectorized_batcher(integer_pow_p)


def integer_pow(x, y):
    if isinstance(y, bool) or not isinstance(y, (int, np.integer)):
        raise TypeError(f"integer_pow needs a Python integer exponent, got {y!r} of type "
                        f"{type(y).__name__}; use pow for other exponents")
    return integer_pow_p.bind(x, y=int(y))


def _integer_pow_jvp(g, x, *, y):
    if y == 0:
        return Zero(ad.tangent_aval(get_aval(x)))
    return mul(g, mul(_const(x, y), integer_pow(x, y - 1)))


defjvp(integer_pow_p, _integer_pow_jvp)

# ---------------------------------------------------------------------------------------------
# Binary arithmetic

add_p = standard_naryop('add', np.add, NUMBER)
sub_p = standard_naryop('sub', np.subtract, NUMBER)
mul_p = standard_naryop('mul', np.multiply, ANY)
div_p = standard_naryop('div', lambda x, y: _div_impl(x, y), NUMBER)
rem_p = standard_naryop('rem', lambda x, y: np.fmod(x, y), NUMBER)
pow_p = standard_naryop('pow', np.power, FLOAT)
max_p = standard_naryop('max', np.maximum, ANY)
min_p = standard_naryop('min', np.minimum, ANY)
atan2_p = standard_naryop('atan2', np.arctan2, 'f')
and_p = standard_naryop('and', lambda x, y: np.bitwise_and(x, y), INTEGRAL)
or_p = standard_naryop('or', lambda x, y: np.bitwise_or(x, y), INTEGRAL)
xor_p = standard_naryop('xor', lambda x, y: np.bitwise_xor(x, y), INTEGRAL)


def _div_impl(x, y):
    if np.result_type(x, y).kind in 'iu':
        # lax.div on integers rounds toward zero, like C (and JAX).
        q = np.trunc(np.true_divide(x, y))
        return q.astype(np.result_type(x, y))
    return np.true_divide(x, y)


_PY_SCALAR_TYPES = frozenset((bool, int, float, complex))
_PY_TYPE_OF_KIND = {'b': bool, 'i': int, 'u': int, 'f': float, 'c': complex}


def _weak_pair(x, y):
    """As in JAX's lax, a Python scalar beside an array takes the array's dtype where its kind
    allows (it is weakly typed); anything else is left for the shape rule to reject."""
    tx, ty = type(x) in _PY_SCALAR_TYPES, type(y) in _PY_SCALAR_TYPES
    if tx == ty:
        return x, y
    if tx:
        return _weak_to(x, y), y
    return x, _weak_to(y, x)


def _weak_to(scalar, other):
    aval = get_aval(other)
    dtype, _ = dtypes.result_type((aval.dtype, aval.weak_type), (get_aval(scalar).dtype, True))
    if dtype != aval.dtype:
        return scalar
    return _PY_TYPE_OF_KIND[dtype.kind](scalar) if aval.weak_type else dtype.type(scalar)


def add(x, y): return add_p.bind(*_weak_pair(x, y))
def sub(x, y): return sub_p.bind(*_weak_pair(x, y))
def mul(x, y): return mul_p.bind(*_weak_pair(x, y))
def div(x, y): return div_p.bind(*_weak_pair(x, y))
def rem(x, y): return rem_p.bind(*_weak_pair(x, y))
def pow(x, y): return pow_p.bind(*_weak_pair(x, y))
def max(x, y): return max_p.bind(*_weak_pair(x, y))
def min(x, y): return min_p.bind(*_weak_pair(x, y))
def atan2(x, y): return atan2_p.bind(*_weak_pair(x, y))
def bitwise_and(x, y): return and_p.bind(*_weak_pair(x, y))
def bitwise_or(x, y): return or_p.bind(*_weak_pair(x, y))
def bitwise_xor(x, y): return xor_p.bind(*_weak_pair(x, y))


def _add_transpose(ct, x, y):
    return [unbroadcast(x.aval, ct) if is_undefined_primal(x) else None,
            unbroadcast(y.aval, ct) if is_undefined_primal(y) else None]


def _sub_transpose(ct, x, y):
    return [unbroadcast(x.aval, ct) if is_undefined_primal(x) else None,
            unbroadcast(y.aval, neg(ct)) if is_undefined_primal(y) else None]


def _mul_transpose(ct, x, y):
    if is_undefined_primal(x) and is_undefined_primal(y):
        raise ad.linear_error('mul')
    if is_undefined_primal(x):
        return [unbroadcast(x.aval, mul(ct, y)), None]
    return [None, unbroadcast(y.aval, mul(x, ct))]


def _div_transpose(ct, x, y):
    if is_undefined_primal(y):
        raise ad.linear_error('div')
    return [unbroadcast(x.aval, div(ct, y)), None]


def _linear_jvp(prim):
    def rule(primals, tangents):
        out = prim.bind(*primals)
        if all(type(t) is Zero for t in tangents):
            return out, Zero(ad.tangent_aval(get_aval(out)))
        return out, prim.bind(*[ad.instantiate_zeros(t) if type(t) is Zero else t
                                for t in tangents]) if not any(type(t) is Zero for t in tangents) \
            else _partial_linear(prim, primals, tangents)
    return rule


def _partial_linear(prim, primals, tangents):
    # add/sub with one zero tangent: keep the shape of the result (the scalar rule).
    x_t, y_t = tangents
    if type(x_t) is Zero:
        t = neg(y_t) if prim is sub_p else y_t
        shape = elementwise_shape(prim.name, [get_aval(p) for p in primals])
    else:
        t = x_t
        shape = elementwise_shape(prim.name, [get_aval(p) for p in primals])
    if get_aval(t).shape != shape:
        from .shapes import broadcast_in_dim
        t = broadcast_in_dim(t, shape, ())
    return t


add_p.jvp = _linear_jvp(add_p)
add_p.transpose = _add_transpose
sub_p.jvp = _linear_jvp(sub_p)
sub_p.transpose = _sub_transpose
defjvp(mul_p, lambda g, x, y: mul(g, y), lambda g, x, y: mul(x, g))
mul_p.transpose = _mul_transpose
defjvp(div_p, lambda g, x, y: div(g, y),
       lambda g, x, y: mul(neg(g), div(x, square(y))))
div_p.transpose = _div_transpose
defjvp(rem_p, lambda g, x, y: _bcast_like(g, x, y),
       lambda g, x, y: mul(neg(g), mul(sign(div(x, y)), floor(abs(div(x, y))))))


def _bcast_like(g, *operands):
    """g broadcast to the result shape of an elementwise op on operands (for rank-0 operands)."""
    shape = elementwise_shape('broadcast', [get_aval(o) for o in operands])
    if get_aval(g).shape == shape:
        return g
    from .shapes import broadcast_in_dim
    return broadcast_in_dim(g, shape, ())


def _pow_jvp_lhs(g, x, y):
    # d/dx x**y = y * x**(y-1), with 0 where y == 0 (so 0**0 has derivative 0).
    y_minus_1 = sub(y, _one(y))
    safe = select_n(eq(y, _const(y, 0)), pow(x, y_minus_1), _bcast_scalar_zero(x, y))
    return mul(g, mul(y, safe))


def _bcast_scalar_zero(x, y):
    shape = elementwise_shape('pow', [get_aval(x), get_aval(y)])
    return np.zeros(shape, get_aval(x).dtype)[()] if not shape else np.zeros(shape, get_aval(x).dtype)


def _pow_jvp_rhs(g, x, y):
    # d/dy x**y = log(x) * x**y, with 0 where x == 0.
    x_is_zero = eq(x, _const(x, 0))
    aval = get_aval(x)
    ones, zeros = np.ones(aval.shape, aval.dtype)[()], np.zeros(aval.shape, aval.dtype)[()]
    log_x = select_n(x_is_zero, log(select_n(x_is_zero, x, ones)), zeros)
    return mul(g, mul(log_x, pow(x, y)))


defjvp(pow_p, _pow_jvp_lhs, _pow_jvp_rhs)


def _balanced_eq(x, z, y):
    # 1 where x wins outright, 1/2 where x and y tie (JAX splits the tangent evenly), else 0.
    one, half, zero = _one(x), _const(x, 0.5), _const(x, 0)
    return select_n(eq(x, z), _fill(zero, x, y), select_n(eq(y, z), _fill(one, x, y), _fill(half, x, y)))


def _fill(value, x, y):
    shape = elementwise_shape('max', [get_aval(x), get_aval(y)])
    if not shape:
        return value
    return np.full(shape, value)


defjvp(max_p,
       lambda g, x, y: mul(_bcast_like(g, x, y), _balanced_eq(x, max(x, y), y)),
       lambda g, x, y: mul(_bcast_like(g, x, y), _balanced_eq(y, max(x, y), x)))
defjvp(min_p,
       lambda g, x, y: mul(_bcast_like(g, x, y), _balanced_eq(x, min(x, y), y)),
       lambda g, x, y: mul(_bcast_like(g, x, y), _balanced_eq(y, min(x, y), x)))
defjvp(atan2_p,
       lambda g, x, y: mul(g, div(y, add(square(x), square(y)))),
       lambda g, x, y: mul(g, div(neg(x), add(square(x), square(y)))))
defjvp_zero(and_p)
defjvp_zero(or_p)
defjvp_zero(xor_p)

# ---------------------------------------------------------------------------------------------
# Comparisons

eq_p = standard_naryop('eq', np.equal, ANY, _bool_result)
ne_p = standard_naryop('ne', np.not_equal, ANY, _bool_result)
lt_p = standard_naryop('lt', np.less, ANY, _bool_result)
le_p = standard_naryop('le', np.less_equal, ANY, _bool_result)
gt_p = standard_naryop('gt', np.greater, ANY, _bool_result)
ge_p = standard_naryop('ge', np.greater_equal, ANY, _bool_result)
for _p in (eq_p, ne_p, lt_p, le_p, gt_p, ge_p):
    defjvp_zero(_p)


def eq(x, y): return eq_p.bind(*_weak_pair(x, y))
def ne(x, y): return ne_p.bind(*_weak_pair(x, y))
def lt(x, y): return lt_p.bind(*_weak_pair(x, y))
def le(x, y): return le_p.bind(*_weak_pair(x, y))
def gt(x, y): return gt_p.bind(*_weak_pair(x, y))
def ge(x, y): return ge_p.bind(*_weak_pair(x, y))


# ---------------------------------------------------------------------------------------------
# select_n: which = 0 picks the first case, 1 the second, ... (bool predicate: False, True)

select_n_p = Primitive('select_n')


def _select_n_impl(which, *cases):
    if len(cases) == 1:
        return cases[0]
    if np.asarray(which).dtype == bool:
        out = np.where(which, cases[1], cases[0])
    else:
        out = np.choose(which, np.broadcast_arrays(*cases), mode='clip') if np.ndim(which) else cases[int(which)]
    out = np.asarray(out, dtype=np.result_type(*cases))
    return out[()] if out.ndim == 0 else out


def _select_n_abstract_eval(which, *cases):
    if not cases:
        raise TypeError("select_n needs at least one case")
    if which.dtype.kind not in 'biu':
        raise TypeError(f"select_n's predicate must be boolean or integer, got {which.dtype.name}")
    if which.dtype == dtypes.bool_ and len(cases) > 2:
        raise TypeError("select_n with a boolean predicate takes at most two cases")
    dtype = cases[0].dtype
    shape = cases[0].shape
    for c in cases[1:]:
        if c.shape != shape or c.dtype != dtype:
            raise TypeError(f"select_n cases must have the same shape and dtype, got "
                            f"{', '.join(c.str_short() for c in cases)}")
    if which.shape and which.shape != shape:
        raise ValueError(f"select_n's predicate shape {which.shape} must be () or the case shape {shape}")
    return ShapedArray(shape, dtype, all(c.weak_type for c in cases))


select_n_p.impl = _select_n_impl
select_n_p.abstract_eval = _select_n_abstract_eval


def select_n(which, *cases):
    return select_n_p.bind(which, *cases)


def select(pred, on_true, on_false):
    """on_true where pred else on_false (JAX's lax.select; select_n with the cases swapped)."""
    return select_n_p.bind(pred, on_false, on_true)


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    out = select_n(which, *cases)
    case_tangents = tangents[1:]
    if all(type(t) is Zero for t in case_tangents):
        return out, Zero(ad.tangent_aval(get_aval(out)))
    ts = [ad.instantiate_zeros(t) for t in case_tangents]
    return out, select_n(which, *ts)


def _select_n_transpose(ct, which, *cases):
    if is_undefined_primal(which):
        raise ad.linear_error('select_n predicate')
    if type(ct) is Zero:
        return [None] + [Zero(c.aval) if is_undefined_primal(c) else None for c in cases]
    zeros = np.zeros(get_aval(ct).shape, get_aval(ct).dtype)
    out = [None]
    for i, c in enumerate(cases):
        if is_undefined_primal(c):
            picked = [zeros] * len(cases)
            picked[i] = ct
            out.append(select_n(which, *picked))
        else:
            out.append(None)
    return out


def _select_n_batch(vals, dims):
    from .shapes import broadcast_in_dim
    from ..interpreters import batching
    which, *cases = vals
    wd, *cdims = dims
    avals = [get_aval(v) for v in vals]
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    case_shape = next((a.shape if d is None else a.shape[:d] + a.shape[d + 1:])
                      for a, d in zip(avals[1:], cdims))
    # Move every batched operand's batch dim to the front; broadcast the rest.
    new_cases = []
    for c, a, d in zip(cases, avals[1:], cdims):
        if d is None:
            new_cases.append(broadcast_in_dim(c, (size,) + case_shape, tuple(range(1, a.ndim + 1))))
        else:
            new_cases.append(batching.moveaxis(c, d, 0))
    if wd is None:
        if avals[0].ndim == 0:
            return select_n(which, *new_cases), 0
        which = broadcast_in_dim(which, (size,) + case_shape, tuple(range(1, avals[0].ndim + 1)))
    else:
        which = batching.moveaxis(which, wd, 0)
        if avals[0].ndim == 1 and case_shape:
            which = broadcast_in_dim(which, (size,) + case_shape, (0,))
    return select_n(which, *new_cases), 0


select_n_p.jvp = _select_n_jvp
select_n_p.transpose = _select_n_transpose
select_n_p.batch = _select_n_batch


# ---------------------------------------------------------------------------------------------
# clamp(min, x, max)

clamp_p = Primitive('clamp')


def _clamp_impl(lo, x, hi):
    return np.clip(x, lo, hi)


def _clamp_abstract_eval(lo, x, hi):
    for bound, name in ((lo, 'min'), (hi, 'max')):
        if bound.shape and bound.shape != x.shape:
            raise ValueError(f"clamp's {name} must be rank-0 or of x's shape {x.shape}, got {bound.shape}")
        if bound.dtype != x.dtype:
            raise TypeError(f"clamp requires equal dtypes, got {lo.dtype.name}, {x.dtype.name}, {hi.dtype.name}")
    return ShapedArray(x.shape, x.dtype, x.weak_type)


clamp_p.impl = _clamp_impl
clamp_p.abstract_eval = _clamp_abstract_eval
clamp_p.batch = broadcasting_batcher(clamp_p)


def clamp(lo, x, hi):
    return clamp_p.bind(lo, x, hi)


def _clamp_jvp(primals, tangents):
    lo, x, hi = primals
    out = clamp(lo, x, hi)
    t = None
    t_lo, t_x, t_hi = tangents
    zero = np.zeros(get_aval(out).shape, get_aval(out).dtype)
    if type(t_x) is not Zero:
        t = select_n(bitwise_and(gt(x, lo), lt(x, hi)), zero, _bcast_like(t_x, lo, x, hi))
    if type(t_lo) is not Zero:
        c = select_n(lt(x, lo), zero, _bcast_like(t_lo, lo, x, hi))
        t = c if t is None else add(t, c)
    if type(t_hi) is not Zero:
        c = select_n(gt(x, hi), zero, _bcast_like(t_hi, lo, x, hi))
        t = c if t is None else add(t, c)
    return out, (Zero(ad.tangent_aval(get_aval(out))) if t is None else t)


clamp_p.jvp = _clamp_jvp


# ---------------------------------------------------------------------------------------------
# convert_element_type

convert_element_type_p = Primitive('convert_element_type')


def _convert_impl(x, *, new_dtype, weak_type):
    out = np.asarray(x).astype(new_dtype)
    return out[()] if out.ndim == 0 else out


def _convert_abstract_eval(x, *, new_dtype, weak_type):
    return ShapedArray(x.shape, new_dtype, weak_type)


def _convert_jvp(primals, tangents, *, new_dtype, weak_type):
    x, = primals
    t, = tangents
    out = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if type(t) is Zero or not dtypes.is_float(new_dtype):
        return out, Zero(ad.tangent_aval(get_aval(out)))
    return out, convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


def _convert_transpose(ct, x, *, new_dtype, weak_type):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type)]


convert_element_type_p.impl = _convert_impl
convert_element_type_p.abstract_eval = _convert_abstract_eval
convert_element_type_p.jvp = _convert_jvp
convert_element_type_p.transpose = _convert_transpose
convert_element_type_p.batch = vectorized_batcher(convert_element_type_p)


def convert_element_type(x, new_dtype, weak_type=False):
    new_dtype = np.dtype(new_dtype)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)


# ---------------------------------------------------------------------------------------------
# Linear rules needing the shape family, and the tangent accumulator

neg_p.transpose = lambda ct, x: [neg(ct)]
stop_gradient_p.transpose = None
ad.add_any_p.jvp = _linear_jvp(ad.add_any_p)
ad.add_any_p.transpose = lambda ct, x, y: [ct, ct]
ad.add_any_p.batch = broadcasting_batcher(ad.add_any_p)
