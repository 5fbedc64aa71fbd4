"""NumPy indexing on fxad values: x[idx] on tracers, fnp.at(x)[idx].set/add/mul/min/max/get,
take and take_along_axis, lowered onto fxad.lax's slicing primitives.

Static ints and slices become slice, rev and squeeze; traced scalar ints dynamic_slice; integer
arrays (and concrete boolean masks, through np.nonzero) one gather; updates one scatter.
Out of bounds: a static int or a concrete index array raises IndexError, as in NumPy; a traced
index is clamped when reading and its update is dropped when writing, as in JAX. An explicit mode=
('clip', 'fill' or 'drop') applies to every index, static or traced, as in JAX.
"""

__all__ = ['at', 'take', 'take_along_axis']

import operator
from typing import NamedTuple

import numpy as np

from .. import dtypes, lax
from ..core import Tracer, get_aval
from ..errors import ConcretizationTypeError, NonConcreteBooleanIndexError, TracerIntegerConversionError
from ..lax.slicing import GatherDimensionNumbers, ScatterDimensionNumbers, _default_fill_value
from ..lax.utils import canonicalize_axis, shape_str
from .array_methods import _AtIndexer
from .util import asarray_value

_INDEX = np.dtype(np.int64)
_ADVANCED = ('array', 'mask', 'int', 'dynint')

# ---------------------------------------------------------------------------------------------
# Parsing an index into one entry per indexed dim
#
# Entries: ('none', keep) a new axis (keep=False for a scalar False index, which empties it);
# ('slice', start, step, size) static; ('int', i) static, normalized; ('dynint', tracer) a traced
# scalar; ('array', a) an integer array, negative values already counted from the end.


class _Index(NamedTuple):
    entries: list
    has_arrays: bool
    advanced_first: bool   # NumPy: advanced dims go first unless the advanced indices are adjacent


def _classify(i):
    if i is None:
        return 'none', None
    if i is Ellipsis:
        return 'ellipsis', None
    if isinstance(i, slice):
        return 'slice', i
    if isinstance(i, (bool, np.bool_)):
        return 'bool', bool(i)
    if isinstance(i, (int, np.integer)):
        return 'int', int(i)
    if isinstance(i, (list, tuple)):
        i = asarray_value(i, 'indexing')
        if not isinstance(i, Tracer) and i.size == 0:
            i = i.astype(_INDEX)
    if isinstance(i, Tracer):
        aval = i.aval
        if dtypes.is_bool(aval.dtype):
            value = i.to_concrete_value()
            if value is None:
                raise NonConcreteBooleanIndexError(aval)
            return ('bool', bool(value)) if aval.ndim == 0 else ('mask', np.asarray(value))
        if dtypes.is_integer(aval.dtype):
            return ('dynint' if aval.ndim == 0 else 'array'), i
        raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {aval.str_short()}")
    if isinstance(i, (np.ndarray, np.generic)):
        if dtypes.is_bool(i.dtype):
            return ('bool', bool(i)) if i.ndim == 0 else ('mask', i)
        if dtypes.is_integer(i.dtype):
            return ('int', int(i)) if i.ndim == 0 else ('array', i)
        raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {i.dtype.name}")
    raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and integer or boolean arrays "
                     f"are valid indices, got {i!r} of type {type(i).__name__}")


def _static_slice(s, size):
    """(start, step, length) of a slice whose bounds must be known."""
    try:
        parts = [None if v is None else operator.index(v) for v in (s.start, s.stop, s.step)]
    except (TracerIntegerConversionError, ConcretizationTypeError):
        raise IndexError(f"slice bounds must be static (Python ints) to index a traced value, found {s}; "
                         f"to slice at a traced position use lax.dynamic_slice, or fnp.take with an index "
                         f"array") from None
    if parts[2] == 0:
        raise ValueError("slice step cannot be zero")
    start, stop, step = slice(*parts).indices(size)
    return start, step, len(range(start, stop, step))


def _int_entry(i, size, axis, check_bounds):
    """A static int's entry. Out of range it raises, as in NumPy, unless a mode was given: then it
    is handled like a traced index (clamped, filled or dropped), as in JAX."""
    if -size <= i < size:
        return 'int', i % size
    if check_bounds:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {size}")
    # Just past either end: as far out of range as i, and clamped to the same end, but fits in int64.
    return 'dynint', np.int64(size if i >= size else -size - 1)


def _normalize_array(a, size, axis, check_bounds):
    """Integer indices as int64 with negative ones counted from the end."""
    if isinstance(a, Tracer):
        a = lax.convert_element_type(a, _INDEX)
        return lax.select_n(lax.lt(a, np.int64(0)), a, lax.add(a, np.int64(size)))
    a = np.asarray(a).astype(_INDEX)
    if check_bounds:
        bad = (a < -size) | (a >= size)
        if bad.any():
            raise IndexError(f"index {a[bad].flat[0]} is out of bounds for axis {axis} with size {size}")
    return np.where(a < 0, a + size, a)


def _parse(shape, idx, check_bounds):
    items = [_classify(i) for i in (idx if isinstance(idx, tuple) else (idx,))]
    if sum(kind == 'ellipsis' for kind, _ in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(v.ndim if kind == 'mask' else 1 for kind, v in items
               if kind in ('slice', 'int', 'dynint', 'array', 'mask'))
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but {used} were indexed")
    entries = []
    axis = 0
    for kind, v in items:
        if kind == 'ellipsis':
            entries.extend(('slice', 0, 1, shape[d]) for d in range(axis, axis + len(shape) - used))
            axis += len(shape) - used
        elif kind in ('none', 'bool'):
            entries.append(('none', True if kind == 'none' else v))
        elif kind == 'slice':
            entries.append(('slice',) + _static_slice(v, shape[axis]))
            axis += 1
        elif kind == 'int':
            entries.append(_int_entry(v, shape[axis], axis, check_bounds))
            axis += 1
        elif kind in ('dynint', 'array'):
            entries.append((kind, v if kind == 'dynint' else _normalize_array(v, shape[axis], axis, check_bounds)))
            axis += 1
        else:
            if v.shape != shape[axis:axis + v.ndim]:
                raise IndexError(f"boolean index of shape {shape_str(v.shape)} does not match the indexed "
                                 f"dims {shape_str(shape[axis:axis + v.ndim])} (from axis {axis}) of an array "
                                 f"of shape {shape_str(shape)}")
            entries.extend(('array', a.astype(_INDEX)) for a in np.nonzero(v))
            axis += v.ndim
    entries.extend(('slice', 0, 1, shape[d]) for d in range(axis, len(shape)))
    kinds = [kind for kind, _ in items]
    has_arrays = 'array' in kinds or 'mask' in kinds
    if has_arrays and 'bool' in kinds:
        raise IndexError("a scalar boolean index (True/False) combined with array indices is not supported")
    advanced = [p for p, kind in enumerate(kinds) if kind in _ADVANCED]
    advanced_first = has_arrays and advanced[-1] - advanced[0] + 1 != len(advanced)
    return _Index(entries, has_arrays, advanced_first)


# ---------------------------------------------------------------------------------------------
# Static ints and slices, traced scalar ints: slice, rev, dynamic_slice, squeeze, expand_dims


def _basic_getitem(x, index):
    shape = get_aval(x).shape
    starts, limits, strides, reversed_dims, squeezed, new_axes, emptied = [], [], [], [], [], [], []
    traced = {}
    axis = out = 0
    for e in index.entries:
        if e[0] == 'none':
            new_axes.append(out)
            if not e[1]:
                emptied.append(out)
            out += 1
            continue
        if e[0] == 'slice':
            _, start, step, size = e
            if size == 0:
                lo, hi, stride = 0, 0, 1
            elif step > 0:
                lo, hi, stride = start, start + (size - 1) * step + 1, step
            else:
                # The same elements in increasing order, then reversed.
                lo, hi, stride = start + (size - 1) * step, start + 1, -step
                reversed_dims.append(axis)
            out += 1
        elif e[0] == 'int':
            lo, hi, stride = e[1], e[1] + 1, 1
            squeezed.append(axis)
        else:
            if shape[axis] == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            lo, hi, stride = 0, shape[axis], 1
            traced[axis] = e[1]
            squeezed.append(axis)
        starts.append(lo)
        limits.append(hi)
        strides.append(stride)
        axis += 1
    y = lax.rev(lax.slice(x, starts, limits, strides), reversed_dims)
    if traced:
        sliced = get_aval(y).shape
        y = lax.dynamic_slice(y, [traced.get(d, 0) for d in range(len(sliced))],
                              [1 if d in traced else n for d, n in enumerate(sliced)])
    y = lax.expand_dims(lax.squeeze(y, squeezed), new_axes)
    for d in emptied:
        y = lax.slice_in_dim(y, 0, 0, axis=d)
    return y


# ---------------------------------------------------------------------------------------------
# Everything else: one gather (or scatter) whose index vectors gather the index arrays, the
# strided slices' positions and the starts of the unit-stride slices


class _GatherPlan(NamedTuple):
    indices: object
    dnums: GatherDimensionNumbers
    slice_sizes: tuple
    new_axes: tuple          # result dims added by None
    emptied: tuple           # of those, the ones a scalar False index empties
    result_shape: tuple
    valid: bool              # False when an index reaches into an axis of size 0


def _index_array(components, batch_shape):
    """Stack the index components (value, first batch dim) along a new last dim."""
    nb = len(batch_shape)
    if not any(isinstance(c, Tracer) for c, _ in components):
        out = np.zeros(tuple(batch_shape) + (len(components),), _INDEX)
        for j, (c, start) in enumerate(components):
            c = np.asarray(c)
            out[..., j] = c.reshape((1,) * start + c.shape + (1,) * (nb - start - c.ndim))
        return out
    cols = []
    for c, start in components:
        c = c if isinstance(c, Tracer) else np.asarray(c, _INDEX)
        ndim = get_aval(c).ndim
        cols.append(lax.broadcast_in_dim(c, tuple(batch_shape) + (1,), tuple(range(start, start + ndim))))
    return lax.concatenate(cols, nb)


def _gather_plan(shape, index):
    entries = index.entries
    x_axis, counter = {}, 0
    for p, e in enumerate(entries):
        if e[0] != 'none':
            x_axis[p] = counter
            counter += 1
    advanced = [p for p, e in enumerate(entries)
                if e[0] == 'array' or (index.has_arrays and e[0] in ('int', 'dynint'))]
    values = {p: _index_value(entries[p], shape[x_axis[p]], x_axis[p]) for p, e in enumerate(entries)
              if e[0] in ('int', 'dynint', 'array')}
    group_shape = ()
    if advanced:
        shapes = [get_aval(values[p]).shape for p in advanced]
        try:
            group_shape = tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with shapes "
                             f"{' '.join(shape_str(s) for s in shapes)}") from None
    group_at = 0 if index.advanced_first else (advanced[0] if advanced else None)
    components, batch_shape, offset_dims, collapsed, index_map = [], [], [], [], []
    sizes = list(shape)
    new_axes, emptied = [], []
    out = result = 0   # the next dim of the gather's output, and of the result (with new axes)
    for p, e in enumerate(entries):
        if p == group_at:
            for q in advanced:
                v = values[q]
                components.append((v, len(batch_shape) + len(group_shape) - get_aval(v).ndim))
                index_map.append(x_axis[q])
                collapsed.append(x_axis[q])
                sizes[x_axis[q]] = 1
            batch_shape.extend(group_shape)
            out += len(group_shape)
            result += len(group_shape)
        if p in advanced:
            continue
        if e[0] == 'none':
            new_axes.append(result)
            if not e[1]:
                emptied.append(result)
            result += 1
            continue
        a = x_axis[p]
        if e[0] in ('int', 'dynint'):
            components.append((values[p], len(batch_shape)))
            index_map.append(a)
            collapsed.append(a)
            sizes[a] = 1
            continue
        _, start, step, size = e
        if step == 1:
            if size != shape[a]:
                components.append((start, len(batch_shape)))
                index_map.append(a)
            sizes[a] = size
            offset_dims.append(out)
        else:
            components.append((start + step * np.arange(size), len(batch_shape)))
            batch_shape.append(size)
            index_map.append(a)
            collapsed.append(a)
            sizes[a] = 1
        out += 1
        result += 1
    dnums = GatherDimensionNumbers(offset_dims=tuple(offset_dims), collapsed_slice_dims=tuple(sorted(collapsed)),
                                   start_index_map=tuple(index_map))
    windows = iter(sizes[d] for d in range(len(shape)) if d not in collapsed)
    batches = iter(batch_shape)
    result_shape = [next(windows) if o in offset_dims else next(batches) for o in range(out)]
    for d in new_axes:
        result_shape.insert(d, 0 if d in emptied else 1)
    valid = all(k <= n for k, n in zip(sizes, shape))
    return _GatherPlan(_index_array(components, batch_shape), dnums, tuple(sizes), tuple(new_axes),
                       tuple(emptied), tuple(result_shape), valid)


def _index_value(entry, size, axis):
    if entry[0] == 'dynint':
        return _normalize_array(entry[1], size, axis, check_bounds=False)
    return entry[1]


def _full(shape, value, dtype):
    return lax.broadcast_in_dim(np.asarray(value, dtype)[()], shape, ())


def getitem(x, idx, mode=None, fill_value=None):
    """x[idx] with NumPy's semantics; mode and fill_value as for lax.gather (module docstring)."""
    shape = get_aval(x).shape
    index = _parse(shape, idx, check_bounds=mode is None)
    needs_fill = mode in ('fill', 'drop') and any(e[0] == 'dynint' for e in index.entries)
    if not index.has_arrays and not needs_fill:
        return _basic_getitem(x, index)
    plan = _gather_plan(shape, index)
    if not plan.valid:
        # An index reaches into an axis of size 0, so every window is out of bounds.
        dtype = get_aval(x).dtype
        if int(np.prod(plan.result_shape)) == 0:
            return _full(plan.result_shape, 0, dtype)
        if mode in ('fill', 'drop'):
            return _full(plan.result_shape, _default_fill_value(dtype) if fill_value is None else fill_value, dtype)
        raise IndexError(f"cannot index an axis of size 0 of an array of shape {shape_str(shape)}")
    y = lax.gather(x, plan.indices, plan.dnums, plan.slice_sizes, mode=mode, fill_value=fill_value)
    y = lax.expand_dims(y, plan.new_axes)
    for d in plan.emptied:
        y = lax.slice_in_dim(y, 0, 0, axis=d)
    return y


# ---------------------------------------------------------------------------------------------
# Functional updates: x.at[idx].set(v) and friends


def _cast(values, dtype):
    values = asarray_value(values, 'at')
    if isinstance(values, Tracer):
        return values if values.aval.dtype == dtype else lax.convert_element_type(values, dtype)
    values = np.asarray(values).astype(dtype)
    return values[()] if values.ndim == 0 else values   # a scalar stays a jaxpr literal


def _broadcast_values(values, shape):
    """values broadcast to the indexing result's shape (NumPy's rule for x[idx] = values)."""
    vshape = get_aval(values).shape
    trimmed = vshape
    while len(trimmed) > len(shape) and trimmed[0] == 1:
        trimmed = trimmed[1:]
    try:
        fits = np.broadcast_shapes(trimmed, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"shape mismatch: value array of shape {shape_str(vshape)} could not be broadcast to "
                         f"indexing result of shape {shape_str(shape)}")
    values = lax.reshape(values, trimmed)
    return lax.broadcast_in_dim(values, shape, tuple(range(len(shape) - len(trimmed), len(shape))))


def _update(x, idx, values, scatter, mode):
    aval = get_aval(x)
    plan = _gather_plan(aval.shape, _parse(aval.shape, idx, check_bounds=mode is None))
    values = _broadcast_values(_cast(values, aval.dtype), plan.result_shape)
    if not plan.valid and int(np.prod(plan.result_shape)) and mode in ('clip', 'promise_in_bounds'):
        raise IndexError(f"cannot clip an index into an axis of size 0 of an array of shape {shape_str(aval.shape)}")
    if int(np.prod(plan.result_shape)) == 0 or not plan.valid:   # nothing to write, or all of it dropped
        return x if isinstance(x, Tracer) else np.array(x)
    dn = plan.dnums
    dnums = ScatterDimensionNumbers(update_window_dims=dn.offset_dims, inserted_window_dims=dn.collapsed_slice_dims,
                                    scatter_dims_to_operand_dims=dn.start_index_map)
    return scatter(x, plan.indices, lax.squeeze(values, plan.new_axes), dnums, mode=mode)


class _IndexUpdateRef:
    """x.at[idx] (or fnp.at(x)[idx]): updates that return a new array and leave x unchanged.

    Where idx repeats an index, .set keeps one of the values written there (which one is
    unspecified), .add and .mul accumulate them, .min and .max take the extremum of them all.
    Out of bounds, with no mode: a static int or concrete index array raises IndexError (NumPy),
    a traced index's update is dropped (JAX). An explicit mode='drop' or 'clip' (or .get's 'fill'
    and 'clip') applies to every index, static or traced.
    """
    __slots__ = ('array', 'index')

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, mode=None, fill_value=None):
        return getitem(self.array, self.index, mode, fill_value)

    def set(self, values, *, mode=None):
        return _update(self.array, self.index, values, lax.scatter, mode)

    def add(self, values, *, mode=None):
        return _update(self.array, self.index, values, lax.scatter_add, mode)

    def mul(self, values, *, mode=None):
        return _update(self.array, self.index, values, lax.scatter_mul, mode)

    multiply = mul

    def min(self, values, *, mode=None):
        return _update(self.array, self.index, values, lax.scatter_min, mode)

    def max(self, values, *, mode=None):
        return _update(self.array, self.index, values, lax.scatter_max, mode)


def at(x):
    """fnp.at(x)[idx].set(v) (and .add, .mul, .min, .max, .get): JAX's x.at[idx] for any array.

    NumPy arrays have no .at property, so this is the spelling that works for NumPy arrays and
    tracers alike; the result is a new array (a NumPy value outside transformations).
    """
    return _AtIndexer(asarray_value(x, 'at'))


# ---------------------------------------------------------------------------------------------
# take and take_along_axis


def _as_integer_indices(indices, fname):
    indices = asarray_value(indices, fname)
    aval = get_aval(indices)
    if not dtypes.is_integer(aval.dtype):
        raise TypeError(f"fxad.numpy.{fname}: indices must be integers, got {aval.str_short()}")
    return indices


def _wrap(i, n):
    if not isinstance(i, Tracer):
        return np.mod(i, n)
    dtype = i.aval.dtype
    r = lax.rem(i, np.asarray(n, dtype)[()])
    return lax.select_n(lax.lt(r, np.asarray(0, dtype)[()]), r, lax.add(r, np.asarray(n, dtype)[()]))


def _clip(i, n):
    if not isinstance(i, Tracer):
        return np.clip(i, 0, n - 1)
    dtype = i.aval.dtype
    return lax.clamp(np.asarray(0, dtype)[()], i, np.asarray(n - 1, dtype)[()])


def take(a, indices, axis=None, mode=None, fill_value=None):
    """NumPy's take. mode None or 'raise': concrete out-of-bounds indices raise IndexError and
    traced ones are clamped; 'wrap' and 'clip' as in NumPy ('clip' also clips negative indices to
    0); 'fill': out-of-bounds indices give fill_value (NaN for inexact dtypes)."""
    a = asarray_value(a, 'take')
    indices = _as_integer_indices(indices, 'take')
    if axis is None:
        a = lax.reshape(a, (get_aval(a).size,))
        axis = 0
    axis = canonicalize_axis(axis, get_aval(a).ndim)
    n = get_aval(a).shape[axis]
    if mode in ('wrap', 'clip'):
        indices = (_wrap if mode == 'wrap' else _clip)(indices, n)
        mode = 'clip'
    elif mode in (None, 'raise'):
        mode = None
    elif mode != 'fill':
        raise ValueError(f"fxad.numpy.take: mode must be 'raise', 'wrap', 'clip' or 'fill', got {mode!r}")
    return getitem(a, (slice(None),) * axis + (indices,), mode, fill_value)


def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None):
    """NumPy's take_along_axis, as one gather whose other dims are batching dims.

    mode as for indexing: None (IndexError for concrete out-of-bounds indices, clamped traced
    ones), 'clip' or 'fill'."""
    arr = asarray_value(arr, 'take_along_axis')
    indices = _as_integer_indices(indices, 'take_along_axis')
    if axis is None:
        if get_aval(indices).ndim != 1:
            raise ValueError(f"fxad.numpy.take_along_axis: with axis=None the indices must have one dimension, "
                             f"got shape {shape_str(get_aval(indices).shape)}")
        arr = lax.reshape(arr, (get_aval(arr).size,))
        axis = 0
    a_shape, i_shape = get_aval(arr).shape, get_aval(indices).shape
    if len(a_shape) != len(i_shape):
        raise ValueError(f"fxad.numpy.take_along_axis: indices of shape {shape_str(i_shape)} and arr of shape "
                         f"{shape_str(a_shape)} must have the same number of dimensions")
    ndim = len(a_shape)
    axis = canonicalize_axis(axis, ndim)
    try:
        others = np.broadcast_shapes(tuple(1 if d == axis else n for d, n in enumerate(a_shape)),
                                     tuple(1 if d == axis else n for d, n in enumerate(i_shape)))
    except ValueError:
        raise ValueError(f"fxad.numpy.take_along_axis: indices of shape {shape_str(i_shape)} do not broadcast "
                         f"against arr of shape {shape_str(a_shape)} outside axis {axis}") from None
    arr = lax.broadcast_in_dim(arr, others[:axis] + (a_shape[axis],) + others[axis + 1:], tuple(range(ndim)))
    indices = lax.broadcast_in_dim(indices, others[:axis] + (i_shape[axis],) + others[axis + 1:], tuple(range(ndim)))
    indices = _normalize_array(indices, a_shape[axis], axis, check_bounds=mode is None)
    indices = lax.expand_dims(indices, (ndim,)) if isinstance(indices, Tracer) else indices[..., None]
    batch = tuple(d for d in range(ndim) if d != axis)
    dnums = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(axis,), start_index_map=(axis,),
                                   operand_batching_dims=batch, start_indices_batching_dims=batch)
    return lax.gather(arr, indices, dnums, (1,) * ndim, mode=mode, fill_value=fill_value)
