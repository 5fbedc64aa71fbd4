"""Elementwise functions under NumPy's names, lowered onto fxad.lax with NumPy's promotion."""
import numpy as np

from .. import core, dtypes, lax
from ..core import Tracer, get_aval
from .util import (broadcast_all, check_arg, numpy_result, promote_and_broadcast, promote_dtypes,
                   promote_to_inexact, scalar_like)

__all__ = ['sin', 'cos', 'tan', 'arcsin', 'arccos', 'arctan', 'sinh', 'cosh', 'tanh', 'arcsinh', 'arccosh',
           'arctanh', 'exp', 'exp2', 'log', 'log1p', 'expm1', 'sqrt', 'cbrt', 'isfinite', 'negative',
           'absolute', 'abs', 'fabs', 'sign', 'square', 'logical_not', 'invert', 'bitwise_not', 'asin',
           'acos', 'atan', 'asinh', 'acosh', 'atanh', 'log2', 'log10', 'floor', 'ceil', 'trunc', 'fix',
           'rint', 'round', 'around', 'add', 'subtract', 'multiply', 'true_divide', 'divide', 'maximum',
           'minimum', 'arctan2', 'atan2', 'equal', 'not_equal', 'less', 'less_equal', 'greater',
           'greater_equal', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'logical_and', 'logical_or',
           'logical_xor', 'floor_divide', 'remainder', 'mod', 'fmod', 'power', 'pow', 'float_power',
           'reciprocal', 'logaddexp', 'logaddexp2', 'hypot', 'positive', 'deg2rad', 'rad2deg', 'radians',
           'degrees', 'isnan', 'isinf', 'signbit', 'copysign', 'heaviside', 'sinc', 'real', 'imag', 'conj',
           'conjugate', 'isclose', 'fmax', 'fmin', 'left_shift', 'right_shift']


def _unary_float(name, lax_fn):
    def fn(x, /):
        x = check_arg(x, name)
        if get_aval(x).dtype.kind not in 'fc':
            x, = promote_to_inexact(name, x)
        return lax_fn(x)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as numpy.{name}; integers promote to float64."
    return fn


def _unary_same(name, lax_fn):
    def fn(x, /):
        return numpy_result(lax_fn(check_arg(x, name)))
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as numpy.{name}."
    return fn


def _to_float(x):
    if dtypes.is_float(get_aval(x).dtype):
        return x
    if not isinstance(x, (Tracer, np.ndarray, np.generic)):
        return float(x)
    return lax.convert_element_type(x, dtypes.float_, get_aval(x).weak_type)


def _binary(name, lax_fn, inexact=False):
    def fn(x1, x2, /):
        x1, x2 = promote_and_broadcast(name, x1, x2)
        if inexact:
            x1, x2 = _to_float(x1), _to_float(x2)
        return lax_fn(x1, x2)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} with NumPy broadcasting and promotion, as numpy.{name}."
    return fn


def _is_bool(x):
    return get_aval(x).dtype == dtypes.bool_


def _full_like(x, value):
    shape = get_aval(x).shape
    return value if not shape else lax.broadcast_in_dim(value, shape, ())


sin = _unary_float('sin', lax.sin)
cos = _unary_float('cos', lax.cos)
tan = _unary_float('tan', lax.tan)
arcsin = _unary_float('arcsin', lax.asin)
arccos = _unary_float('arccos', lax.acos)
arctan = _unary_float('arctan', lax.atan)
sinh = _unary_float('sinh', lax.sinh)
cosh = _unary_float('cosh', lax.cosh)
tanh = _unary_float('tanh', lax.tanh)
arcsinh = _unary_float('arcsinh', lax.asinh)
arccosh = _unary_float('arccosh', lax.acosh)
arctanh = _unary_float('arctanh', lax.atanh)
exp = _unary_float('exp', lax.exp)
exp2 = _unary_float('exp2', lax.exp2)
log = _unary_float('log', lax.log)
log1p = _unary_float('log1p', lax.log1p)
expm1 = _unary_float('expm1', lax.expm1)
sqrt = _unary_float('sqrt', lax.sqrt)
cbrt = _unary_float('cbrt', lax.cbrt)
isfinite = _unary_float('isfinite', lax.is_finite)
negative = _unary_same('negative', lax.neg)
absolute = _unary_same('absolute', lambda x: x if get_aval(x).dtype.kind in 'bu' else lax.abs(x))
abs = absolute
fabs = _unary_float('fabs', lax.abs)
sign = _unary_same('sign', lax.sign)
square = _unary_same('square', lambda x: x if _is_bool(x) else lax.square(x))
logical_not = _unary_same('logical_not', lambda x: lax.bitwise_not(_as_bool(x)))
invert = _unary_same('invert', lax.bitwise_not)
bitwise_not = invert
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh


def log2(x, /):
    x, = promote_to_inexact('log2', x)
    return lax.div(lax.log(x), scalar_like(x, np.log(2)))


def log10(x, /):
    x, = promote_to_inexact('log10', x)
    return lax.div(lax.log(x), scalar_like(x, np.log(10)))


def _rounding(name, lax_fn):
    def fn(x, /):
        x = check_arg(x, name)
        return numpy_result(x if not dtypes.is_float(get_aval(x).dtype) else lax_fn(x))
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as numpy.{name}; integers are returned unchanged."
    return fn


floor = _rounding('floor', lax.floor)
ceil = _rounding('ceil', lax.ceil)
trunc = _rounding('trunc', lambda x: lax.select_n(lax.lt(x, _full_like(x, scalar_like(x, 0))),
                                                  lax.floor(x), lax.ceil(x)))
fix = trunc
rint = _unary_float('rint', lax.round)


def round(a, decimals=0):
    """Round half to even, as numpy.round."""
    a = check_arg(a, 'round')
    if not dtypes.is_float(get_aval(a).dtype):
        return numpy_result(a)
    if decimals == 0:
        return lax.round(a)
    factor = scalar_like(a, 10.0 ** decimals)
    return lax.div(lax.round(lax.mul(a, factor)), factor)


around = round


def _as_bool(x):
    return x if _is_bool(x) else not_equal(x, 0)


add = _binary('add', lambda x, y: lax.bitwise_or(x, y) if _is_bool(x) else lax.add(x, y))
subtract = _binary('subtract', lax.sub)
multiply = _binary('multiply', lambda x, y: lax.bitwise_and(x, y) if _is_bool(x) else lax.mul(x, y))
true_divide = _binary('true_divide', lax.div, inexact=True)
divide = true_divide
maximum = _binary('maximum', lax.max)
minimum = _binary('minimum', lax.min)
arctan2 = _binary('arctan2', lax.atan2, inexact=True)
atan2 = arctan2
equal = _binary('equal', lax.eq)
not_equal = _binary('not_equal', lax.ne)
less = _binary('less', lax.lt)
less_equal = _binary('less_equal', lax.le)
greater = _binary('greater', lax.gt)
greater_equal = _binary('greater_equal', lax.ge)
bitwise_and = _binary('bitwise_and', lax.bitwise_and)
bitwise_or = _binary('bitwise_or', lax.bitwise_or)
bitwise_xor = _binary('bitwise_xor', lax.bitwise_xor)
logical_and = _binary('logical_and', lambda x, y: lax.bitwise_and(_as_bool(x), _as_bool(y)))
logical_or = _binary('logical_or', lambda x, y: lax.bitwise_or(_as_bool(x), _as_bool(y)))
logical_xor = _binary('logical_xor', lambda x, y: lax.bitwise_xor(_as_bool(x), _as_bool(y)))


def _nan_ignoring(name, lax_fn):
    def fn(x1, x2, /):
        x1, x2 = broadcast_all(name, *promote_dtypes(name, x1, x2))
        out = lax_fn(x1, x2)
        if not dtypes.is_float(get_aval(out).dtype):
            return numpy_result(out)
        out = lax.select_n(isnan(x2), out, x1)
        return lax.select_n(isnan(x1), out, x2)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name[1:]}imum ignoring NaNs (NaN only where both are), as numpy.{name}."
    return fn


fmax = _nan_ignoring('fmax', lax.max)
fmin = _nan_ignoring('fmin', lax.min)


def _shift_operands(name, x1, x2):
    """x1, x2 of one integer dtype and shape, and 2**k for k in [0, bits) in that dtype (a table
    gathered by the shift count; 1 << (bits - 1) wraps as in C)."""
    x1, x2 = broadcast_all(name, *promote_dtypes(name, x1, x2))
    dtype = get_aval(x1).dtype
    if not dtypes.is_integer(dtype):
        raise TypeError(f"fxad.numpy.{name} takes integer operands, got {dtype}")
    bits = 8 * dtype.itemsize
    return x1, x2, bits, np.left_shift(np.ones(bits, dtype), np.arange(bits, dtype=dtype))


def _gather_powers(powers, count, lo, hi):
    from .indexing import take
    return take(powers, lax.clamp(scalar_like(count, lo), count, scalar_like(count, hi)))


def left_shift(x1, x2, /):
    """x1 << x2 = x1 * 2**x2, wrapping in x1's integer dtype (0 once x2 reaches the bit width), as
    numpy.left_shift. Shift counts must be non-negative."""
    x1, x2, bits, powers = _shift_operands('left_shift', x1, x2)
    shifted = lax.mul(x1, _gather_powers(powers, x2, 0, bits - 1))
    return lax.select_n(lax.lt(x2, _full_like(x2, scalar_like(x2, bits))), _full_like(x1, scalar_like(x1, 0)),
                        shifted)


def right_shift(x1, x2, /):
    """x1 >> x2 = floor(x1 / 2**x2), as numpy.right_shift: arithmetic for signed integers (-1 or 0
    once x2 reaches the bit width - 1), 0 for unsigned ones past the width. Counts must be
    non-negative."""
    x1, x2, bits, powers = _shift_operands('right_shift', x1, x2)
    zero = _full_like(x1, scalar_like(x1, 0))
    if get_aval(x1).dtype.kind == 'u':
        shifted = lax.div(x1, _gather_powers(powers, x2, 0, bits - 1))
        return lax.select_n(lax.lt(x2, _full_like(x2, scalar_like(x2, bits))), zero, shifted)
    # 2**(bits - 1) is negative in a signed dtype: the largest shifts leave only the sign.
    shifted = floor_divide(x1, _gather_powers(powers, x2, 0, bits - 2))
    sign = lax.select_n(lax.lt(x1, zero), zero, _full_like(x1, scalar_like(x1, -1)))
    return lax.select_n(lax.lt(x2, _full_like(x2, scalar_like(x2, bits - 1))), sign, shifted)


def _sign_fix(r, x2):
    """True where the C remainder r is nonzero and its sign differs from the divisor's."""
    zero = _full_like(r, scalar_like(r, 0))
    return lax.bitwise_and(lax.ne(r, zero), lax.ne(lax.lt(r, zero), lax.lt(x2, _full_like(x2, scalar_like(x2, 0)))))


def floor_divide(x1, x2, /):
    """Floor division, as numpy.floor_divide (rounds toward minus infinity)."""
    x1, x2 = promote_and_broadcast('floor_divide', x1, x2)
    if dtypes.is_float(get_aval(x1).dtype):
        return lax.floor(lax.div(x1, x2))
    q = lax.div(x1, x2)
    return lax.sub(q, lax.convert_element_type(_sign_fix(lax.rem(x1, x2), x2), get_aval(q).dtype))


def remainder(x1, x2, /):
    """Remainder with the sign of the divisor, as numpy.remainder (Python's %)."""
    x1, x2 = promote_and_broadcast('remainder', x1, x2)
    r = lax.rem(x1, x2)
    x2b = _full_like(r, x2) if get_aval(x2).shape != get_aval(r).shape else x2
    return lax.select_n(_sign_fix(r, x2), r, lax.add(r, x2b))


mod = remainder


def fmod(x1, x2, /):
    """Remainder with the sign of the dividend, as numpy.fmod (C's fmod)."""
    x1, x2 = promote_and_broadcast('fmod', x1, x2)
    return lax.rem(x1, x2)


def power(x1, x2, /):
    """x1 ** x2 with NumPy's promotion; a Python-int exponent becomes integer_pow. Integers to a
    negative integer power are a ValueError, as in NumPy, whenever the exponent is concrete."""
    if type(x2) is int:
        x1 = check_arg(x1, 'power')
        if dtypes.is_float(get_aval(x1).dtype) or x2 >= 0:
            return lax.integer_pow(x1, x2)
    x1, x2 = promote_and_broadcast('power', x1, x2)
    dtype = get_aval(x1).dtype
    if not dtypes.is_float(dtype):
        exponent = core.concrete_or_none(x2)
        if exponent is not None and (np.asarray(exponent) < 0).any():
            raise ValueError("fxad.numpy.power: Integers to negative integer powers are not allowed.")
        return lax.convert_element_type(lax.pow(_to_float(x1), _to_float(x2)), dtype)
    return lax.pow(x1, x2)


pow = power


def float_power(x1, x2, /):
    """x1 ** x2 computed in float64 (or complex128), as numpy.float_power."""
    x1, x2 = promote_to_inexact('float_power', x1, x2)
    dtype = dtypes.complex_ if get_aval(x1).dtype.kind == 'c' else dtypes.float_
    return power(lax.convert_element_type(x1, dtype), lax.convert_element_type(x2, dtype))


def reciprocal(x, /):
    """1 / x in x's dtype, as numpy.reciprocal (integer division for integers)."""
    x = check_arg(x, 'reciprocal')
    return lax.div(scalar_like(x, 1), x)


def logaddexp(x1, x2, /):
    """log(exp(x1) + exp(x2)), computed stably."""
    x1, x2 = broadcast_all('logaddexp', *promote_to_inexact('logaddexp', x1, x2))
    amax = lax.max(x1, x2)
    amax = lax.stop_gradient(lax.select_n(lax.is_finite(amax), _full_like(amax, scalar_like(amax, 0)), amax))
    return lax.add(amax, lax.log(lax.add(lax.exp(lax.sub(x1, amax)), lax.exp(lax.sub(x2, amax)))))


def logaddexp2(x1, x2, /):
    """log2(2**x1 + 2**x2), computed stably."""
    x1, x2 = promote_to_inexact('logaddexp2', x1, x2)
    ln2 = scalar_like(x1, np.log(2))
    return lax.div(logaddexp(lax.mul(x1, ln2), lax.mul(x2, ln2)), ln2)


def hypot(x1, x2, /):
    """sqrt(x1**2 + x2**2), as numpy.hypot."""
    x1, x2 = promote_and_broadcast('hypot', *promote_to_inexact('hypot', x1, x2))
    return lax.sqrt(lax.add(lax.square(x1), lax.square(x2)))


def positive(x, /):
    return numpy_result(check_arg(x, 'positive'))


def deg2rad(x, /):
    x, = promote_to_inexact('deg2rad', x)
    return lax.mul(x, scalar_like(x, np.pi / 180))


def rad2deg(x, /):
    x, = promote_to_inexact('rad2deg', x)
    return lax.mul(x, scalar_like(x, 180 / np.pi))


radians, degrees = deg2rad, rad2deg


def isnan(x, /):
    """True where x is NaN (the one value unequal to itself)."""
    x = check_arg(x, 'isnan')
    if not dtypes.is_float(get_aval(x).dtype):
        return _full_like(x, np.bool_(False))
    return lax.ne(x, x)


def isinf(x, /):
    """True where x is +inf or -inf."""
    x = check_arg(x, 'isinf')
    if not dtypes.is_float(get_aval(x).dtype):
        return _full_like(x, np.bool_(False))
    return lax.eq(lax.abs(x), _full_like(x, scalar_like(x, np.inf)))


def signbit(x, /):
    """True where x is negative, -0.0 included (atan2(x, -1) is -pi at -0.0, pi at +0.0).

    The sign of a NaN is not recovered: signbit(-nan) is False here.
    """
    x = check_arg(x, 'signbit')
    if get_aval(x).dtype.kind in 'bu':
        return _full_like(x, np.bool_(False))
    if not dtypes.is_float(get_aval(x).dtype):
        return lax.lt(x, _full_like(x, scalar_like(x, 0)))
    return lax.lt(lax.atan2(x, _full_like(x, scalar_like(x, -1))), _full_like(x, scalar_like(x, 0)))


def copysign(x1, x2, /):
    """|x1| with the sign of x2, as numpy.copysign."""
    x1, x2 = broadcast_all('copysign', *promote_to_inexact('copysign', x1, x2))
    return lax.select_n(signbit(x2), lax.abs(x1), lax.neg(lax.abs(x1)))


def heaviside(x1, x2, /):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0 (NaN where x1 is NaN)."""
    x1, x2 = broadcast_all('heaviside', *promote_to_inexact('heaviside', x1, x2))
    zero, one = _full_like(x1, scalar_like(x1, 0)), _full_like(x1, scalar_like(x1, 1))
    out = lax.select_n(lax.gt(x1, zero), lax.select_n(lax.lt(x1, zero), x1, zero), one)
    return lax.select_n(lax.eq(x1, zero), out, x2)


def sinc(x, /):
    """sin(pi x) / (pi x), 1 at 0 (the division is guarded so the gradient at 0 is 0)."""
    x, = promote_to_inexact('sinc', x)
    is_zero = lax.eq(x, _full_like(x, scalar_like(x, 0)))
    pi_x = lax.mul(lax.select_n(is_zero, x, _full_like(x, scalar_like(x, 1))), scalar_like(x, np.pi))
    return lax.select_n(is_zero, lax.div(lax.sin(pi_x), pi_x), _full_like(x, scalar_like(x, 1)))


def _real_only(name):
    def fn(x, /):
        x = check_arg(x, name)
        if get_aval(x).dtype.kind == 'c':
            raise NotImplementedError(f"fxad.numpy.{name} of a complex array: fxad has no complex "
                                      f"real/imag/conj primitives yet")
        return numpy_result(x if name != 'imag' else _full_like(x, scalar_like(x, 0)))
    fn.__name__ = name
    fn.__doc__ = f"numpy.{name} for real arrays."
    return fn


real = _real_only('real')
imag = _real_only('imag')
conj = _real_only('conj')
conjugate = conj


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol |b| elementwise (infinities equal only to themselves)."""
    a, b = broadcast_all('isclose', *promote_dtypes('isclose', a, b))
    if not dtypes.is_float(get_aval(a).dtype):
        return lax.eq(a, b)
    a, b = lax.stop_gradient(a), lax.stop_gradient(b)
    tol = lax.add(_full_like(a, scalar_like(a, atol)), lax.mul(scalar_like(a, rtol), lax.abs(b)))
    finite = lax.bitwise_and(lax.is_finite(a), lax.is_finite(b))
    close = lax.bitwise_and(finite, lax.le(lax.abs(lax.sub(a, b)), tol))
    out = lax.bitwise_or(close, lax.eq(a, b))
    return lax.bitwise_or(out, lax.bitwise_and(isnan(a), isnan(b))) if equal_nan else out
