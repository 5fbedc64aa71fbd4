"""Reductions and scans under NumPy's names (sum, mean, var, max, argmax, cumsum, all, ...).

Each lowers onto one lax reduction over the canonical axes; mean, var, std, the nan-ignoring
reductions and median (by sorting) are compositions.
"""
import builtins
import math

import numpy as np

from .. import dtypes, lax
from ..core import get_aval
from .util import broadcast_to_shape, canonicalize_axes, canonicalize_axis, check_arg, full, numpy_result
from . import ufuncs

__all__ = ['sum', 'mean', 'var', 'std', 'prod', 'max', 'min', 'amax', 'amin', 'ptp', 'argmax',
           'argmin', 'cumsum', 'cumprod', 'all', 'any', 'count_nonzero', 'average', 'allclose', 'nansum',
           'nanmean', 'median']


def _arg(a, fname, out=None, where=None):
    if out is not None:
        raise TypeError(f"fxad.numpy.{fname}: out= is not supported (fxad arrays are immutable)")
    if where is not None:
        raise NotImplementedError(f"fxad.numpy.{fname}: where= is not supported")
    return check_arg(a, fname)


def _astype(x, dtype):
    aval = get_aval(x)
    return x if aval.dtype == dtype else lax.convert_element_type(x, dtype, aval.weak_type)


def _accumulation_dtype(dtype):
    """NumPy's sum/prod/cumsum dtype: booleans and small integers accumulate in 64 bits."""
    if dtype.kind == 'b' or (dtype.kind == 'i' and dtype.itemsize < 8):
        return dtypes.int_
    if dtype.kind == 'u' and dtype.itemsize < 8:
        return np.dtype('uint64')
    return dtype


def _inexact_dtype(dtype):
    return dtype if dtypes.is_float(dtype) else dtypes.float_


def _keepdims(out, axes, keepdims):
    return numpy_result(lax.expand_dims(out, axes) if keepdims else out)


def _count(shape, axes):
    return math.prod(shape[i] for i in axes)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum over axis (None: all axes), as numpy.sum."""
    a = _arg(a, 'sum', out, where)
    axes = canonicalize_axes(axis, get_aval(a).ndim, 'sum')
    dtype = _accumulation_dtype(get_aval(a).dtype) if dtype is None else np.dtype(dtype)
    result = lax.reduce_sum(_astype(a, dtype), axes)
    if initial is not None:
        result = lax.add(result, dtype.type(initial))
    return _keepdims(result, axes, keepdims)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product over axis (None: all axes), as numpy.prod."""
    a = _arg(a, 'prod', out, where)
    axes = canonicalize_axes(axis, get_aval(a).ndim, 'prod')
    dtype = _accumulation_dtype(get_aval(a).dtype) if dtype is None else np.dtype(dtype)
    result = lax.reduce_prod(_astype(a, dtype), axes)
    if initial is not None:
        result = lax.mul(result, dtype.type(initial))
    return _keepdims(result, axes, keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over axis; integers average in float64, as numpy.mean."""
    a = _arg(a, 'mean', out, where)
    aval = get_aval(a)
    axes = canonicalize_axes(axis, aval.ndim, 'mean')
    dtype = _inexact_dtype(aval.dtype) if dtype is None else np.dtype(dtype)
    total = lax.reduce_sum(_astype(a, dtype), axes)
    return _keepdims(lax.div(total, dtype.type(_count(aval.shape, axes))), axes, keepdims)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Variance sum((a - mean)**2) / (n - ddof) over axis, as numpy.var."""
    a = _arg(a, 'var', out, where)
    if mean is not None:
        raise NotImplementedError("fxad.numpy.var: mean= is not supported")
    if correction is not None:
        ddof = correction
    aval = get_aval(a)
    if aval.dtype.kind == 'c':
        raise NotImplementedError("fxad.numpy.var of a complex array: fxad has no complex "
                                  "real/conj primitives yet")
    axes = canonicalize_axes(axis, aval.ndim, 'var')
    dtype = _inexact_dtype(aval.dtype) if dtype is None else np.dtype(dtype)
    a = _astype(a, dtype)
    n = _count(aval.shape, axes)
    kept = tuple(i for i in range(aval.ndim) if i not in axes)
    centered = lax.sub(a, lax.broadcast_in_dim(lax.div(lax.reduce_sum(a, axes), dtype.type(n)), aval.shape, kept))
    total = lax.reduce_sum(lax.square(centered), axes)
    # As NumPy, no negative divisor: ddof >= n gives inf or nan (0 / 0).
    return _keepdims(lax.div(total, dtype.type(builtins.max(n - ddof, 0))), axes, keepdims)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Standard deviation sqrt(var), as numpy.std."""
    return lax.sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean, correction=correction))


def _extremum(name, lax_reduce, lax_binary):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        a = _arg(a, name, out, where)
        aval = get_aval(a)
        axes = canonicalize_axes(axis, aval.ndim, name)
        if initial is None and 0 in [aval.shape[i] for i in axes]:  # `any` is fnp.any here
            raise ValueError(f"fxad.numpy.{name}: zero-size array (shape {aval.shape}) to a "
                             f"reduction operation which has no identity; pass initial=")
        result = lax_reduce(a, axes)
        if initial is not None:
            result = lax_binary(result, aval.dtype.type(initial))
        return _keepdims(result, axes, keepdims)
    fn.__name__ = name
    fn.__doc__ = f"The {name}imum over axis (None: all axes), as numpy.{name}."
    return fn


max = _extremum('max', lax.reduce_max, lax.max)
min = _extremum('min', lax.reduce_min, lax.min)
amax, amin = max, min


def ptp(a, axis=None, out=None, keepdims=False):
    """max - min over axis, as numpy.ptp."""
    return ufuncs.subtract(max(a, axis, out, keepdims), min(a, axis, out, keepdims))


def _arg_extremum(name, lax_fn):
    def fn(a, axis=None, out=None, *, keepdims=False):
        a = _arg(a, name, out)
        aval = get_aval(a)
        if axis is not None:
            axis = canonicalize_axis(axis, aval.ndim, name)
        if (aval.size if axis is None else aval.shape[axis]) == 0:
            raise ValueError(f"fxad.numpy.{name}: attempt to get {name} of an empty sequence "
                             f"(shape {aval.shape}, axis {axis})")
        if axis is None:
            result = lax_fn(lax.reshape(a, (aval.size,)), 0, dtypes.int_)
            return numpy_result(lax.reshape(result, (1,) * aval.ndim) if keepdims else result)
        return _keepdims(lax_fn(a, axis, dtypes.int_), (axis,), keepdims)
    fn.__name__ = name
    fn.__doc__ = f"Index of the first {name[3:]}imum along axis (None: of the flattened array)."
    return fn


argmax = _arg_extremum('argmax', lax.argmax)
argmin = _arg_extremum('argmin', lax.argmin)


def _scan(name, lax_fn):
    def fn(a, axis=None, dtype=None, out=None):
        a = _arg(a, name, out)
        aval = get_aval(a)
        if axis is None:
            a, axis = lax.reshape(a, (aval.size,)), 0
        else:
            axis = canonicalize_axis(axis, aval.ndim, name)
        dtype = _accumulation_dtype(aval.dtype) if dtype is None else np.dtype(dtype)
        return lax_fn(_astype(a, dtype), axis)
    fn.__name__ = name
    fn.__doc__ = f"Running {name[3:]} along axis (None: of the flattened array), as numpy.{name}."
    return fn


cumsum = _scan('cumsum', lax.cumsum)
cumprod = _scan('cumprod', lax.cumprod)


def _truth(name, lax_reduce):
    def fn(a, axis=None, out=None, keepdims=False, *, where=None):
        a = _arg(a, name, out, where)
        aval = get_aval(a)
        axes = canonicalize_axes(axis, aval.ndim, name)
        truth = a if aval.dtype == dtypes.bool_ else ufuncs.not_equal(a, 0)
        return _keepdims(lax_reduce(truth, axes), axes, keepdims)
    fn.__name__ = name
    fn.__doc__ = f"Whether {name} element along axis is true (nonzero), as numpy.{name}."
    return fn


all = _truth('all', lax.reduce_and)
any = _truth('any', lax.reduce_or)


def count_nonzero(a, axis=None, *, keepdims=False):
    """The number of nonzero values along axis, as numpy.count_nonzero (int64)."""
    a = check_arg(a, 'count_nonzero')
    return sum(_astype(ufuncs.not_equal(a, 0), dtypes.int_), axis, keepdims=keepdims)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean sum(a * w) / sum(w) along axis, as numpy.average."""
    a = check_arg(a, 'average')
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        if not returned:
            return avg
        aval = get_aval(a)
        n = _count(aval.shape, canonicalize_axes(axis, aval.ndim, 'average'))
        return avg, full(get_aval(avg).shape, n, get_aval(avg).dtype)
    w = check_arg(weights, 'average')
    a_shape, w_shape = get_aval(a).shape, get_aval(w).shape
    if w_shape != a_shape:
        if axis is None or len(w_shape) != 1:
            raise TypeError(f"fxad.numpy.average: weights of shape {w_shape} differ from a's shape "
                            f"{a_shape}; give axis and 1-D weights")
        axis = canonicalize_axis(axis, len(a_shape), 'average')
        if w_shape[0] != a_shape[axis]:
            raise ValueError(f"fxad.numpy.average: weights of length {w_shape[0]} do not match "
                             f"axis {axis} of a, of shape {a_shape}")
        w = lax.broadcast_in_dim(w, a_shape, (axis,))
    w_sum = sum(w, axis, keepdims=keepdims)
    avg = ufuncs.true_divide(sum(ufuncs.multiply(a, w), axis, keepdims=keepdims), w_sum)
    if not returned:
        return avg
    return avg, numpy_result(broadcast_to_shape(w_sum, get_aval(avg).shape))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of a is close to b (see isclose)."""
    return all(ufuncs.isclose(a, b, rtol, atol, equal_nan))


def _zero_nans(a):
    """a with its NaNs replaced by zeros (which a sum ignores)."""
    aval = get_aval(a)
    if not dtypes.is_float(aval.dtype):
        return a
    return lax.select_n(ufuncs.isnan(a), a, full(aval.shape, 0, aval.dtype))


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum over axis treating NaNs as zero, as numpy.nansum."""
    a = _arg(a, 'nansum', out, where)
    return sum(_zero_nans(a), axis, dtype, keepdims=keepdims, initial=initial)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Mean of the non-NaN values over axis (NaN for an all-NaN slice), as numpy.nanmean."""
    a = _arg(a, 'nanmean', out, where)
    aval = get_aval(a)
    if not dtypes.is_float(aval.dtype):
        return mean(a, axis, dtype, keepdims=keepdims)
    dtype = aval.dtype if dtype is None else np.dtype(dtype)
    count = sum(ufuncs.logical_not(ufuncs.isnan(a)), axis, dtype, keepdims=keepdims)
    return ufuncs.true_divide(nansum(a, axis, dtype, keepdims=keepdims), count)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over axis (None: all axes), as numpy.median: the reduced axes, merged into a
    last one, are sorted and the middle value (or the mean of the middle two) taken; a slice
    holding a NaN has median NaN (sorting puts it last)."""
    a = _arg(a, 'median', out)
    aval = get_aval(a)
    axes = canonicalize_axes(axis, aval.ndim, 'median')
    dtype = _inexact_dtype(aval.dtype)
    kept = [i for i in range(aval.ndim) if i not in axes]
    kept_shape = tuple(aval.shape[i] for i in kept)
    n = _count(aval.shape, axes)
    if n == 0:
        return _keepdims(full(kept_shape, np.nan, dtype), axes, keepdims)
    x = lax.reshape(lax.transpose(_astype(a, dtype), kept + list(axes)), kept_shape + (n,))
    x = lax.sort(x, dimension=len(kept))
    middle = [lax.index_in_dim(x, i, len(kept), keepdims=False) for i in sorted({(n - 1) // 2, n // 2})]
    result = middle[0] if n % 2 else lax.div(lax.add(*middle), dtype.type(2))
    largest = lax.index_in_dim(x, n - 1, len(kept), keepdims=False)
    return _keepdims(lax.select_n(ufuncs.isnan(largest), result, largest), axes, keepdims)
