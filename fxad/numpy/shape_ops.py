"""Shape manipulation, joining and splitting, selection, sorting and padding under NumPy's names.

Everything is a composition of lax shape primitives (reshape, transpose, broadcast_in_dim,
concatenate, slice, pad, rev, sort) and select_n.
"""
import builtins
import math
import operator

import numpy as np

from .. import dtypes, lax
from ..core import Tracer, get_aval
from . import ufuncs
from .util import (asarray_value, broadcast_all, broadcast_shapes as _broadcast_shapes, broadcast_to_shape,
                   canonicalize_axes, canonicalize_axis, canonicalize_shape, check_arg, concrete, is_eager,
                   numpy_result, promote_dtypes, scalar_like)

__all__ = ['reshape', 'ravel', 'transpose', 'permute_dims', 'swapaxes', 'moveaxis', 'squeeze',
           'expand_dims', 'broadcast_to', 'broadcast_arrays', 'broadcast_shapes', 'concatenate', 'concat',
           'stack', 'hstack', 'vstack', 'split', 'array_split', 'where', 'nonzero', 'clip', 'sort',
           'argsort', 'flip', 'fliplr', 'flipud', 'roll', 'tile', 'repeat', 'pad', 'tril', 'triu',
           'diag', 'atleast_1d', 'atleast_2d', 'atleast_3d', 'astype', 'copy', 'shape', 'ndim', 'size']


def _shape_str(shapes):
    return ', '.join(str(tuple(s)) for s in shapes)


# ---------------------------------------------------------------------------------------------
# Reshaping and transposing


def reshape(a, shape=None, order='C', *, newshape=None, copy=None):
    """a with a new shape of the same size (one entry may be -1), as numpy.reshape."""
    a = check_arg(a, 'reshape')
    if newshape is not None:
        shape = newshape
    if shape is None:
        raise TypeError("fxad.numpy.reshape: missing the new shape")
    size = get_aval(a).size
    shape = canonicalize_shape(shape, 'reshape')
    if shape.count(-1) > 1 or builtins.any(s < -1 for s in shape):
        raise ValueError(f"fxad.numpy.reshape: invalid shape {shape}: only one dimension may be -1")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"fxad.numpy.reshape: cannot reshape an array of shape {get_aval(a).shape} "
                             f"(size {size}) into shape {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(f"fxad.numpy.reshape: cannot reshape an array of shape {get_aval(a).shape} "
                         f"(size {size}) into shape {shape}")
    if order == 'F':
        # Column-major order is row-major order on the reversed axes.
        return lax.transpose(lax.reshape(transpose(a), shape[::-1]), tuple(range(len(shape)))[::-1])
    if order not in ('C', 'A'):
        raise ValueError(f"fxad.numpy.reshape: order must be 'C', 'F' or 'A', got {order!r}")
    return numpy_result(lax.reshape(a, shape))


def ravel(a, order='C'):
    """a flattened to 1-D, as numpy.ravel."""
    return reshape(a, (-1,), order)


def transpose(a, axes=None):
    """a with its axes permuted (reversed by default), as numpy.transpose."""
    a = check_arg(a, 'transpose')
    ndim = get_aval(a).ndim
    if axes is None:
        return numpy_result(lax.transpose(a, tuple(range(ndim))[::-1]))
    perm = tuple(canonicalize_axis(ax, ndim, 'transpose') for ax in axes)
    if sorted(perm) != list(range(ndim)):
        raise ValueError(f"fxad.numpy.transpose: axes {tuple(axes)} are not a permutation of the "
                         f"axes of an array of shape {get_aval(a).shape}")
    return numpy_result(lax.transpose(a, perm))


def permute_dims(a, /, axes=None):
    return transpose(a, axes)


def swapaxes(a, axis1, axis2):
    """a with axes axis1 and axis2 interchanged, as numpy.swapaxes."""
    a = check_arg(a, 'swapaxes')
    ndim = get_aval(a).ndim
    i, j = canonicalize_axis(axis1, ndim, 'swapaxes'), canonicalize_axis(axis2, ndim, 'swapaxes')
    perm = list(range(ndim))
    perm[i], perm[j] = j, i
    return numpy_result(lax.transpose(a, perm))


def moveaxis(a, source, destination):
    """a with axes source moved to positions destination (ints or sequences), as numpy.moveaxis."""
    a = check_arg(a, 'moveaxis')
    ndim = get_aval(a).ndim
    src = [source] if not isinstance(source, (tuple, list)) else list(source)
    dst = [destination] if not isinstance(destination, (tuple, list)) else list(destination)
    if len(src) != len(dst):
        raise ValueError("fxad.numpy.moveaxis: source and destination must have the same number of elements")
    src = [canonicalize_axis(s, ndim, 'moveaxis') for s in src]
    dst = [canonicalize_axis(d, ndim, 'moveaxis') for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("fxad.numpy.moveaxis: repeated axis in source or destination")
    perm = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return numpy_result(lax.transpose(a, perm))


def squeeze(a, axis=None):
    """a without its size-1 axes (or just `axis`, which must have size 1), as numpy.squeeze."""
    a = check_arg(a, 'squeeze')
    shape = get_aval(a).shape
    if axis is None:
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        axes = canonicalize_axes(axis, len(shape), 'squeeze')
        for i in axes:
            if shape[i] != 1:
                raise ValueError(f"fxad.numpy.squeeze: cannot squeeze axis {i} of an array of shape "
                                 f"{shape}: its size is not one")
    return numpy_result(lax.squeeze(a, axes))


def expand_dims(a, axis):
    """a with new size-1 axes at positions `axis` of the result, as numpy.expand_dims."""
    a = check_arg(a, 'expand_dims')
    n_new = len(axis) if isinstance(axis, (tuple, list)) else 1
    axes = canonicalize_axes(axis, get_aval(a).ndim + n_new, 'expand_dims')
    return lax.expand_dims(a, axes)


def broadcast_shapes(*shapes):
    return _broadcast_shapes('broadcast_shapes', *[canonicalize_shape(s, 'broadcast_shapes') for s in shapes])


def broadcast_to(array, shape):
    """array broadcast to `shape` by NumPy's rule, as numpy.broadcast_to."""
    array = check_arg(array, 'broadcast_to')
    shape = canonicalize_shape(shape, 'broadcast_to')
    src = get_aval(array).shape
    try:
        ok = np.broadcast_shapes(src, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"fxad.numpy.broadcast_to: cannot broadcast an array of shape {src} to "
                         f"shape {shape}")
    return numpy_result(broadcast_to_shape(array, shape))


def broadcast_arrays(*args):
    """The arguments broadcast against each other, as numpy.broadcast_arrays (a tuple)."""
    args = [check_arg(x, 'broadcast_arrays') for x in args]
    return tuple(numpy_result(x) for x in broadcast_all('broadcast_arrays', *args))


# ---------------------------------------------------------------------------------------------
# Joining and splitting


def _sequence(arrays, fname):
    if isinstance(arrays, (Tracer, np.ndarray)):
        raise TypeError(f"fxad.numpy.{fname} expects a sequence of arrays")
    arrays = [check_arg(x, fname) for x in arrays]
    if not arrays:
        raise ValueError(f"fxad.numpy.{fname}: need at least one array")
    return arrays


def _promoted(arrays, dtype, fname):
    if dtype is None:
        return promote_dtypes(fname, *arrays)
    dtype = np.dtype(dtype)
    return [lax.convert_element_type(x, dtype) for x in arrays]


def concatenate(arrays, axis=0, out=None, dtype=None):
    """The arrays joined along an existing axis (None: flattened first), as numpy.concatenate."""
    if out is not None:
        raise TypeError("fxad.numpy.concatenate: out= is not supported (fxad arrays are immutable)")
    if isinstance(arrays, (Tracer, np.ndarray)):
        # The rows of one array joined along `axis`: its leading axis merges into that axis.
        x = check_arg(arrays, 'concatenate')
        rows_shape = get_aval(x).shape
        if axis is None:
            return ravel(_promoted([x], dtype, 'concatenate')[0])
        axis = canonicalize_axis(axis, len(rows_shape) - 1, 'concatenate')
        merged = rows_shape[1:axis + 1] + (rows_shape[0] * rows_shape[axis + 1],) + rows_shape[axis + 2:]
        return lax.reshape(moveaxis(_promoted([x], dtype, 'concatenate')[0], 0, axis), merged)
    arrays = _sequence(arrays, 'concatenate')
    if axis is None:
        arrays, axis = [ravel(x) for x in arrays], 0
    arrays = _promoted(arrays, dtype, 'concatenate')
    shapes = [get_aval(x).shape for x in arrays]
    ndim = len(shapes[0])
    if ndim == 0 or builtins.any(len(s) != ndim for s in shapes):
        raise ValueError(f"fxad.numpy.concatenate: arrays must have the same number of dimensions, "
                         f"at least one; got shapes {_shape_str(shapes)}")
    axis = canonicalize_axis(axis, ndim, 'concatenate')
    if len({s[:axis] + s[axis + 1:] for s in shapes}) != 1:
        raise ValueError(f"fxad.numpy.concatenate: array shapes {_shape_str(shapes)} differ in a "
                         f"dimension other than the concatenation axis {axis}")
    return numpy_result(lax.concatenate(arrays, axis))


concat = concatenate


def stack(arrays, axis=0, out=None, *, dtype=None):
    """The arrays (all of one shape) joined along a new axis, as numpy.stack."""
    if out is not None:
        raise TypeError("fxad.numpy.stack: out= is not supported (fxad arrays are immutable)")
    if isinstance(arrays, (Tracer, np.ndarray)):
        x = check_arg(arrays, 'stack')
        return moveaxis(_promoted([x], dtype, 'stack')[0], 0, axis)
    arrays = _sequence(arrays, 'stack')
    shapes = [get_aval(x).shape for x in arrays]
    if len(set(shapes)) != 1:
        raise ValueError(f"fxad.numpy.stack: all input arrays must have the same shape, got "
                         f"{_shape_str(shapes)}")
    axis = canonicalize_axis(axis, len(shapes[0]) + 1, 'stack')
    arrays = _promoted(arrays, dtype, 'stack')
    return lax.concatenate([lax.expand_dims(x, (axis,)) for x in arrays], axis)


def hstack(tup, *, dtype=None):
    """Join along axis 1 (axis 0 for 1-D arrays), as numpy.hstack."""
    arrays = atleast_1d(*_sequence(tup, 'hstack'))
    arrays = [arrays] if not isinstance(arrays, tuple) else arrays
    axis = 0 if get_aval(arrays[0]).ndim == 1 else 1
    return concatenate(arrays, axis, dtype=dtype)


def vstack(tup, *, dtype=None):
    """Join along axis 0 after making arrays at least 2-D, as numpy.vstack."""
    arrays = atleast_2d(*_sequence(tup, 'vstack'))
    arrays = [arrays] if not isinstance(arrays, tuple) else arrays
    return concatenate(arrays, 0, dtype=dtype)


def _slice_axis(x, start, stop, axis):
    shape = get_aval(x).shape
    if start == 0 and stop == shape[axis]:
        return x
    starts, limits = [0] * len(shape), list(shape)
    starts[axis], limits[axis] = start, stop
    return lax.slice(x, starts, limits)


def _split_at(ary, boundaries, axis):
    n = get_aval(ary).shape[axis]
    edges = [0] + list(boundaries) + [n]
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        r = range(n)[slice(lo, hi)]
        pieces.append(numpy_result(_slice_axis(ary, r.start, r.start + len(r), axis)))
    return pieces


def array_split(ary, indices_or_sections, axis=0):
    """Split into sections (sizes differing by at most one) or at indices, as numpy.array_split."""
    ary = check_arg(ary, 'array_split')
    axis = canonicalize_axis(axis, get_aval(ary).ndim, 'array_split')
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("fxad.numpy.array_split: number of sections must be larger than 0")
        n = get_aval(ary).shape[axis]
        size, extra = divmod(n, sections)
        sizes = [size + 1] * extra + [size] * (sections - extra)
        return _split_at(ary, np.cumsum(sizes[:-1]).tolist(), axis)
    return _split_at(ary, [operator.index(i) for i in indices_or_sections], axis)


def split(ary, indices_or_sections, axis=0):
    """Split into equal sections or at indices along axis, as numpy.split."""
    ary = check_arg(ary, 'split')
    if isinstance(indices_or_sections, (int, np.integer)):
        axis_ = canonicalize_axis(axis, get_aval(ary).ndim, 'split')
        n = get_aval(ary).shape[axis_]
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"fxad.numpy.split: array split does not result in an equal division: "
                             f"axis {axis_} of shape {get_aval(ary).shape} into {indices_or_sections} sections")
    return array_split(ary, indices_or_sections, axis)


def atleast_1d(*arys):
    return _atleast(arys, 1, 'atleast_1d')


def atleast_2d(*arys):
    return _atleast(arys, 2, 'atleast_2d')


def atleast_3d(*arys):
    return _atleast(arys, 3, 'atleast_3d')


def _atleast(arys, n, fname):
    out = []
    for x in arys:
        x = check_arg(x, fname)
        out.append(numpy_result(lax.reshape(x, _atleast_shape(get_aval(x).shape, n))))
    return out[0] if len(out) == 1 else tuple(out)


def _atleast_shape(shape, n):
    """NumPy's placement of new axes: (k,) becomes (1, k) in 2-D and (1, k, 1) in 3-D."""
    if len(shape) >= n:
        return shape
    if not shape:
        return (1,) * n
    if len(shape) == 1:
        return (1,) + shape + (1,) * (n - 2)
    return shape + (1,)


# ---------------------------------------------------------------------------------------------
# Selection


def where(condition, x=None, y=None, /):
    """x where condition is true, else y (broadcast together), as numpy.where.

    With only a condition it is nonzero(condition), which needs a concrete condition.
    """
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("fxad.numpy.where: either both or neither of x and y should be given")
    condition = check_arg(condition, 'where')
    if get_aval(condition).dtype != dtypes.bool_:
        condition = ufuncs.not_equal(condition, 0)
    x, y = promote_dtypes('where', x, y)
    condition, x, y = broadcast_all('where', condition, x, y)
    return numpy_result(lax.select_n(condition, y, x))


def nonzero(a):
    """The indices of the nonzero elements, one array per axis; a must be concrete (its result's
    size depends on its values)."""
    a = check_arg(a, 'nonzero')
    value = concrete(a, 'nonzero', "argument (the size of the result depends on the values; use the "
                                   "three-argument fnp.where(condition, x, y) under transformations)")
    return np.nonzero(value)


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    """a limited to [a_min, a_max] (either may be None), as numpy.clip: minimum(maximum(a, lo), hi)."""
    if out is not None:
        raise TypeError("fxad.numpy.clip: out= is not supported (fxad arrays are immutable)")
    if (a_min is not None and min is not None) or (a_max is not None and max is not None):
        raise TypeError("fxad.numpy.clip: give each bound once, as a_min/a_max or min/max")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    a = check_arg(a, 'clip')
    if lo is not None:
        a = ufuncs.maximum(a, lo)
    if hi is not None:
        a = ufuncs.minimum(a, hi)
    return numpy_result(a)


# ---------------------------------------------------------------------------------------------
# Sorting and reordering


def _axis_or_flat(a, axis, fname):
    """(a, axis) with axis None meaning the flattened array, as NumPy's sort-like functions."""
    if axis is None:
        return lax.reshape(a, (get_aval(a).size,)), 0
    return a, canonicalize_axis(axis, get_aval(a).ndim, fname)


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """a sorted along axis (None: flattened) in ascending order, NaNs last, as numpy.sort."""
    a, axis = _axis_or_flat(check_arg(a, 'sort'), axis, 'sort')
    if order is not None:
        raise NotImplementedError("fxad.numpy.sort: order= (structured arrays) is not supported")
    return lax.sort(a, dimension=axis, is_stable=True, num_keys=1)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """The indices that sort a along axis (a stable sort), as numpy.argsort."""
    a, axis = _axis_or_flat(check_arg(a, 'argsort'), axis, 'argsort')
    if order is not None:
        raise NotImplementedError("fxad.numpy.argsort: order= (structured arrays) is not supported")
    iota = lax.broadcasted_iota(dtypes.int_, get_aval(a).shape, axis)
    _, perm = lax.sort((a, iota), dimension=axis, is_stable=True, num_keys=1)
    return perm


def flip(m, axis=None):
    """m with the order of elements reversed along axis (None: all axes), as numpy.flip."""
    m = check_arg(m, 'flip')
    return numpy_result(lax.rev(m, canonicalize_axes(axis, get_aval(m).ndim, 'flip')))


def fliplr(m):
    m = check_arg(m, 'fliplr')
    if get_aval(m).ndim < 2:
        raise ValueError("fxad.numpy.fliplr: input must be at least 2-D")
    return flip(m, 1)


def flipud(m):
    m = check_arg(m, 'flipud')
    if get_aval(m).ndim < 1:
        raise ValueError("fxad.numpy.flipud: input must be at least 1-D")
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Elements shifted cyclically by `shift` along axis (None: the flattened array), as numpy.roll.

    The shift must be concrete; each axis is two slices joined in the other order.
    """
    a = check_arg(a, 'roll')
    shape = get_aval(a).shape
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape)
    shifts, axes = np.broadcast_arrays(np.asarray(concrete(shift, 'roll', 'shift'), int), np.asarray(axis))
    total = {}
    for s, ax in zip(shifts.ravel().tolist(), axes.ravel().tolist()):
        ax = canonicalize_axis(ax, len(shape), 'roll')
        total[ax] = total.get(ax, 0) + s
    for ax, s in total.items():
        n = shape[ax]
        s = s % n if n else 0
        if s:
            a = lax.concatenate([_slice_axis(a, n - s, n, ax), _slice_axis(a, 0, n - s, ax)], ax)
    return numpy_result(a)


def tile(A, reps):
    """A repeated reps[i] times along each axis, as numpy.tile."""
    A = check_arg(A, 'tile')
    reps = canonicalize_shape(reps, 'tile')
    shape = get_aval(A).shape
    n = builtins.max(len(reps), len(shape))
    reps = (1,) * (n - len(reps)) + reps
    shape = (1,) * (n - len(shape)) + shape
    # out[(r, s)] = A[s] on the interleaved shape (reps[0], shape[0], reps[1], ...), then merged.
    interleaved = tuple(d for pair in zip(reps, shape) for d in pair)
    tiled = lax.broadcast_in_dim(lax.reshape(A, shape), interleaved, tuple(range(1, 2 * n, 2)))
    return numpy_result(lax.reshape(tiled, tuple(r * s for r, s in zip(reps, shape))))


def repeat(a, repeats, axis=None):
    """Each element repeated `repeats` times along axis (None: flattened), as numpy.repeat.

    `repeats` must be one concrete integer.
    """
    a, axis = _axis_or_flat(check_arg(a, 'repeat'), axis, 'repeat')
    repeats = np.asarray(concrete(repeats, 'repeat', 'repeats'))
    if repeats.ndim and repeats.size != 1:
        raise NotImplementedError("fxad.numpy.repeat: only a single repeat count is supported")
    r = int(repeats.ravel()[0])
    if r < 0:
        raise ValueError("fxad.numpy.repeat: repeats may not be negative")
    shape = get_aval(a).shape
    wide = shape[:axis + 1] + (r,) + shape[axis + 1:]
    kept = tuple(i for i in range(len(wide)) if i != axis + 1)
    out_shape = shape[:axis] + (shape[axis] * r,) + shape[axis + 1:]
    return lax.reshape(lax.broadcast_in_dim(a, wide, kept), out_shape)


_PAD_MODES = ('constant', 'edge', 'reflect', 'symmetric', 'wrap')


def pad(array, pad_width, mode='constant', *, constant_values=None, reflect_type='even'):
    """array padded as numpy.pad, pad_width in NumPy's forms: an int, (before, after), or one
    (before, after) pair per axis. Modes: 'constant' (constant_values), 'edge', 'reflect',
    'symmetric' and 'wrap' (these with reflect_type='even' only)."""
    array = check_arg(array, 'pad')
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"fxad.numpy.pad: mode={mode!r} is not supported; only "
                                  f"{', '.join(map(repr, _PAD_MODES))}")
    if reflect_type != 'even':
        raise NotImplementedError(f"fxad.numpy.pad: reflect_type={reflect_type!r} is not supported; only 'even'")
    shape = get_aval(array).shape
    ndim = len(shape)
    widths = _pad_pairs(concrete(pad_width, 'pad', 'pad_width'), ndim, 'pad_width', int)
    if (widths < 0).any():
        raise ValueError(f"fxad.numpy.pad: pad_width {pad_width!r} may not be negative")
    if mode != 'constant':
        if constant_values is not None:
            raise ValueError(f"fxad.numpy.pad: constant_values is not an argument of mode {mode!r}")
        for axis, (lo, hi) in enumerate(widths.tolist()):
            array = _pad_axis(array, axis, lo, hi, mode)
        return numpy_result(array)
    dtype = get_aval(array).dtype
    constant_values = 0 if constant_values is None else constant_values
    if isinstance(constant_values, Tracer) and get_aval(constant_values).ndim == 0:
        value = lax.convert_element_type(constant_values, dtype)
        return lax.pad(array, value, [(lo, hi, 0) for lo, hi in widths.tolist()])
    values = _pad_pairs(concrete(constant_values, 'pad', 'constant_values'), ndim, 'constant_values', None)
    if values.size == 0 or (values == values.flat[0]).all():
        fill = dtype.type(values.flat[0]) if values.size else dtype.type(0)
        return numpy_result(lax.pad(array, fill, [(lo, hi, 0) for lo, hi in widths.tolist()]))
    # Different values per side: pad one side at a time; later axes cover the corners, as NumPy.
    for ax in range(ndim):
        for side in (0, 1):
            config = [(0, 0, 0)] * ndim
            config[ax] = (int(widths[ax, 0]), 0, 0) if side == 0 else (0, int(widths[ax, 1]), 0)
            array = lax.pad(array, dtype.type(values[ax, side]), config)
    return array


def _pad_axis(x, axis, lo, hi, mode):
    """x padded along one axis by a non-constant mode. 'edge' repeats the end values; the others
    take lo + n + hi consecutive values of x's periodic extension along the axis, whose period
    is x (wrap), x then reversed x (symmetric), or x then reversed x without its ends (reflect)."""
    n = get_aval(x).shape[axis]
    if lo == hi == 0:
        return x
    if n == 0:
        raise ValueError(f"fxad.numpy.pad: cannot pad the empty axis {axis} with mode {mode!r}; "
                         f"only mode='constant' can")
    if mode == 'edge' or (mode == 'reflect' and n == 1):
        first, last = lax.slice_in_dim(x, 0, 1, axis=axis), lax.slice_in_dim(x, n - 1, n, axis=axis)
        return lax.concatenate([_repeat_along(first, lo, axis), x, _repeat_along(last, hi, axis)], axis)
    if mode == 'wrap':
        period = [x]
    elif mode == 'symmetric':
        period = [x, lax.rev(x, (axis,))]
    else:
        period = [x, lax.rev(lax.slice_in_dim(x, 1, n - 1, axis=axis), (axis,))]
    p = builtins.sum(get_aval(part).shape[axis] for part in period)
    before, after = -(-lo // p), -(-(n + hi) // p)  # whole periods on each side of position 0
    tiled = lax.concatenate(period * (before + after), axis)
    start = before * p - lo
    return lax.slice_in_dim(tiled, start, start + lo + n + hi, axis=axis)


def _repeat_along(x, count, axis):
    """x, of size 1 along axis, repeated count times along it."""
    shape = list(get_aval(x).shape)
    shape[axis] = count
    return lax.broadcast_in_dim(lax.squeeze(x, (axis,)), tuple(shape), tuple(i for i in range(len(shape)) if i != axis))


def _pad_pairs(value, ndim, what, dtype):
    value = np.asarray(value, dtype)
    try:
        return np.broadcast_to(value, (ndim, 2))
    except ValueError:
        raise ValueError(f"fxad.numpy.pad: {what} of shape {value.shape} cannot be broadcast to "
                         f"({ndim}, 2), one (before, after) pair per axis") from None


# ---------------------------------------------------------------------------------------------
# Triangles and diagonals


def _triangle(name, keep):
    def fn(m, k=0):
        m = check_arg(m, name)
        shape = get_aval(m).shape
        if len(shape) == 0:
            raise ValueError(f"fxad.numpy.{name}: input must be at least 1-D")
        if len(shape) == 1:
            m = lax.broadcast_in_dim(m, shape * 2, (1,))
            shape = shape * 2
        nd = len(shape)
        rows = lax.broadcasted_iota(dtypes.int_, shape[-2:], 0)
        cols = lax.broadcasted_iota(dtypes.int_, shape[-2:], 1)
        mask = lax.broadcast_in_dim(keep(lax.sub(cols, rows), np.int64(k)), shape, (nd - 2, nd - 1))
        zeros = lax.broadcast_in_dim(scalar_like(m, 0), shape, ())
        return lax.select_n(mask, zeros, m)
    fn.__name__ = name
    fn.__doc__ = (f"m with the elements {'above' if name == 'tril' else 'below'} the k-th diagonal zeroed "
                  f"(on the last two axes), as numpy.{name}.")
    return fn


tril = _triangle('tril', lax.le)
triu = _triangle('triu', lax.ge)


def diag(v, k=0):
    """The k-th diagonal of a 2-D array, or a 2-D array with a 1-D array on its k-th diagonal."""
    v = check_arg(v, 'diag')
    shape = get_aval(v).shape
    if len(shape) == 2:
        from .contractions import diagonal
        return diagonal(v, offset=k)
    if len(shape) != 1:
        raise ValueError(f"fxad.numpy.diag: input must be 1-D or 2-D, got shape {shape}")
    k = operator.index(k)
    n = shape[0] + builtins.abs(k)
    # out[i, j] = v[i] on j - i == k (k >= 0), v[j] on it (k < 0): v padded, broadcast along one axis.
    padded = lax.pad(v, scalar_like(v, 0), [(0, builtins.abs(k), 0)])
    spread = lax.broadcast_in_dim(padded, (n, n), (0,) if k >= 0 else (1,))
    offsets = lax.sub(lax.broadcasted_iota(dtypes.int_, (n, n), 1), lax.broadcasted_iota(dtypes.int_, (n, n), 0))
    zeros = lax.broadcast_in_dim(scalar_like(v, 0), (n, n), ())
    return lax.select_n(lax.eq(offsets, np.int64(k)), zeros, spread)


# ---------------------------------------------------------------------------------------------
# Dtype, copies and shape queries


def astype(x, dtype, /, *, copy=True):
    """x converted to dtype, as numpy.astype."""
    x = check_arg(x, 'astype')
    return numpy_result(lax.convert_element_type(x, dtypes.canonicalize(dtype)))


def copy(a, order='K'):
    """A copy of a (tracers are immutable values, so under transformations a itself)."""
    a = asarray_value(a, 'copy')
    if is_eager() and not isinstance(a, Tracer):
        return np.array(a, copy=True)
    return a


def shape(a):
    return get_aval(check_arg(a, 'shape')).shape


def ndim(a):
    return get_aval(check_arg(a, 'ndim')).ndim


def size(a, axis=None):
    s = get_aval(check_arg(a, 'size')).shape
    return math.prod(s) if axis is None else s[canonicalize_axis(axis, len(s), 'size')]
