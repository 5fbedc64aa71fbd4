"""Elementwise functions under NumPy's names, lowered onto fxad.lax with NumPy's promotion."""
import numpy as np

from .. import dtypes, lax
from ..core import get_aval
from .util import check_arg, promote_and_broadcast, promote_dtypes, promote_to_inexact


def _unary_float(name, lax_fn):
    def fn(x, /):
        x, = promote_to_inexact(name, check_arg(x, name))
        return lax_fn(x)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as numpy.{name}; integers promote to float64."
    return fn


def _unary_same(name, lax_fn):
    def fn(x, /):
        return lax_fn(check_arg(x, name))
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as numpy.{name}."
    return fn


def _binary(name, lax_fn, inexact=False):
    def fn(x1, x2, /):
        x1, x2 = promote_and_broadcast(name, x1, x2)
        if inexact and not dtypes.is_float(get_aval(x1).dtype):
            x1 = lax.convert_element_type(x1, dtypes.float_, get_aval(x1).weak_type)
            x2 = lax.convert_element_type(x2, dtypes.float_, get_aval(x2).weak_type)
        return lax_fn(x1, x2)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} with NumPy broadcasting and promotion, as numpy.{name}."
    return fn


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
negative = _unary_same('negative', lax.neg)
absolute = _unary_same('absolute', lambda x: x if get_aval(x).dtype.kind in 'bu' else lax.abs(x))
abs = absolute
sign = _unary_same('sign', lax.sign)
square = _unary_same('square', lax.square)
isfinite = _unary_float('isfinite', lax.is_finite)
logical_not = _unary_same('logical_not', lambda x: lax.bitwise_not(_as_bool(x)))
invert = _unary_same('invert', lax.bitwise_not)
bitwise_not = invert
arcsin.__doc__ = "Elementwise inverse sine, as numpy.arcsin."
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh


def _rounding(name, lax_fn):
    def fn(x, /):
        x = check_arg(x, name)
        return x if not dtypes.is_float(get_aval(x).dtype) else lax_fn(x)
    fn.__name__ = name
    return fn


floor = _rounding('floor', lax.floor)
ceil = _rounding('ceil', lax.ceil)
trunc = _rounding('trunc', lambda x: lax.select_n(lax.lt(x, _full_like(x, get_aval(x).dtype.type(0))),
                                                  lax.floor(x), lax.ceil(x)))
fix = trunc
rint = _rounding('rint', lax.round)


def round(a, decimals=0):
    """Round half to even, as numpy.round."""
    a = check_arg(a, 'round')
    if not dtypes.is_float(get_aval(a).dtype):
        return a
    if decimals == 0:
        return lax.round(a)
    factor = get_aval(a).dtype.type(10.0 ** decimals)
    return divide(lax.round(multiply(a, factor)), factor)


around = round


def _as_bool(x):
    return x if get_aval(x).dtype == dtypes.bool_ else not_equal(x, 0)


add = _binary('add', lax.add)
subtract = _binary('subtract', lax.sub)
multiply = _binary('multiply', lambda x, y: lax.bitwise_and(x, y) if get_aval(x).dtype == dtypes.bool_ else lax.mul(x, y))
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


def floor_divide(x1, x2, /):
    """Floor division, as numpy.floor_divide (rounds toward minus infinity)."""
    x1, x2 = promote_and_broadcast('floor_divide', x1, x2)
    if dtypes.is_float(get_aval(x1).dtype):
        return lax.floor(lax.div(x1, x2))
    q = lax.div(x1, x2)
    r = lax.rem(x1, x2)
    zero = get_aval(r).dtype.type(0)
    fix = lax.bitwise_and(lax.ne(r, _full_like(r, zero)), lax.ne(lax.lt(r, _full_like(r, zero)), lax.lt(x2, _full_like(x2, zero))))
    return lax.sub(q, lax.convert_element_type(fix, get_aval(q).dtype))


def _full_like(x, value):
    shape = get_aval(x).shape
    return value if not shape else lax.broadcast_in_dim(value, shape, ())


def remainder(x1, x2, /):
    """Remainder with the sign of the divisor, as numpy.remainder (Python's %)."""
    x1, x2 = promote_and_broadcast('remainder', x1, x2)
    r = lax.rem(x1, x2)
    zero = get_aval(r).dtype.type(0)
    wrong_sign = lax.bitwise_and(lax.ne(r, _full_like(r, zero)),
                                 lax.ne(lax.lt(r, _full_like(r, zero)), lax.lt(x2, _full_like(x2, zero))))
    shape = get_aval(r).shape
    x2b = x2 if get_aval(x2).shape == shape else lax.broadcast_in_dim(x2, shape, ())
    return lax.select_n(wrong_sign, r, lax.add(r, x2b))


mod = remainder


def fmod(x1, x2, /):
    x1, x2 = promote_and_broadcast('fmod', x1, x2)
    return lax.rem(x1, x2)


def power(x1, x2, /):
    """x1 ** x2 with NumPy's promotion; a Python-int exponent becomes integer_pow."""
    if isinstance(x2, int) and not isinstance(x2, bool):
        x1 = check_arg(x1, 'power')
        if dtypes.is_float(get_aval(x1).dtype) or x2 >= 0:
            return lax.integer_pow(x1, x2)
    x1, x2 = promote_and_broadcast('power', x1, x2)
    dtype = get_aval(x1).dtype
    if not dtypes.is_float(dtype):
        return lax.convert_element_type(
            lax.pow(lax.convert_element_type(x1, dtypes.float_), lax.convert_element_type(x2, dtypes.float_)),
            dtype)
    return lax.pow(x1, x2)


pow = power


def reciprocal(x, /):
    x, = promote_dtypes('reciprocal', x)
    return lax.div(get_aval(x).dtype.type(1), x) if not isinstance(x, (int, float)) else 1.0 / x


def float_power(x1, x2, /):
    x1, x2 = promote_to_inexact('float_power', x1, x2)
    return power(lax.convert_element_type(x1, dtypes.float_), lax.convert_element_type(x2, dtypes.float_))


def logaddexp(x1, x2, /):
    """log(exp(x1) + exp(x2)), computed stably."""
    x1, x2 = promote_to_inexact('logaddexp', x1, x2)
    x1, x2 = promote_and_broadcast('logaddexp', x1, x2)
    amax = lax.max(x1, x2)
    amax = lax.stop_gradient(lax.select_n(lax.is_finite(amax), _full_like(amax, get_aval(amax).dtype.type(0)), amax))
    return lax.add(amax, lax.log(lax.add(lax.exp(lax.sub(x1, amax)), lax.exp(lax.sub(x2, amax)))))


def hypot(x1, x2, /):
    x1, x2 = promote_to_inexact('hypot', x1, x2)
    x1, x2 = promote_and_broadcast('hypot', x1, x2)
    return lax.sqrt(lax.add(lax.square(x1), lax.square(x2)))


def positive(x, /):
    return check_arg(x, 'positive')


def deg2rad(x, /):
    x, = promote_to_inexact('deg2rad', x)
    return multiply(x, np.pi / 180)


def rad2deg(x, /):
    x, = promote_to_inexact('rad2deg', x)
    return multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg
