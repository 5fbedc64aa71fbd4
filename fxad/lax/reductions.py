"""Reductions over axes, argmax/argmin, and cumulative reductions along one axis.

reduce_* take `axes`, a sorted tuple of the reduced axes; cum* take `axis` and `reverse`.
reduce_sum and cumsum are linear; the JVPs of max, min and prod stay exact with ties and zeros.
"""

__all__ = ['reduce_sum', 'reduce_max', 'reduce_min', 'reduce_prod', 'reduce_and', 'reduce_or',
           'argmax', 'argmin', 'cumsum', 'cumprod', 'cummax', 'cummin']

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad
from ..interpreters.ad import Zero
from .elementwise import add, convert_element_type, div, eq, ge, le, mul, select_n
from .elementwise import max as lax_max, min as lax_min
from .shapes import broadcast_in_dim, normalize_dims, pad, reshape, transpose
from .utils import INTEGRAL, NUMBER, _check_dtype_kinds, shape_str

ORDERED = 'fiub'


def _reduced_shape(name, x, axes):
    for a in axes:
        if not 0 <= a < x.ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for an array of shape {shape_str(x.shape)}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axes {axes} for an array of shape {shape_str(x.shape)}")
    return tuple(s for i, s in enumerate(x.shape) if i not in axes)


def _canonical_axes(axes, ndim):
    # Reducing a rank-0 array over any axes is the identity.
    return tuple(sorted(normalize_dims(axes, ndim))) if ndim else ()


def _batch_axes(axes, d):
    """The reduced axes of the batched operand (batch dim d stays)."""
    return tuple(a + (a >= d) for a in axes)


def _out_batch_dim(axes, d):
    """Where batch dim d lands once `axes` are reduced: left by the reduced axes before it."""
    return d - sum(1 for a in axes if a < d)


def _reduction_batch(prim):
    def rule(vals, dims, *, axes, **params):
        axes = _batch_axes(axes, dims[0])
        return prim.bind(vals[0], axes=axes, **params), _out_batch_dim(axes, dims[0])
    return rule


def _reduction(name, impl, kinds):
    """A reduction over `axes` that keeps the dtype."""
    prim = Primitive(name)
    prim.impl = impl

    def abstract_eval(x, *, axes):
        _check_dtype_kinds(name, [x], kinds)
        return ShapedArray(_reduced_shape(name, x, axes), x.dtype, x.weak_type)
    prim.abstract_eval = abstract_eval
    prim.batch = _reduction_batch(prim)
    return prim


def _reduce(prim, x, axes):
    axes = _canonical_axes(axes, get_aval(x).ndim)
    if not axes:
        return x
    return prim.bind(x, axes=axes)


def _kept(ndim, axes):
    return tuple(i for i in range(ndim) if i not in axes)


# ---------------------------------------------------------------------------------------------
# reduce_sum (linear), reduce_max, reduce_min, reduce_prod, reduce_and, reduce_or


def _lowest(dtype):
    if dtype.kind == 'f':
        return -np.inf
    return False if dtype.kind == 'b' else np.iinfo(dtype).min


def _highest(dtype):
    if dtype.kind == 'f':
        return np.inf
    return True if dtype.kind == 'b' else np.iinfo(dtype).max


reduce_sum_p = _reduction('reduce_sum', lambda x, *, axes: np.sum(x, axis=axes, dtype=x.dtype), NUMBER)
reduce_max_p = _reduction('reduce_max', lambda x, *, axes: np.max(x, axis=axes, initial=_lowest(x.dtype)),
                          ORDERED)
reduce_min_p = _reduction('reduce_min', lambda x, *, axes: np.min(x, axis=axes, initial=_highest(x.dtype)),
                          ORDERED)
reduce_prod_p = _reduction('reduce_prod', lambda x, *, axes: np.prod(x, axis=axes, dtype=x.dtype), NUMBER)
reduce_and_p = _reduction('reduce_and', lambda x, *, axes: np.bitwise_and.reduce(x, axis=axes), INTEGRAL)
reduce_or_p = _reduction('reduce_or', lambda x, *, axes: np.bitwise_or.reduce(x, axis=axes), INTEGRAL)


def reduce_sum(x, axes): return _reduce(reduce_sum_p, x, axes)
def reduce_max(x, axes): return _reduce(reduce_max_p, x, axes)
def reduce_min(x, axes): return _reduce(reduce_min_p, x, axes)
def reduce_prod(x, axes): return _reduce(reduce_prod_p, x, axes)
def reduce_and(x, axes): return _reduce(reduce_and_p, x, axes)
def reduce_or(x, axes): return _reduce(reduce_or_p, x, axes)


def _reduce_sum_transpose(ct, x, *, axes):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [broadcast_in_dim(ct, x.aval.shape, _kept(x.aval.ndim, axes))]


def _chooser_jvp(g, ans, x, *, axes):
    # The tangent is shared evenly among the positions attaining the extremum (JAX's rule).
    x_aval = get_aval(x)
    at_extremum = convert_element_type(eq(x, broadcast_in_dim(ans, x_aval.shape, _kept(x_aval.ndim, axes))),
                                       get_aval(g).dtype)
    return div(reduce_sum(mul(g, at_extremum), axes), reduce_sum(at_extremum, axes))


def _reduce_prod_jvp(g, x, *, axes):
    # d prod(x) / dx_i = (product of the x_j before i) * (product of the x_j after i): exact with zeros.
    x, g = _reduced_axes_last(x, axes), _reduced_axes_last(g, axes)
    last = get_aval(x).ndim - 1
    before = _exclusive_cumprod(x, last, reverse=False)
    after = _exclusive_cumprod(x, last, reverse=True)
    return reduce_sum(mul(g, mul(before, after)), (last,))


def _reduced_axes_last(x, axes):
    """x with its kept axes first and the reduced axes flattened into one last axis."""
    shape = get_aval(x).shape
    kept = _kept(len(shape), axes)
    x = transpose(x, kept + tuple(axes))
    return reshape(x, tuple(shape[i] for i in kept) + (int(np.prod([shape[a] for a in axes])),))


def _exclusive_cumprod(x, axis, reverse):
    one = np.ones((), get_aval(x).dtype)[()]
    return _shift(cumprod(x, axis, reverse), 1, one, axis, reverse)


ad.deflinear(reduce_sum_p, _reduce_sum_transpose)
ad.defjvp2(reduce_max_p, _chooser_jvp)
ad.defjvp2(reduce_min_p, _chooser_jvp)
ad.defjvp(reduce_prod_p, _reduce_prod_jvp)
ad.defjvp_zero(reduce_and_p)
ad.defjvp_zero(reduce_or_p)

# ---------------------------------------------------------------------------------------------
# argmax, argmin: the first index of the extremum along one axis (NaN-free inputs)


def _arg_reduction(name, np_fn):
    prim = Primitive(name)

    def impl(x, *, axes, index_dtype):
        return np.asarray(np_fn(x, axis=axes[0])).astype(index_dtype)[()]

    def abstract_eval(x, *, axes, index_dtype):
        _check_dtype_kinds(name, [x], ORDERED)
        if index_dtype.kind not in 'iu':
            raise TypeError(f"{name}: index_dtype must be an integer dtype, got {index_dtype.name}")
        shape = _reduced_shape(name, x, axes)
        if len(axes) != 1 or x.shape[axes[0]] == 0:
            raise ValueError(f"{name}: needs one non-empty axis of the operand of shape {shape_str(x.shape)}, "
                             f"got axes {axes}")
        return ShapedArray(shape, index_dtype)
    prim.impl = impl
    prim.abstract_eval = abstract_eval
    prim.batch = _reduction_batch(prim)
    ad.defjvp_zero(prim)
    return prim


argmax_p = _arg_reduction('argmax', np.argmax)
argmin_p = _arg_reduction('argmin', np.argmin)


def _arg(prim, x, axis, index_dtype):
    axes = normalize_dims((axis,), get_aval(x).ndim)
    return prim.bind(x, axes=axes, index_dtype=np.dtype(index_dtype))


def argmax(x, axis, index_dtype): return _arg(argmax_p, x, axis, index_dtype)
def argmin(x, axis, index_dtype): return _arg(argmin_p, x, axis, index_dtype)


# ---------------------------------------------------------------------------------------------
# cumsum (linear), cumprod, cummax, cummin: inclusive scans along `axis`, from the end if reverse


def _cumulative(name, np_fn, kinds):
    prim = Primitive(name)

    def impl(x, *, axis, reverse):
        x = np.asarray(x)
        if reverse:
            return np.flip(np_fn(np.flip(x, axis), axis), axis)
        return np_fn(x, axis)

    def abstract_eval(x, *, axis, reverse):
        _check_dtype_kinds(name, [x], kinds)
        if not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis} is out of bounds for an array of shape {shape_str(x.shape)}")
        return ShapedArray(x.shape, x.dtype, x.weak_type)

    def batch(vals, dims, *, axis, reverse):
        d = dims[0]
        return prim.bind(vals[0], axis=axis + (axis >= d), reverse=reverse), d
    prim.impl = impl
    prim.abstract_eval = abstract_eval
    prim.batch = batch
    return prim


cumsum_p = _cumulative('cumsum', lambda x, axis: np.cumsum(x, axis, dtype=x.dtype), NUMBER)
cumprod_p = _cumulative('cumprod', lambda x, axis: np.cumprod(x, axis, dtype=x.dtype), NUMBER)
cummax_p = _cumulative('cummax', np.maximum.accumulate, ORDERED)
cummin_p = _cumulative('cummin', np.minimum.accumulate, ORDERED)


def _cum(prim, x, axis, reverse):
    axis, = normalize_dims((axis,), get_aval(x).ndim)
    return prim.bind(x, axis=axis, reverse=bool(reverse))


def cumsum(x, axis=0, reverse=False): return _cum(cumsum_p, x, axis, reverse)
def cumprod(x, axis=0, reverse=False): return _cum(cumprod_p, x, axis, reverse)
def cummax(x, axis=0, reverse=False): return _cum(cummax_p, x, axis, reverse)
def cummin(x, axis=0, reverse=False): return _cum(cummin_p, x, axis, reverse)


def _shift(x, s, fill, axis, reverse):
    """x moved s places along axis in scan order, the vacated places holding `fill`."""
    config = [(0, 0, 0)] * get_aval(x).ndim
    config[axis] = (-s, s, 0) if reverse else (s, -s, 0)
    return pad(x, fill, config)


def _prefix_scan(combine, elems, fills, axis, reverse):
    """Hillis-Steele inclusive scan of combine(earlier, later) over tuples of arrays.

    After the step with shift s, position k combines the 2s elements ending at k in scan order
    (fills, combine's identity, stand in before the start): log2(n) steps of whole-array ops.
    """
    n = get_aval(elems[0]).shape[axis]
    s = 1
    while s < n:
        earlier = tuple(_shift(e, s, f, axis, reverse) for e, f in zip(elems, fills))
        elems = combine(earlier, elems)
        s *= 2
    return elems


def _scan_jvp(combine, identity):
    """The JVP of a cumulative op as a scan over (value, tangent) pairs, built from differentiable ops."""
    def jvp(g, x, *, axis, reverse):
        dtype = get_aval(x).dtype
        fills = (np.asarray(identity(dtype), dtype)[()], np.zeros((), dtype)[()])
        return _prefix_scan(combine, (x, g), fills, axis, reverse)[1]
    return jvp


def _prod_pairs(earlier, later):
    (a, ta), (b, tb) = earlier, later
    return mul(a, b), add(mul(ta, b), mul(a, tb))


def _max_pairs(earlier, later):
    # The tangent follows the running maximum; on ties the earlier position wins.
    (a, ta), (b, tb) = earlier, later
    return lax_max(a, b), select_n(ge(a, b), tb, ta)


def _min_pairs(earlier, later):
    (a, ta), (b, tb) = earlier, later
    return lax_min(a, b), select_n(le(a, b), tb, ta)


def _cumsum_transpose(ct, x, *, axis, reverse):
    # cumsum is a lower-triangular ones matrix L along axis; L^T sums the other way round.
    return [Zero(x.aval) if type(ct) is Zero else cumsum(ct, axis, not reverse)]


ad.deflinear(cumsum_p, _cumsum_transpose)
ad.defjvp(cumprod_p, _scan_jvp(_prod_pairs, lambda dtype: 1))
ad.defjvp(cummax_p, _scan_jvp(_max_pairs, _lowest))
ad.defjvp(cummin_p, _scan_jvp(_min_pairs, _highest))
