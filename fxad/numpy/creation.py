"""Array creation under NumPy's names: zeros, ones, full, eye, arange, linspace, asarray, ...

Shapes and sizes are static, so outside transformations these are NumPy's own arrays; values that
are tracers (a fill value, linspace's endpoints, zeros_like's argument) give traced results.
"""
import operator

import numpy as np

from .. import dtypes, lax
from ..core import Tracer, get_aval
from . import ufuncs
from .util import (asarray_value, broadcast_all, canonicalize_axis, canonicalize_shape, check_arg, concrete,
                   full as _full, numpy_result, promote_to_inexact, scalar_like)

__all__ = ['zeros', 'ones', 'full', 'empty', 'zeros_like', 'ones_like', 'full_like', 'empty_like',
           'eye', 'identity', 'arange', 'linspace', 'asarray', 'array', 'meshgrid',
           'bool_', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16',
           'float32', 'float64', 'complex64', 'complex128', 'dtype', 'finfo', 'iinfo', 'pi', 'e', 'inf', 'nan',
           'newaxis']

# NumPy's dtype names and constants, so that code reads fnp.float32 and fnp.pi as it would in NumPy.
bool_, int8, int16, int32, int64 = np.bool_, np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64, complex64, complex128 = np.float16, np.float32, np.float64, np.complex64, np.complex128
dtype, finfo, iinfo = np.dtype, np.finfo, np.iinfo
pi, e, inf, nan, newaxis = np.pi, np.e, np.inf, np.nan, None


def _shape(shape, fname):
    shape = canonicalize_shape(shape, fname)
    if any(s < 0 for s in shape):
        raise ValueError(f"fxad.numpy.{fname}: negative dimensions are not allowed, got {shape}")
    return shape


def _dtype(dtype, default=dtypes.float_):
    return default if dtype is None else np.dtype(dtype)


def zeros(shape, dtype=None):
    """An array of zeros (float64 by default)."""
    return _full(_shape(shape, 'zeros'), 0, _dtype(dtype))


def ones(shape, dtype=None):
    """An array of ones (float64 by default)."""
    return _full(_shape(shape, 'ones'), 1, _dtype(dtype))


empty = zeros


def _fill_dtype(fill_value, dtype):
    """dtype if given, else fill_value's own (a Python scalar's default dtype)."""
    return get_aval(fill_value).dtype if dtype is None else np.dtype(dtype)


def full(shape, fill_value, dtype=None):
    """An array of shape `shape` filled with fill_value (broadcast if it is an array)."""
    return _fill(_shape(shape, 'full'), fill_value, dtype, weak_type=False)


def _fill(shape, fill_value, dtype, weak_type):
    fill_value = asarray_value(fill_value, 'full')
    dtype = _fill_dtype(fill_value, dtype)
    if get_aval(fill_value).ndim == 0:
        return _full(shape, fill_value, dtype, weak_type)
    from .shape_ops import broadcast_to
    return broadcast_to(lax.convert_element_type(fill_value, dtype, weak_type), shape)


def full_like(a, fill_value, dtype=None, shape=None):
    """An array like a (its shape and dtype unless given) filled with fill_value. Under
    transformations a weakly typed a gives a weakly typed result, as in JAX."""
    aval = get_aval(check_arg(a, 'full_like'))
    shape = aval.shape if shape is None else _shape(shape, 'full_like')
    weak_type = dtype is None and aval.weak_type
    return _fill(shape, fill_value, aval.dtype if dtype is None else dtype, weak_type)


def zeros_like(a, dtype=None, shape=None):
    """Zeros of a's shape and dtype; under transformations a broadcast of a scalar 0."""
    return full_like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    return full_like(a, 1, dtype, shape)


empty_like = zeros_like


def eye(N, M=None, k=0, dtype=None):
    """A 2-D array with ones on the k-th diagonal, as numpy.eye."""
    N = operator.index(N)
    M = N if M is None else operator.index(M)
    return np.eye(N, M, operator.index(k), dtype=_dtype(dtype))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop), as numpy.arange; the arguments must be concrete."""
    args = [concrete(v, 'arange', 'start, stop and step') for v in (start, stop, step) if v is not None]
    return np.arange(*args, dtype=None if dtype is None else np.dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """num evenly spaced values from start to stop, as numpy.linspace; start and stop may be
    traced (the result is then start + (stop - start) * fractions)."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"fxad.numpy.linspace: num must be non-negative, got {num}")
    if not isinstance(start, Tracer) and not isinstance(stop, Tracer):
        return np.linspace(start, stop, num, endpoint, retstep, None if dtype is None else np.dtype(dtype), axis)
    start, stop = broadcast_all('linspace', *promote_to_inexact('linspace', start, stop))
    aval = get_aval(start)
    div = num - 1 if endpoint else num
    # (1 - f) start + f stop hits both endpoints exactly; the new axis comes first, then moves.
    f = (np.arange(num) / div if div > 0 else np.zeros(num)).astype(aval.dtype)
    f = lax.broadcast_in_dim(f, (num,) + aval.shape, (0,))
    spread = [lax.broadcast_in_dim(x, (num,) + aval.shape, tuple(range(1, aval.ndim + 1))) for x in (start, stop)]
    out = lax.add(lax.mul(spread[0], lax.sub(scalar_like(f, 1), f)), lax.mul(spread[1], f))
    out = lax.moveaxis(out, 0, canonicalize_axis(axis, aval.ndim + 1, 'linspace'))
    if dtype is not None:
        out = lax.convert_element_type(out, np.dtype(dtype))
    if not retstep:
        return out
    return out, (ufuncs.true_divide(ufuncs.subtract(stop, start), div) if div > 0 else np.nan)


def asarray(a, dtype=None, order=None, *, copy=None):
    """a as an array: tracers stay tracers, sequences holding tracers are stacked, anything else
    becomes a NumPy array."""
    a = asarray_value(a, 'asarray')
    if isinstance(a, Tracer):
        return a if dtype is None else lax.convert_element_type(a, np.dtype(dtype))
    return np.asarray(a, dtype=None if dtype is None else np.dtype(dtype))


def array(object, dtype=None, copy=True, order='K', ndmin=0):
    """Like asarray, copying NumPy input; ndmin adds leading axes."""
    out = asarray(object, dtype)
    if isinstance(out, np.ndarray) and copy:
        out = out.copy()
    ndim = get_aval(out).ndim
    if ndmin > ndim:
        out = lax.reshape(out, (1,) * (ndmin - ndim) + get_aval(out).shape)
    return numpy_result(out)


def meshgrid(*xi, copy=True, sparse=False, indexing='xy'):
    """Coordinate arrays from 1-D coordinate vectors, as numpy.meshgrid (a tuple)."""
    if indexing not in ('xy', 'ij'):
        raise ValueError(f"fxad.numpy.meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [check_arg(x, 'meshgrid') for x in xi]
    xs = [lax.reshape(x, (get_aval(x).size,)) for x in xs]
    sizes = [get_aval(x).shape[0] for x in xs]
    n = len(xs)
    order = list(range(n))
    if indexing == 'xy' and n >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[order.index(i)] for i in range(n))
    out = []
    for i, x in enumerate(xs):
        dim = order[i]
        if sparse:
            out.append(lax.reshape(x, tuple(sizes[i] if d == dim else 1 for d in range(n))))
        else:
            out.append(lax.broadcast_in_dim(x, shape, (dim,)))
    return tuple(numpy_result(o) for o in out)
