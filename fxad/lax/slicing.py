"""Slicing and indexing primitives: slice, dynamic_slice, dynamic_update_slice, gather and the
scatter family (set, add, mul, min, max), with XLA's gather/scatter dimension numbers.

Out of bounds: `slice` rejects bad bounds; dynamic_slice, dynamic_update_slice and gather or
scatter with mode='clip' clamp every window into the operand (XLA's rule); gather with
mode='fill' gives fill_value for, and scatter with mode='drop' skips, a window not wholly inside.
"""

__all__ = ['GatherDimensionNumbers', 'ScatterDimensionNumbers', 'slice', 'slice_in_dim',
           'index_in_dim', 'dynamic_slice', 'dynamic_update_slice', 'dynamic_slice_in_dim',
           'dynamic_index_in_dim', 'dynamic_update_slice_in_dim', 'gather', 'scatter', 'scatter_add',
           'scatter_mul', 'scatter_min', 'scatter_max']

import builtins
import dataclasses

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, Tracer, get_aval
from ..interpreters import ad, batching
from ..interpreters.ad import Zero, is_undefined_primal
from .elementwise import add, convert_element_type, div, eq, lt, mul, select_n
from .shapes import broadcast_in_dim, concatenate, iota, moveaxis, pad, reshape, squeeze
from .utils import aval_of, shape_str

_py_slice = builtins.slice
_INDEX_DTYPE = np.dtype(np.int64)


def _scalar(value, dtype):
    return np.asarray(value, dtype)[()]


def _full(shape, value, dtype):
    return broadcast_in_dim(_scalar(value, dtype), tuple(shape), ())


def _zeros_like(x):
    aval = get_aval(x)
    return _full(aval.shape, 0, aval.dtype)


def _where(mask, x):
    """x where mask holds, zero elsewhere."""
    return select_n(mask, _zeros_like(x), x)


def _as_index(i):
    if isinstance(i, Tracer):
        return convert_element_type(i, _INDEX_DTYPE)
    return _scalar(i, _INDEX_DTYPE)


def _check_start_indices(name, shape, starts):
    if len(starts) != len(shape):
        raise TypeError(f"{name}: an operand of shape {shape_str(shape)} needs {len(shape)} start "
                        f"indices, got {len(starts)}")
    for i, s in enumerate(starts):
        if s.shape or not dtypes.is_integer(s.dtype):
            raise TypeError(f"{name}: start index {i} must be an integer scalar, got {s.str_short()}")


def _normalize_start(i, size):
    """A start index counted from the end when negative, as NumPy and JAX count."""
    aval = get_aval(i)
    if aval.shape or not dtypes.is_integer(aval.dtype):
        return i   # the shape rule reports it
    if not isinstance(i, Tracer):
        i = int(i)
        return _scalar(i + size if i < 0 else i, _INDEX_DTYPE)
    dtype = i.aval.dtype
    if dtype.kind == 'u':
        return i
    return select_n(lt(i, _scalar(0, dtype)), i, add(i, _scalar(size, dtype)))


def _clamped_starts(shape, starts, sizes):
    return [builtins.min(builtins.max(int(s), 0), n - k) for n, s, k in zip(shape, starts, sizes)]


# ---------------------------------------------------------------------------------------------
# slice: x[start:limit:stride] along every dim, with static bounds

slice_p = Primitive('slice')


def _slice_impl(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    return np.asarray(x)[tuple(_py_slice(s, l, st) for s, l, st in zip(start_indices, limit_indices, strides))]


def _slice_abstract_eval(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise TypeError(f"slice: an operand of shape {shape_str(x.shape)} needs {x.ndim} start, limit "
                        f"and stride values, got start_indices {start_indices}, limit_indices "
                        f"{limit_indices} and strides {strides}")
    for d, (n, s, l, st) in enumerate(zip(x.shape, start_indices, limit_indices, strides)):
        if not 0 <= s <= l <= n or st < 1:
            raise ValueError(f"slice: start_indices {start_indices}, limit_indices {limit_indices} and "
                             f"strides {strides} are invalid for an operand of shape {shape_str(x.shape)}: "
                             f"dimension {d} needs 0 <= start <= limit <= {n} and stride >= 1")
    shape = tuple(-(-(l - s) // st) for s, l, st in zip(start_indices, limit_indices, strides))
    return ShapedArray(shape, x.dtype, x.weak_type)


def _slice_transpose(ct, x, *, start_indices, limit_indices, strides):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    # ct holds the elements start, start + stride, ...: pad puts them back on that grid, zeros around.
    strides = strides or (1,) * x.aval.ndim
    config = []
    for n, s, st, m in zip(x.aval.shape, start_indices, strides, get_aval(ct).shape):
        last = s + (m - 1) * st + 1 if m else s
        config.append((s, n - last, st - 1))
    return [pad(ct, _scalar(0, get_aval(ct).dtype), config)]


def _slice_batch(vals, dims, *, start_indices, limit_indices, strides):
    x, = vals
    d, = dims
    size = get_aval(x).shape[d]
    starts, limits = list(start_indices), list(limit_indices)
    starts.insert(d, 0)
    limits.insert(d, size)
    strides = None if strides is None else strides[:d] + (1,) + strides[d:]
    return slice_p.bind(x, start_indices=tuple(starts), limit_indices=tuple(limits), strides=strides), d


slice_p.impl = _slice_impl
slice_p.abstract_eval = _slice_abstract_eval
slice_p.batch = _slice_batch
ad.deflinear(slice_p, _slice_transpose)


def slice(x, start_indices, limit_indices, strides=None):
    """x[start:limit:stride] along every dimension (static, non-negative Python ints)."""
    start_indices = tuple(int(i) for i in start_indices)
    limit_indices = tuple(int(i) for i in limit_indices)
    if strides is not None:
        strides = tuple(int(s) for s in strides)
        if all(s == 1 for s in strides):
            strides = None
    if strides is None and not any(start_indices) and limit_indices == get_aval(x).shape:
        return x
    return slice_p.bind(x, start_indices=start_indices, limit_indices=limit_indices, strides=strides)


def slice_in_dim(x, start_index, limit_index, stride=1, axis=0):
    """x[..., start:limit:stride, ...] along `axis`; None and negative bounds as in Python."""
    shape = get_aval(x).shape
    axis = int(axis) % len(shape)
    start, limit, _ = _py_slice(start_index, limit_index).indices(shape[axis])
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, builtins.max(start, limit), int(stride)
    return slice(x, starts, limits, strides)


def index_in_dim(x, index, axis=0, keepdims=True):
    """x[..., index, ...] along `axis` for a static index (negative counts from the end)."""
    shape = get_aval(x).shape
    axis = int(axis) % len(shape)
    index = int(index)
    if not -shape[axis] <= index < shape[axis]:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {shape[axis]}")
    index %= shape[axis]
    out = slice_in_dim(x, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# ---------------------------------------------------------------------------------------------
# dynamic_slice: a window of static size at traced start indices (one scalar operand per dim)

dynamic_slice_p = Primitive('dynamic_slice')


def _dynamic_slice_impl(x, *starts, slice_sizes):
    x = np.asarray(x)
    starts = _clamped_starts(x.shape, starts, slice_sizes)
    return x[tuple(_py_slice(s, s + k) for s, k in zip(starts, slice_sizes))]


def _dynamic_slice_abstract_eval(x, *starts, slice_sizes):
    _check_start_indices('dynamic_slice', x.shape, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= k <= n for k, n in zip(slice_sizes, x.shape)):
        raise ValueError(f"dynamic_slice: slice_sizes {slice_sizes} need one size per dimension of the "
                         f"operand of shape {shape_str(x.shape)}, each between 0 and that dimension")
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


def _dynamic_slice_jvp(g, x, *starts, slice_sizes):
    return dynamic_slice_p.bind(g, *starts, slice_sizes=slice_sizes)


def _dynamic_slice_transpose(ct, x, *starts, slice_sizes):
    no_starts = [None] * len(starts)
    if type(ct) is Zero:
        return [Zero(x.aval)] + no_starts
    return [dynamic_update_slice_p.bind(_full(x.aval.shape, 0, x.aval.dtype), ct, *starts)] + no_starts


def _start_index_vector(starts, dims, size):
    """The start indices as one (size, len(starts)) index array, batch dim first."""
    cols = [broadcast_in_dim(_as_index(s), (size, 1), () if d is None else (0,)) for s, d in zip(starts, dims)]
    return concatenate(cols, 1)


def _identity_window_dnums(ndim):
    dims = tuple(range(ndim))
    return GatherDimensionNumbers(offset_dims=dims, collapsed_slice_dims=(), start_index_map=dims)


def _dynamic_slice_batch(vals, dims, *, slice_sizes):
    x, *starts = vals
    xd, *start_dims = dims
    size = batching.batch_size(vals, dims)
    if all(d is None for d in start_dims):
        x = moveaxis(x, xd, 0)
        return dynamic_slice_p.bind(x, _scalar(0, _INDEX_DTYPE), *starts, slice_sizes=(size,) + slice_sizes), 0
    # Batched starts: one gather of a whole window per example (as JAX lowers it).
    index = _start_index_vector(starts, start_dims, size)
    return _gather_batch([x, index], [xd, 0], dimension_numbers=_identity_window_dnums(len(slice_sizes)),
                         slice_sizes=slice_sizes, mode='clip', fill_value=None)


dynamic_slice_p.impl = _dynamic_slice_impl
dynamic_slice_p.abstract_eval = _dynamic_slice_abstract_eval
dynamic_slice_p.batch = _dynamic_slice_batch
ad.defjvp(dynamic_slice_p, _dynamic_slice_jvp)
dynamic_slice_p.transpose = _dynamic_slice_transpose


def dynamic_slice(x, start_indices, slice_sizes):
    """The window of shape slice_sizes at start_indices (scalars, possibly traced).

    Negative starts count from the end; starts are then clamped so the window fits (XLA's rule).
    """
    shape = get_aval(x).shape
    starts = [_normalize_start(i, n) for i, n in zip(start_indices, shape)]
    if len(starts) != len(start_indices):
        starts = list(start_indices)  # the shape rule reports the count
    return dynamic_slice_p.bind(x, *starts, slice_sizes=tuple(int(k) for k in slice_sizes))


def dynamic_slice_in_dim(x, start_index, slice_size, axis=0):
    shape = get_aval(x).shape
    axis = int(axis) % len(shape)
    starts = [0] * len(shape)
    starts[axis] = start_index
    sizes = list(shape)
    sizes[axis] = slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(x, index, axis=0, keepdims=True):
    """x[..., index, ...] along `axis` for a possibly traced index."""
    axis = int(axis) % get_aval(x).ndim
    out = dynamic_slice_in_dim(x, index, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# ---------------------------------------------------------------------------------------------
# dynamic_update_slice: x with the window at start_indices replaced by update

dynamic_update_slice_p = Primitive('dynamic_update_slice')


def _dynamic_update_slice_impl(x, update, *starts):
    out = np.array(x)
    update = np.asarray(update)
    starts = _clamped_starts(out.shape, starts, update.shape)
    out[tuple(_py_slice(s, s + k) for s, k in zip(starts, update.shape))] = update
    return out


def _dynamic_update_slice_abstract_eval(x, update, *starts):
    _check_start_indices('dynamic_update_slice', x.shape, starts)
    if update.ndim != x.ndim or any(k > n for k, n in zip(update.shape, x.shape)):
        raise ValueError(f"dynamic_update_slice: an update of shape {shape_str(update.shape)} does not fit "
                         f"in an operand of shape {shape_str(x.shape)}")
    if update.dtype != x.dtype:
        raise TypeError(f"dynamic_update_slice: the update's dtype {update.dtype.name} differs from the "
                        f"operand's {x.dtype.name}")
    return ShapedArray(x.shape, x.dtype, x.weak_type)


def _dynamic_update_slice_jvp(primals, tangents):
    x, update, *starts = primals
    t_x, t_update = tangents[:2]
    out = dynamic_update_slice_p.bind(x, update, *starts)
    if type(t_x) is Zero and type(t_update) is Zero:
        return out, Zero(ad.tangent_aval(get_aval(out)))
    # Linear in (x, update) jointly.
    return out, dynamic_update_slice_p.bind(ad.instantiate_zeros(t_x), ad.instantiate_zeros(t_update), *starts)


def _dynamic_update_slice_transpose(ct, x, update, *starts):
    x_aval, u_aval = aval_of(x), aval_of(update)
    no_starts = [None] * len(starts)
    if type(ct) is Zero:
        return [Zero(x_aval) if is_undefined_primal(x) else None,
                Zero(u_aval) if is_undefined_primal(update) else None] + no_starts
    ct_x = ct_update = None
    if is_undefined_primal(x):
        ct_x = dynamic_update_slice_p.bind(ct, _full(u_aval.shape, 0, u_aval.dtype), *starts)
    if is_undefined_primal(update):
        ct_update = dynamic_slice_p.bind(ct, *starts, slice_sizes=u_aval.shape)
    return [ct_x, ct_update] + no_starts


def _dynamic_update_slice_batch(vals, dims):
    x, update, *starts = vals
    xd, ud, *start_dims = dims
    size = batching.batch_size(vals, dims)
    x = batching.matchaxis(size, xd, 0, x)
    update = batching.matchaxis(size, ud, 0, update)
    if all(d is None for d in start_dims):
        return dynamic_update_slice_p.bind(x, update, _scalar(0, _INDEX_DTYPE), *starts), 0
    # Batched starts: one scatter of a whole clamped window per example (as JAX lowers it).
    ndim = get_aval(update).ndim - 1
    dims_all = tuple(range(ndim))
    dnums = ScatterDimensionNumbers(update_window_dims=dims_all, inserted_window_dims=(),
                                    scatter_dims_to_operand_dims=dims_all)
    index = _start_index_vector(starts, start_dims, size)
    return _scatter_batch(scatter_p)([x, index, update], [0, 0, 0], dimension_numbers=dnums, mode='clip')


dynamic_update_slice_p.impl = _dynamic_update_slice_impl
dynamic_update_slice_p.abstract_eval = _dynamic_update_slice_abstract_eval
dynamic_update_slice_p.jvp = _dynamic_update_slice_jvp
dynamic_update_slice_p.transpose = _dynamic_update_slice_transpose
dynamic_update_slice_p.batch = _dynamic_update_slice_batch


def dynamic_update_slice(x, update, start_indices):
    """x with the window at start_indices replaced by update (starts clamped so it fits)."""
    shape = get_aval(x).shape
    starts = [_normalize_start(i, n) for i, n in zip(start_indices, shape)]
    if len(starts) != len(start_indices):
        starts = list(start_indices)
    return dynamic_update_slice_p.bind(x, update, *starts)


def dynamic_update_slice_in_dim(x, update, start_index, axis):
    ndim = get_aval(x).ndim
    axis = int(axis) % ndim
    starts = [0] * ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)


# ---------------------------------------------------------------------------------------------
# Dimension numbers (the index vector is always the last dim of the indices)


def _int_tuple(xs):
    return tuple(int(x) for x in xs)


class _DimensionNumbers:
    """Hashable tuples of Python ints; printed without the (usually empty) batching dims."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _int_tuple(getattr(self, f.name)))

    def __repr__(self):
        fields = [f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self)
                  if getattr(self, f.name) or f.default is dataclasses.MISSING]
        return f"{type(self).__name__}({', '.join(fields)})"


@dataclasses.dataclass(frozen=True, repr=False)
class GatherDimensionNumbers(_DimensionNumbers):
    """XLA's gather dimension numbers.

    offset_dims: the output dims that hold the slice dims left after dropping the collapsed and
      operand-batching ones, in operand order; the other output dims are the indices' batch dims.
    collapsed_slice_dims: operand dims of slice size 1 that the output drops.
    start_index_map: the operand dim that each entry of an index vector starts.
    operand_batching_dims, start_indices_batching_dims: paired dims gathered elementwise: the
      window of indices[..., b, ...] is taken from operand[..., b, ...] (vmap of a gather whose
      operand and indices are both batched).
    """
    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()



@dataclasses.dataclass(frozen=True, repr=False)
class ScatterDimensionNumbers(_DimensionNumbers):
    """XLA's scatter dimension numbers, the mirror image of GatherDimensionNumbers.

    update_window_dims: the updates' dims that hold the window (offset_dims of the gather that
      reads the same elements); inserted_window_dims: operand dims of window size 1 missing from
      the updates (collapsed_slice_dims); scatter_dims_to_operand_dims (start_index_map);
      operand_batching_dims, scatter_indices_batching_dims (as for gather).
    """
    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple
    operand_batching_dims: tuple = ()
    scatter_indices_batching_dims: tuple = ()



def _gather_dnums_of(dn):
    """The gather that reads exactly the elements a scatter writes."""
    return GatherDimensionNumbers(offset_dims=dn.update_window_dims, collapsed_slice_dims=dn.inserted_window_dims,
                                  start_index_map=dn.scatter_dims_to_operand_dims,
                                  operand_batching_dims=dn.operand_batching_dims,
                                  start_indices_batching_dims=dn.scatter_indices_batching_dims)


def _scatter_dnums_of(dn):
    """The scatter that writes exactly the elements a gather reads."""
    return ScatterDimensionNumbers(update_window_dims=dn.offset_dims, inserted_window_dims=dn.collapsed_slice_dims,
                                   scatter_dims_to_operand_dims=dn.start_index_map,
                                   operand_batching_dims=dn.operand_batching_dims,
                                   scatter_indices_batching_dims=dn.start_indices_batching_dims)


_GATHER_FIELDS = {f: f for f in ('offset_dims', 'collapsed_slice_dims', 'start_index_map',
                                 'operand_batching_dims', 'start_indices_batching_dims', 'slice_sizes')}
_SCATTER_FIELDS = {'offset_dims': 'update_window_dims', 'collapsed_slice_dims': 'inserted_window_dims',
                   'start_index_map': 'scatter_dims_to_operand_dims', 'operand_batching_dims': 'operand_batching_dims',
                   'start_indices_batching_dims': 'scatter_indices_batching_dims', 'slice_sizes': 'window sizes'}


def _check_dims(name, field, dims, rank, what, sorted_=True):
    if any(not 0 <= d < rank for d in dims) or len(set(dims)) != len(dims) or (sorted_ and list(dims) != sorted(dims)):
        order = 'sorted, ' if sorted_ else ''
        raise ValueError(f"{name}: {field} {dims} must be {order}distinct dims of the {what}")


def _gather_shape(name, operand, indices, dn, slice_sizes, fields=_GATHER_FIELDS):
    """The output shape of a gather, or an error naming the offending dimension numbers.

    `fields` renames the dimension numbers in messages (a scatter is checked as its gather).
    """
    if not dtypes.is_integer(indices.dtype) or indices.ndim < 1:
        raise TypeError(f"{name}: indices must be integers with the index vectors along their last dim, "
                        f"got {indices.str_short()}")
    r = operand.ndim
    batch_shape = indices.shape[:-1]
    where = f"operand of shape {shape_str(operand.shape)}"
    if len(slice_sizes) != r or any(not 0 <= k <= n for k, n in zip(slice_sizes, operand.shape)):
        raise ValueError(f"{name}: {fields['slice_sizes']} {tuple(slice_sizes)} need one size per dim of the "
                         f"{where}, each between 0 and that dim")
    _check_dims(name, fields['collapsed_slice_dims'], dn.collapsed_slice_dims, r, where)
    _check_dims(name, fields['operand_batching_dims'], dn.operand_batching_dims, r, where)
    _check_dims(name, fields['start_index_map'], dn.start_index_map, r, where, sorted_=False)
    _check_dims(name, fields['start_indices_batching_dims'], dn.start_indices_batching_dims, len(batch_shape),
                f"indices of shape {shape_str(indices.shape)} (excluding the index vector dim)", sorted_=False)
    if len(dn.start_index_map) != indices.shape[-1]:
        raise ValueError(f"{name}: {fields['start_index_map']} {dn.start_index_map} has {len(dn.start_index_map)} "
                         f"entries but the index vectors of indices of shape {shape_str(indices.shape)} have "
                         f"{indices.shape[-1]}")
    batching = set(dn.operand_batching_dims)
    if batching & set(dn.collapsed_slice_dims) or batching & set(dn.start_index_map):
        raise ValueError(f"{name}: {fields['operand_batching_dims']} {dn.operand_batching_dims} must not appear "
                         f"in {fields['collapsed_slice_dims']} {dn.collapsed_slice_dims} or "
                         f"{fields['start_index_map']} {dn.start_index_map}")
    for d in dn.collapsed_slice_dims + dn.operand_batching_dims:
        if slice_sizes[d] != 1:
            raise ValueError(f"{name}: dim {d} is collapsed or batching, so its entry of "
                             f"{fields['slice_sizes']} {tuple(slice_sizes)} must be 1")
    pairs = list(zip(dn.operand_batching_dims, dn.start_indices_batching_dims))
    if len(dn.start_indices_batching_dims) != len(dn.operand_batching_dims) or any(
            operand.shape[o] != batch_shape[i] for o, i in pairs):
        raise ValueError(f"{name}: {fields['operand_batching_dims']} {dn.operand_batching_dims} of the {where} and "
                         f"{fields['start_indices_batching_dims']} {dn.start_indices_batching_dims} of indices of "
                         f"shape {shape_str(indices.shape)} must pair up dims of equal sizes")
    window = [slice_sizes[d] for d in range(r) if d not in dn.collapsed_slice_dims and d not in batching]
    out_rank = len(batch_shape) + len(window)
    if len(dn.offset_dims) != len(window):
        raise ValueError(f"{name}: {fields['offset_dims']} {dn.offset_dims} must have one entry per window dim "
                         f"that is not collapsed or batching ({len(window)} for the {where})")
    _check_dims(name, fields['offset_dims'], dn.offset_dims, out_rank, f"result of rank {out_rank}")
    windows, batches = iter(window), iter(batch_shape)
    return tuple(next(windows) if o in dn.offset_dims else next(batches) for o in range(out_rank))


def _scatter_window_shape(operand_shape, updates_shape, dn):
    """The full window (one size per operand dim) that each update writes."""
    sizes = iter(updates_shape[d] for d in dn.update_window_dims)
    skipped = set(dn.inserted_window_dims) | set(dn.operand_batching_dims)
    return tuple(1 if d in skipped else next(sizes) for d in range(len(operand_shape)))


def _check_scatter(name, operand, indices, updates, dn):
    if updates.dtype != operand.dtype:
        raise TypeError(f"{name}: the updates' dtype {updates.dtype.name} differs from the operand's "
                        f"{operand.dtype.name}")
    n_window = operand.ndim - len(set(dn.inserted_window_dims) | set(dn.operand_batching_dims))
    _check_dims(name, 'update_window_dims', dn.update_window_dims, updates.ndim,
                f"updates of shape {shape_str(updates.shape)}")
    if len(dn.update_window_dims) != n_window:
        raise ValueError(f"{name}: update_window_dims {dn.update_window_dims} must have one entry per operand "
                         f"dim not in inserted_window_dims or operand_batching_dims ({n_window} for the "
                         f"operand of shape {shape_str(operand.shape)})")
    window = _scatter_window_shape(operand.shape, updates.shape, dn)
    expected = _gather_shape(name, operand, indices, _gather_dnums_of(dn), window, _SCATTER_FIELDS)
    if expected != updates.shape:
        raise ValueError(f"{name}: updates of shape {shape_str(updates.shape)} do not match the shape "
                         f"{shape_str(expected)} that indices of shape {shape_str(indices.shape)} and the "
                         f"dimension numbers select from the operand of shape {shape_str(operand.shape)}")


# ---------------------------------------------------------------------------------------------
# NumPy implementation shared by gather and scatter: flat positions of every window element


def _window_positions(operand_shape, indices, window_shape, index_map, operand_batching_dims,
                      indices_batching_dims, mode):
    """Flat operand positions of every window element, shape batch_shape + window_shape.

    Also returns which windows lie wholly inside the operand (None in 'clip' mode, where each
    start is clamped so that its window fits, XLA's rule).
    """
    indices = np.asarray(indices).astype(np.int64)
    batch_shape = indices.shape[:-1]
    nb, r = len(batch_shape), len(operand_shape)
    upper = np.array([operand_shape[d] - window_shape[d] for d in index_map], np.int64)
    in_bounds = None if mode == 'clip' else np.all((indices >= 0) & (indices <= upper), axis=-1)
    starts = np.clip(indices, 0, upper)
    strides = np.cumprod((tuple(operand_shape[1:]) + (1,))[::-1])[::-1]

    def along(axis, values):
        shape = [1] * (nb + r)
        shape[axis] = -1
        return values.reshape(shape)

    flat = np.zeros((1,) * (nb + r), np.int64)
    for d in range(r):
        if d in index_map:
            start = starts[..., index_map.index(d)].reshape(batch_shape + (1,) * r)
            position = start + along(nb + d, np.arange(window_shape[d]))
        elif d in operand_batching_dims:
            position = along(indices_batching_dims[operand_batching_dims.index(d)], np.arange(operand_shape[d]))
        else:
            position = along(nb + d, np.arange(window_shape[d]))
        flat = flat + position * strides[d]
    return np.broadcast_to(flat, batch_shape + tuple(window_shape)), in_bounds


def _default_fill_value(dtype):
    if dtype.kind in 'fc':
        return np.nan
    if dtype.kind == 'b':
        return True
    return np.iinfo(dtype).min if dtype.kind == 'i' else np.iinfo(dtype).max


# ---------------------------------------------------------------------------------------------
# gather

gather_p = Primitive('gather')


def _gather_impl(operand, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    dn = dimension_numbers
    operand = np.asarray(operand)
    indices = np.asarray(indices)
    flat, in_bounds = _window_positions(operand.shape, indices, slice_sizes, dn.start_index_map,
                                        dn.operand_batching_dims, dn.start_indices_batching_dims, mode)
    batch_shape = indices.shape[:-1]
    dropped = set(dn.collapsed_slice_dims) | set(dn.operand_batching_dims)
    window = tuple(k for d, k in enumerate(slice_sizes) if d not in dropped)
    out = operand.reshape(-1)[flat].reshape(batch_shape + window)
    if in_bounds is not None:
        fill = _default_fill_value(operand.dtype) if fill_value is None else fill_value
        out = np.where(in_bounds.reshape(batch_shape + (1,) * len(window)), out, np.asarray(fill, operand.dtype))
    # Batch dims come first so far; the window dims go to offset_dims.
    nb = len(batch_shape)
    batches, windows = iter(range(nb)), iter(range(nb, nb + len(window)))
    perm = [next(windows) if o in dn.offset_dims else next(batches) for o in range(out.ndim)]
    return np.transpose(out, perm)


def _gather_abstract_eval(operand, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    shape = _gather_shape('gather', operand, indices, dimension_numbers, slice_sizes)
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _gather_jvp(g, operand, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    # Filled (out-of-bounds) windows are constants: their tangent is zero.
    return gather_p.bind(g, indices, dimension_numbers=dimension_numbers, slice_sizes=slice_sizes, mode=mode,
                         fill_value=None if mode == 'clip' else 0)


def _gather_transpose(ct, operand, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    aval = operand.aval
    if type(ct) is Zero:
        return [Zero(aval), None]
    # Every gathered element sends its cotangent back to where it was read from.
    zeros = _full(aval.shape, 0, aval.dtype)
    return [scatter_add_p.bind(zeros, indices, ct, dimension_numbers=_scatter_dnums_of(dimension_numbers),
                               mode=_SCATTER_MODE_OF_GATHER[mode]), None]


def _shift(dims, by=1):
    return tuple(d + by for d in dims)


def _gather_batch(vals, dims, *, dimension_numbers, slice_sizes, mode, fill_value):
    operand, indices = vals
    operand_dim, indices_dim = dims
    dn = dimension_numbers
    params = dict(mode=mode, fill_value=fill_value)
    if indices_dim is None:
        # The batch is one more window dim, taken whole.
        operand = moveaxis(operand, operand_dim, 0)
        size = get_aval(operand).shape[0]
        dn = GatherDimensionNumbers(
            offset_dims=(0,) + _shift(dn.offset_dims), collapsed_slice_dims=_shift(dn.collapsed_slice_dims),
            start_index_map=_shift(dn.start_index_map), operand_batching_dims=_shift(dn.operand_batching_dims),
            start_indices_batching_dims=dn.start_indices_batching_dims)
        return gather_p.bind(operand, indices, dimension_numbers=dn, slice_sizes=(size,) + slice_sizes, **params), 0
    indices = moveaxis(indices, indices_dim, 0)
    if operand_dim is None:
        # The batch is one more batch dim of the indices; it lands first in the output.
        dn = GatherDimensionNumbers(
            offset_dims=_shift(dn.offset_dims), collapsed_slice_dims=dn.collapsed_slice_dims,
            start_index_map=dn.start_index_map, operand_batching_dims=dn.operand_batching_dims,
            start_indices_batching_dims=_shift(dn.start_indices_batching_dims))
        return gather_p.bind(operand, indices, dimension_numbers=dn, slice_sizes=slice_sizes, **params), 0
    # Both batched: pair the two batch dims as batching dims (example b reads only operand b).
    operand = moveaxis(operand, operand_dim, 0)
    dn = GatherDimensionNumbers(
        offset_dims=_shift(dn.offset_dims), collapsed_slice_dims=_shift(dn.collapsed_slice_dims),
        start_index_map=_shift(dn.start_index_map), operand_batching_dims=(0,) + _shift(dn.operand_batching_dims),
        start_indices_batching_dims=(0,) + _shift(dn.start_indices_batching_dims))
    return gather_p.bind(operand, indices, dimension_numbers=dn, slice_sizes=(1,) + slice_sizes, **params), 0


gather_p.impl = _gather_impl
gather_p.abstract_eval = _gather_abstract_eval
gather_p.batch = _gather_batch
ad.defjvp(gather_p, _gather_jvp)
gather_p.transpose = _gather_transpose

_GATHER_MODES = {None: 'clip', 'clip': 'clip', 'promise_in_bounds': 'clip', 'fill': 'fill', 'drop': 'fill'}
_SCATTER_MODES = {None: 'drop', 'drop': 'drop', 'fill': 'drop', 'clip': 'clip', 'promise_in_bounds': 'clip'}
_SCATTER_MODE_OF_GATHER = {'clip': 'clip', 'fill': 'drop'}
_GATHER_MODE_OF_SCATTER = {'clip': 'clip', 'drop': 'fill'}


def _mode(name, mode, modes):
    try:
        return modes[mode]
    except (KeyError, TypeError):
        raise ValueError(f"{name}: unknown mode {mode!r}; expected one of "
                         f"{', '.join(repr(m) for m in modes if m is not None)}") from None


def _as_dnums(cls, dimension_numbers):
    if isinstance(dimension_numbers, cls):
        return dimension_numbers
    if isinstance(dimension_numbers, dict):
        return cls(**dimension_numbers)
    raise TypeError(f"expected a {cls.__name__} (or a dict of its fields), got {dimension_numbers!r}")


def gather(operand, start_indices, dimension_numbers, slice_sizes, *, mode=None, fill_value=None):
    """XLA's gather: for each index vector (last dim of start_indices), a window of slice_sizes.

    mode='clip' (the default) clamps each window into the operand, as fnp indexing does for
    traced indices; mode='fill' returns fill_value (NaN for inexact dtypes) for windows that are
    not wholly inside it.
    """
    dn = _as_dnums(GatherDimensionNumbers, dimension_numbers)
    mode = _mode('gather', mode, _GATHER_MODES)
    if mode == 'clip' or fill_value is None:
        fill_value = None
    else:
        fill_value = np.asarray(fill_value).item()
    return gather_p.bind(operand, start_indices, dimension_numbers=dn, slice_sizes=_int_tuple(slice_sizes),
                         mode=mode, fill_value=fill_value)


# ---------------------------------------------------------------------------------------------
# The scatter family: scatter (set), scatter_add, scatter_mul, scatter_min, scatter_max


def _scatter_impl(combine):
    """combine: a ufunc (its .at accumulates repeated indices), or None to overwrite."""
    def impl(operand, indices, updates, *, dimension_numbers, mode):
        dn = dimension_numbers
        out = np.array(operand, order='C')   # a fresh C-ordered copy: reshape(-1) below is a view of it
        indices = np.asarray(indices)
        updates = np.asarray(updates, out.dtype)
        window = _scatter_window_shape(out.shape, updates.shape, dn)
        flat, in_bounds = _window_positions(out.shape, indices, window, dn.scatter_dims_to_operand_dims,
                                            dn.operand_batching_dims, dn.scatter_indices_batching_dims, mode)
        batch_shape = indices.shape[:-1]
        scatter_dims = [d for d in range(updates.ndim) if d not in dn.update_window_dims]
        values = np.transpose(updates, scatter_dims + list(dn.update_window_dims)).reshape(flat.shape)
        if in_bounds is not None:
            keep = np.broadcast_to(in_bounds.reshape(batch_shape + (1,) * len(window)), flat.shape)
            flat, values = flat[keep], values[keep]
        target = out.reshape(-1)
        if combine is None:
            target[flat] = values
        else:
            combine.at(target, flat, values)
        return out
    return impl


def _scatter_abstract_eval(name):
    def rule(operand, indices, updates, *, dimension_numbers, mode):
        _check_scatter(name, operand, indices, updates, dimension_numbers)
        return ShapedArray(operand.shape, operand.dtype, operand.weak_type)
    return rule


def _scatter_batch(prim):
    def rule(vals, dims, *, dimension_numbers, mode):
        operand, indices, updates = vals
        operand_dim, indices_dim, updates_dim = dims
        size = batching.batch_size(vals, dims)
        operand = batching.matchaxis(size, operand_dim, 0, operand)
        updates = batching.matchaxis(size, updates_dim, 0, updates)
        dn = dimension_numbers
        if indices_dim is None:
            # The batch is one more window dim of the updates, written whole.
            dn = ScatterDimensionNumbers(
                update_window_dims=(0,) + _shift(dn.update_window_dims),
                inserted_window_dims=_shift(dn.inserted_window_dims),
                scatter_dims_to_operand_dims=_shift(dn.scatter_dims_to_operand_dims),
                operand_batching_dims=_shift(dn.operand_batching_dims),
                scatter_indices_batching_dims=dn.scatter_indices_batching_dims)
        else:
            # Pair the batch dims of operand and indices (example b writes only operand b).
            indices = moveaxis(indices, indices_dim, 0)
            dn = ScatterDimensionNumbers(
                update_window_dims=_shift(dn.update_window_dims),
                inserted_window_dims=_shift(dn.inserted_window_dims),
                scatter_dims_to_operand_dims=_shift(dn.scatter_dims_to_operand_dims),
                operand_batching_dims=(0,) + _shift(dn.operand_batching_dims),
                scatter_indices_batching_dims=(0,) + _shift(dn.scatter_indices_batching_dims))
        return prim.bind(operand, indices, updates, dimension_numbers=dn, mode=mode), 0
    return rule


def _scatter_primitive(name, combine):
    prim = Primitive(name)
    prim.impl = _scatter_impl(combine)
    prim.abstract_eval = _scatter_abstract_eval(name)
    prim.batch = _scatter_batch(prim)
    return prim


scatter_p = _scatter_primitive('scatter', None)
scatter_add_p = _scatter_primitive('scatter_add', np.add)
scatter_mul_p = _scatter_primitive('scatter_mul', np.multiply)
scatter_min_p = _scatter_primitive('scatter_min', np.minimum)
scatter_max_p = _scatter_primitive('scatter_max', np.maximum)


def _read_back(x, indices, updates_shape, dn, mode):
    """The elements of x that a scatter with these indices writes, in the updates' layout."""
    window = _scatter_window_shape(get_aval(x).shape, updates_shape, dn)
    fill = None if mode == 'clip' else 0
    return gather_p.bind(x, indices, dimension_numbers=_gather_dnums_of(dn), slice_sizes=window,
                         mode=_GATHER_MODE_OF_SCATTER[mode], fill_value=fill)


def _scatter_winners(operand_shape, indices, updates_shape, dn, mode):
    """(operand elements that no update overwrites, updates whose write is the one that stays).

    Each update window is numbered 1, 2, ...; scattering the numbers and reading them back
    shows which write won at each place, whatever order the implementation writes in.
    """
    scatter_dims = tuple(d for d in range(len(updates_shape)) if d not in dn.update_window_dims)
    counts = tuple(updates_shape[d] for d in scatter_dims)
    numbers = add(reshape(iota(_INDEX_DTYPE, int(np.prod(counts, dtype=np.int64))), counts), _scalar(1, _INDEX_DTYPE))
    ids = broadcast_in_dim(numbers, updates_shape, scatter_dims)
    owner = scatter_p.bind(_full(operand_shape, 0, _INDEX_DTYPE), indices, ids, dimension_numbers=dn, mode=mode)
    untouched = eq(owner, _scalar(0, _INDEX_DTYPE))
    return untouched, eq(_read_back(owner, indices, updates_shape, dn, mode), ids)


def _defjvp_scatter(prim, tangent_rule):
    """prim.jvp from tangent_rule(out, operand, indices, updates, t_operand, t_updates, dn, mode),
    called when either tangent is nonzero (the other may be Zero)."""
    def rule(primals, tangents, *, dimension_numbers, mode):
        out = prim.bind(*primals, dimension_numbers=dimension_numbers, mode=mode)
        t_operand, _, t_updates = tangents
        if type(t_operand) is Zero and type(t_updates) is Zero:
            return out, Zero(ad.tangent_aval(get_aval(out)))
        return out, tangent_rule(out, *primals, t_operand, t_updates, dimension_numbers, mode)
    prim.jvp = rule


def _zero_cotangents(operand, updates):
    return [Zero(aval_of(operand)) if is_undefined_primal(operand) else None, None,
            Zero(aval_of(updates)) if is_undefined_primal(updates) else None]


def _scatter_add_tangent(out, operand, indices, updates, t_operand, t_updates, dn, mode):
    # Linear in (operand, updates) jointly.
    if type(t_updates) is Zero:
        return t_operand
    return scatter_add_p.bind(ad.instantiate_zeros(t_operand), indices, t_updates, dimension_numbers=dn, mode=mode)


def _scatter_add_transpose(ct, operand, indices, updates, *, dimension_numbers, mode):
    if type(ct) is Zero:
        return _zero_cotangents(operand, updates)
    ct_operand = ct if is_undefined_primal(operand) else None
    ct_updates = None
    if is_undefined_primal(updates):
        ct_updates = _read_back(ct, indices, updates.aval.shape, dimension_numbers, mode)
    return [ct_operand, None, ct_updates]


_defjvp_scatter(scatter_add_p, _scatter_add_tangent)
scatter_add_p.transpose = _scatter_add_transpose


def _scatter_tangent(out, operand, indices, updates, t_operand, t_updates, dn, mode):
    # Each output element's tangent comes from what wrote it last: the winning update, or the
    # operand where no update landed.
    untouched, won = _scatter_winners(get_aval(operand).shape, indices, get_aval(updates).shape, dn, mode)
    return scatter_add_p.bind(_where(untouched, ad.instantiate_zeros(t_operand)), indices,
                              _where(won, ad.instantiate_zeros(t_updates)), dimension_numbers=dn, mode=mode)


def _scatter_transpose(ct, operand, indices, updates, *, dimension_numbers, mode):
    if type(ct) is Zero:
        return _zero_cotangents(operand, updates)
    operand_aval, updates_aval = aval_of(operand), aval_of(updates)
    untouched, won = _scatter_winners(operand_aval.shape, indices, updates_aval.shape, dimension_numbers, mode)
    ct_operand = _where(untouched, ct) if is_undefined_primal(operand) else None
    ct_updates = None
    if is_undefined_primal(updates):
        ct_updates = _where(won, _read_back(ct, indices, updates_aval.shape, dimension_numbers, mode))
    return [ct_operand, None, ct_updates]


_defjvp_scatter(scatter_p, _scatter_tangent)
scatter_p.transpose = _scatter_transpose


def _product_of_others(operand_shape, indices, updates, dn, mode):
    """For each update, the product of the other updates to its place (no division by zero).

    With P the product of the nonzero updates at a place and Z their count of zeros: a nonzero
    update's others multiply to P / u if Z = 0 (else 0); a zero update's to P if Z = 1 (else 0).
    Exact to first order everywhere; its own derivative is exact only away from zero updates.
    """
    params = dict(dimension_numbers=dn, mode=mode)
    dtype = get_aval(updates).dtype
    shape = get_aval(updates).shape
    is_zero = eq(updates, _scalar(0, dtype))
    nonzero = select_n(is_zero, updates, _full(shape, 1, dtype))
    product = scatter_mul_p.bind(_full(operand_shape, 1, dtype), indices, nonzero, **params)
    n_zeros = scatter_add_p.bind(_full(operand_shape, 0, dtype), indices, convert_element_type(is_zero, dtype),
                                 **params)
    product_at = _read_back(product, indices, shape, dn, mode)
    n_zeros_at = _read_back(n_zeros, indices, shape, dn, mode)
    zeros = _full(shape, 0, dtype)
    if_nonzero = select_n(eq(n_zeros_at, _scalar(0, dtype)), zeros, div(product_at, nonzero))
    if_zero = select_n(eq(n_zeros_at, _scalar(1, dtype)), zeros, product_at)
    return select_n(is_zero, if_nonzero, if_zero)


def _scatter_mul_tangent(out, operand, indices, updates, t_operand, t_updates, dn, mode):
    # d(x u_1 ... u_m) = dx u_1 ... u_m + sum_i du_i x (product of the u_j, j != i)
    params = dict(dimension_numbers=dn, mode=mode)
    t_out = Zero(ad.tangent_aval(get_aval(out)))
    if type(t_operand) is not Zero:
        t_out = scatter_mul_p.bind(t_operand, indices, updates, **params)
    if type(t_updates) is not Zero:
        shape = get_aval(operand).shape
        others = _product_of_others(shape, indices, updates, dn, mode)
        per_update = mul(t_updates, mul(_read_back(operand, indices, get_aval(updates).shape, dn, mode), others))
        zeros = _full(shape, 0, get_aval(per_update).dtype)
        t_out = ad.add_tangents(t_out, scatter_add_p.bind(zeros, indices, per_update, **params))
    return t_out


def _scatter_mul_transpose(ct, operand, indices, updates, *, dimension_numbers, mode):
    if is_undefined_primal(updates):
        raise ad.linear_error('scatter_mul')
    if type(ct) is Zero:
        return [Zero(operand.aval), None, None]
    # Linear in the operand: each element is scaled by the product of its updates.
    return [scatter_mul_p.bind(ct, indices, updates, dimension_numbers=dimension_numbers, mode=mode), None, None]


_defjvp_scatter(scatter_mul_p, _scatter_mul_tangent)
scatter_mul_p.transpose = _scatter_mul_transpose


def _scatter_extremum_tangent(out, operand, indices, updates, t_operand, t_updates, dn, mode):
    # Every contender equal to the result shares the tangent evenly (ties average, as for max).
    params = dict(dimension_numbers=dn, mode=mode)
    t_operand, t_updates = ad.instantiate_zeros(t_operand), ad.instantiate_zeros(t_updates)
    dtype = get_aval(t_operand).dtype
    operand_won = eq(operand, out)
    updates_won = eq(updates, _read_back(out, indices, get_aval(updates).shape, dn, mode))
    count = add(convert_element_type(operand_won, dtype),
                scatter_add_p.bind(_zeros_like(t_operand), indices, convert_element_type(updates_won, dtype), **params))
    total = scatter_add_p.bind(_where(operand_won, t_operand), indices, _where(updates_won, t_updates), **params)
    return div(total, count)


_defjvp_scatter(scatter_min_p, _scatter_extremum_tangent)
_defjvp_scatter(scatter_max_p, _scatter_extremum_tangent)


def _scatter_wrapper(prim, doc):
    def wrapper(operand, scatter_indices, updates, dimension_numbers, *, mode=None):
        dn = _as_dnums(ScatterDimensionNumbers, dimension_numbers)
        return prim.bind(operand, scatter_indices, updates, dimension_numbers=dn,
                         mode=_mode(prim.name, mode, _SCATTER_MODES))
    wrapper.__name__ = prim.name
    wrapper.__doc__ = doc
    return wrapper


_SCATTER_DOC = ("{what} (XLA's scatter). mode='drop' (the default) skips update windows that are not "
                "wholly inside the operand; mode='clip' clamps them into it.")
scatter = _scatter_wrapper(scatter_p, _SCATTER_DOC.format(
    what="operand with the windows at scatter_indices overwritten by updates (which of several writes to "
         "one place wins is unspecified)"))
scatter_add = _scatter_wrapper(scatter_add_p, _SCATTER_DOC.format(
    what="operand plus updates added at scatter_indices (repeated indices accumulate)"))
scatter_mul = _scatter_wrapper(scatter_mul_p, _SCATTER_DOC.format(
    what="operand times updates at scatter_indices (repeated indices multiply)"))
scatter_min = _scatter_wrapper(scatter_min_p, _SCATTER_DOC.format(
    what="the minimum of operand and the updates at scatter_indices"))
scatter_max = _scatter_wrapper(scatter_max_p, _SCATTER_DOC.format(
    what="the maximum of operand and the updates at scatter_indices"))
