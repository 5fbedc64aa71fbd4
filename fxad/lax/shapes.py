"""Structural primitives: broadcast_in_dim, reshape, transpose, squeeze, expand_dims, rev,
concatenate, pad, and the operand-free iota.

All but iota are linear; each transpose undoes the shape change (a broadcast transposes to a sum,
a pad to a strided slice, a concatenation to slices).
"""

__all__ = ['broadcast_in_dim', 'broadcast', 'reshape', 'transpose', 'moveaxis', 'squeeze', 'expand_dims',
           'rev', 'concatenate', 'pad', 'iota', 'broadcasted_iota']

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad, batching
from ..interpreters.ad import Zero
from .utils import aval_of, same_dtype, shape_str


# ---------------------------------------------------------------------------------------------
# broadcast_in_dim: operand dim i becomes output dim broadcast_dimensions[i]

broadcast_in_dim_p = Primitive('broadcast_in_dim')


def _broadcast_in_dim_impl(x, *, shape, broadcast_dimensions):
    x = np.asarray(x)
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape)


def _broadcast_in_dim_abstract_eval(x, *, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim:
        raise ValueError(f"broadcast_in_dim: operand of shape {shape_str(x.shape)} needs "
                         f"{x.ndim} broadcast_dimensions, got {broadcast_dimensions}")
    if any(b <= a for a, b in zip(broadcast_dimensions, broadcast_dimensions[1:])):
        raise ValueError(f"broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must be "
                         f"strictly increasing")
    for i, d in enumerate(broadcast_dimensions):
        if not 0 <= d < len(shape) or x.shape[i] not in (1, shape[d]):
            raise ValueError(f"broadcast_in_dim: cannot broadcast operand of shape "
                             f"{shape_str(x.shape)} to shape {shape_str(shape)} with "
                             f"broadcast_dimensions {broadcast_dimensions}")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _broadcast_in_dim_transpose(ct, x, *, shape, broadcast_dimensions):
    from .reductions import reduce_sum
    if type(ct) is Zero:
        return [Zero(x.aval)]
    # Sum over the new dims and over the operand's size-1 dims that were stretched.
    summed = tuple(d for d in range(len(shape)) if d not in broadcast_dimensions) + tuple(
        d for i, d in enumerate(broadcast_dimensions) if x.aval.shape[i] == 1 and shape[d] != 1)
    out = reduce_sum(ct, tuple(sorted(summed))) if summed else ct
    if get_aval(out).shape != x.aval.shape:
        out = reshape(out, x.aval.shape)
    return [out]


def _broadcast_in_dim_batch(vals, dims, *, shape, broadcast_dimensions):
    x, = vals
    d, = dims
    x = batching.moveaxis(x, d, 0)
    size = get_aval(x).shape[0]
    new_dims = (0,) + tuple(b + 1 for b in broadcast_dimensions)
    return broadcast_in_dim(x, (size,) + tuple(shape), new_dims), 0


broadcast_in_dim_p.impl = _broadcast_in_dim_impl
broadcast_in_dim_p.abstract_eval = _broadcast_in_dim_abstract_eval
broadcast_in_dim_p.batch = _broadcast_in_dim_batch
ad.deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)


def broadcast_in_dim(x, shape, broadcast_dimensions):
    shape = tuple(int(s) for s in shape)
    broadcast_dimensions = tuple(int(d) for d in broadcast_dimensions)
    if get_aval(x).shape == shape and broadcast_dimensions == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=broadcast_dimensions)


def broadcast(x, sizes):
    """Add leading dimensions of the given sizes."""
    aval = get_aval(x)
    n = len(sizes)
    return broadcast_in_dim(x, tuple(sizes) + aval.shape, tuple(range(n, n + aval.ndim)))


def _zeros_staged(shape, dtype):
    # Zeros as JAX stages them: a broadcast scalar literal.
    zero = np.zeros((), dtype)[()]
    return zero if not shape else broadcast_in_dim(zero, shape, ())


ad.zeros_maker = _zeros_staged

# ---------------------------------------------------------------------------------------------
# reshape

reshape_p = Primitive('reshape')


def _reshape_impl(x, *, new_sizes):
    return np.reshape(x, new_sizes)


def _reshape_abstract_eval(x, *, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ValueError(f"reshape: cannot reshape an array of shape {shape_str(x.shape)} "
                         f"(size {x.size}) into shape {shape_str(new_sizes)}")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


def _reshape_back_transpose(ct, x, **params):
    """The transpose of reshape, squeeze and expand_dims: reshape the cotangent back."""
    return [Zero(x.aval) if type(ct) is Zero else reshape(ct, x.aval.shape)]


def _reshape_batch(vals, dims, *, new_sizes):
    x, = vals
    x = batching.moveaxis(x, dims[0], 0)
    return reshape(x, (get_aval(x).shape[0],) + tuple(new_sizes)), 0


reshape_p.impl = _reshape_impl
reshape_p.abstract_eval = _reshape_abstract_eval
reshape_p.batch = _reshape_batch
ad.deflinear(reshape_p, _reshape_back_transpose)


def reshape(x, new_sizes):
    new_sizes = tuple(int(s) for s in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


# ---------------------------------------------------------------------------------------------
# transpose

transpose_p = Primitive('transpose')


def _transpose_impl(x, *, permutation):
    return np.transpose(x, permutation)


def _transpose_abstract_eval(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: permutation {permutation} is not a permutation of the axes "
                         f"of an array of shape {shape_str(x.shape)}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


def _transpose_transpose(ct, x, *, permutation):
    # y = transpose(x, p) has y axis i = x axis p[i]; the inverse permutation argsort(p) undoes it.
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [transpose(ct, tuple(np.argsort(permutation)))]


def _transpose_batch(vals, dims, *, permutation):
    x, = vals
    d = dims[0]
    # Keep the batch dim where it is; shift the permuted axes around it.
    perm = tuple(p if p < d else p + 1 for p in permutation)
    perm = (d,) + perm
    return transpose(x, perm), 0


transpose_p.impl = _transpose_impl
transpose_p.abstract_eval = _transpose_abstract_eval
transpose_p.batch = _transpose_batch
ad.deflinear(transpose_p, _transpose_transpose)


def transpose(x, permutation):
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


def moveaxis(x, src, dst):
    ndim = get_aval(x).ndim
    src, dst = src % ndim, dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, perm)


def _batching_broadcast(x, size, axis):
    aval = get_aval(x)
    shape = aval.shape[:axis] + (size,) + aval.shape[axis:]
    dims = tuple(i for i in range(len(shape)) if i != axis)
    return broadcast_in_dim(x, shape, dims)


batching.moveaxis = moveaxis
batching.broadcast = _batching_broadcast

# ---------------------------------------------------------------------------------------------
# squeeze and expand_dims

squeeze_p = Primitive('squeeze')


def _squeeze_impl(x, *, dimensions):
    return np.squeeze(x, dimensions) if dimensions else x


def _squeeze_abstract_eval(x, *, dimensions):
    for d in dimensions:
        if not 0 <= d < x.ndim or x.shape[d] != 1:
            raise ValueError(f"squeeze: cannot squeeze dimension {d} of an array of shape "
                             f"{shape_str(x.shape)}: it must have size 1")
    shape = tuple(s for i, s in enumerate(x.shape) if i not in dimensions)
    return ShapedArray(shape, x.dtype, x.weak_type)


def _squeeze_batch(vals, dims, *, dimensions):
    x = batching.moveaxis(vals[0], dims[0], 0)
    return squeeze(x, tuple(d + 1 for d in dimensions)), 0


squeeze_p.impl = _squeeze_impl
squeeze_p.abstract_eval = _squeeze_abstract_eval
squeeze_p.batch = _squeeze_batch
ad.deflinear(squeeze_p, _reshape_back_transpose)


def squeeze(x, dimensions):
    ndim = get_aval(x).ndim
    dimensions = tuple(sorted(int(d) % ndim for d in dimensions)) if ndim else ()
    if not dimensions:
        return x
    return squeeze_p.bind(x, dimensions=dimensions)


expand_dims_p = Primitive('expand_dims')


def _expand_dims_impl(x, *, dimensions):
    return np.expand_dims(x, dimensions)


def _expand_dims_abstract_eval(x, *, dimensions):
    ndim = x.ndim + len(dimensions)
    if any(not 0 <= d < ndim for d in dimensions) or len(set(dimensions)) != len(dimensions):
        raise ValueError(f"expand_dims: invalid dimensions {dimensions} for an array of shape "
                         f"{shape_str(x.shape)}")
    shape = list(x.shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


def _expand_dims_batch(vals, dims, *, dimensions):
    x = batching.moveaxis(vals[0], dims[0], 0)
    return expand_dims(x, tuple(d + 1 for d in dimensions)), 0


expand_dims_p.impl = _expand_dims_impl
expand_dims_p.abstract_eval = _expand_dims_abstract_eval
expand_dims_p.batch = _expand_dims_batch
ad.deflinear(expand_dims_p, _reshape_back_transpose)


def expand_dims(x, dimensions):
    ndim = get_aval(x).ndim + len(dimensions)
    dimensions = tuple(sorted(int(d) % ndim for d in dimensions))
    if not dimensions:
        return x
    return expand_dims_p.bind(x, dimensions=dimensions)


def normalize_dims(dims, ndim):
    """Dimensions as ints, negatives counted from the end; out-of-range ones are left for the shape rule."""
    return tuple(int(d) % ndim if -ndim <= int(d) < 0 else int(d) for d in dims)


# ---------------------------------------------------------------------------------------------
# rev: reverse the order of elements along `dimensions`

rev_p = Primitive('rev')


def _rev_impl(x, *, dimensions):
    return np.flip(x, dimensions)


def _rev_abstract_eval(x, *, dimensions):
    if any(not 0 <= d < x.ndim for d in dimensions) or len(set(dimensions)) != len(dimensions):
        raise ValueError(f"rev: dimensions {dimensions} must be distinct axes of the operand of shape "
                         f"{shape_str(x.shape)}")
    return ShapedArray(x.shape, x.dtype, x.weak_type)


def _rev_transpose(ct, x, *, dimensions):
    return [Zero(x.aval) if type(ct) is Zero else rev(ct, dimensions)]


def _rev_batch(vals, dims, *, dimensions):
    d = dims[0]
    # The batch dim stays at d; operand axis a is axis a + 1 of the batched value when a >= d.
    return rev(vals[0], tuple(a + (a >= d) for a in dimensions)), d


rev_p.impl = _rev_impl
rev_p.abstract_eval = _rev_abstract_eval
rev_p.batch = _rev_batch
ad.deflinear(rev_p, _rev_transpose)


def rev(x, dimensions):
    dimensions = tuple(sorted(normalize_dims(dimensions, get_aval(x).ndim)))
    if not dimensions:
        return x
    return rev_p.bind(x, dimensions=dimensions)


# ---------------------------------------------------------------------------------------------
# concatenate: operands of equal shape except along `dimension`, joined along it

concatenate_p = Primitive('concatenate')


def _concatenate_impl(*operands, dimension):
    return np.concatenate(operands, axis=dimension)


def _concatenate_abstract_eval(*operands, dimension):
    if not operands:
        raise TypeError("concatenate needs at least one operand")
    shapes = ', '.join(shape_str(o.shape) for o in operands)
    ndim = operands[0].ndim
    if any(o.ndim != ndim for o in operands) or not 0 <= dimension < ndim:
        raise ValueError(f"concatenate: operands of shapes {shapes} must have equal ranks of at least 1, "
                         f"with dimension {dimension} among their axes")
    others = {o.shape[:dimension] + o.shape[dimension + 1:] for o in operands}
    if len(others) != 1:
        raise ValueError(f"concatenate: operands of shapes {shapes} differ in a dimension other than "
                         f"the concatenated dimension {dimension}")
    dtype = same_dtype('concatenate', operands)
    shape = list(operands[0].shape)
    shape[dimension] = sum(o.shape[dimension] for o in operands)
    return ShapedArray(tuple(shape), dtype, all(o.weak_type for o in operands))


def _concatenate_transpose(ct, *operands, dimension):
    # Operand i's cotangent is the slice of ct that it fills along `dimension`.
    if type(ct) is Zero:
        return [Zero(o.aval) if ad.is_undefined_primal(o) else None for o in operands]
    from .slicing import slice as lax_slice
    shape = get_aval(ct).shape
    cts, start = [], 0
    for o in operands:
        size = aval_of(o).shape[dimension]
        if ad.is_undefined_primal(o):
            starts = [0] * len(shape)
            limits = list(shape)
            starts[dimension], limits[dimension] = start, start + size
            cts.append(lax_slice(ct, starts, limits))
        else:
            cts.append(None)
        start += size
    return cts


def _concatenate_batch(vals, dims, *, dimension):
    size = batching.batch_size(vals, dims)
    moved = [batching.matchaxis(size, d, 0, v) for v, d in zip(vals, dims)]
    return concatenate(moved, dimension + 1), 0


concatenate_p.impl = _concatenate_impl
concatenate_p.abstract_eval = _concatenate_abstract_eval
concatenate_p.batch = _concatenate_batch
ad.deflinear(concatenate_p, _concatenate_transpose)


def concatenate(operands, dimension):
    operands = list(operands)
    if not operands:
        raise TypeError("concatenate needs at least one operand")
    if len(operands) == 1:
        return operands[0]
    dimension, = normalize_dims((dimension,), get_aval(operands[0]).ndim)
    return concatenate_p.bind(*operands, dimension=dimension)


# ---------------------------------------------------------------------------------------------
# pad: padding_config holds (low, high, interior) per dim; negative low/high crop

pad_p = Primitive('pad')


def _dilated(n, interior):
    """The size of n elements with `interior` padding between each pair."""
    return n + max(n - 1, 0) * interior


def _pad_impl(x, padding_value, *, padding_config):
    x = np.asarray(x)
    # Place x on a grid with only the non-negative padding, then crop the negative padding.
    grid = [max(lo, 0) + max(hi, 0) + _dilated(n, i) for n, (lo, hi, i) in zip(x.shape, padding_config)]
    out = np.full(grid, padding_value, x.dtype)
    out[tuple(slice(max(lo, 0), max(lo, 0) + _dilated(n, i), i + 1)
              for n, (lo, hi, i) in zip(x.shape, padding_config))] = x
    out = out[tuple(slice(max(-lo, 0), g - max(-hi, 0)) for g, (lo, hi, _) in zip(grid, padding_config))]
    return out[()] if out.ndim == 0 else out


def _pad_abstract_eval(x, padding_value, *, padding_config):
    if padding_value.shape:
        raise ValueError(f"pad: padding_value must be a scalar, got shape {shape_str(padding_value.shape)}")
    same_dtype('pad', [x, padding_value])
    if len(padding_config) != x.ndim or any(i < 0 for _, _, i in padding_config):
        raise ValueError(f"pad: padding_config {padding_config} needs one (low, high, interior) triple, "
                         f"with interior >= 0, per dimension of the operand of shape {shape_str(x.shape)}")
    shape = tuple(lo + hi + _dilated(n, i) for n, (lo, hi, i) in zip(x.shape, padding_config))
    if any(s < 0 for s in shape):
        raise ValueError(f"pad: padding_config {padding_config} crops the operand of shape "
                         f"{shape_str(x.shape)} to the negative shape {shape_str(shape)}")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _pad_transpose(ct, x, padding_value, *, padding_config):
    if type(ct) is Zero:
        return [Zero(x.aval) if ad.is_undefined_primal(x) else None,
                Zero(padding_value.aval) if ad.is_undefined_primal(padding_value) else None]
    from .elementwise import sub
    from .reductions import reduce_sum
    from .slicing import slice as lax_slice
    # Negate low/high (padding is cropped away, cropped places return as zeros), then keep every
    # (interior + 1)-th element.
    ct_aval = get_aval(ct)
    unpadded = pad(ct, np.zeros((), ct_aval.dtype)[()], [(-lo, -hi, 0) for lo, hi, _ in padding_config])
    t_x = lax_slice(unpadded, [0] * ct_aval.ndim, get_aval(unpadded).shape, [i + 1 for _, _, i in padding_config])
    t_pv = None
    if ad.is_undefined_primal(padding_value):
        everything = tuple(range(ct_aval.ndim))
        t_pv = sub(reduce_sum(ct, everything), reduce_sum(t_x, everything))
    return [t_x if ad.is_undefined_primal(x) else None, t_pv]


def _pad_batch(vals, dims, *, padding_config):
    from .elementwise import select_n
    x, padding_value = vals
    xd, vd = dims
    if xd is None:
        x, xd = batching.broadcast(x, get_aval(padding_value).shape[vd], 0), 0
    config = list(padding_config)
    config.insert(xd, (0, 0, 0))
    if vd is None:
        return pad(x, padding_value, config), xd
    # A batched padding value: pad with zeros, then select each example's value where padding went.
    x_aval = get_aval(x)
    padded = pad(x, np.zeros((), x_aval.dtype)[()], config)
    is_operand = _pad_impl(np.ones(x_aval.shape, bool), False, padding_config=tuple(config))
    fill = broadcast_in_dim(padding_value, get_aval(padded).shape, (xd,))
    return select_n(is_operand, fill, padded), xd


pad_p.impl = _pad_impl
pad_p.abstract_eval = _pad_abstract_eval
pad_p.batch = _pad_batch
ad.deflinear(pad_p, _pad_transpose)


def pad(x, padding_value, padding_config):
    padding_config = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    if isinstance(padding_value, (bool, int, float, complex)):
        padding_value = np.asarray(padding_value, get_aval(x).dtype)[()]
    return pad_p.bind(x, padding_value, padding_config=padding_config)


# ---------------------------------------------------------------------------------------------
# iota: 0, 1, 2, ... along `dimension` of `shape`; no operands, no derivative, never batched

iota_p = Primitive('iota')


def _iota_impl(*, dtype, shape, dimension):
    line = np.arange(shape[dimension], dtype=dtype)
    return np.broadcast_to(line.reshape([-1 if d == dimension else 1 for d in range(len(shape))]), shape).copy()


def _iota_abstract_eval(*, dtype, shape, dimension):
    if dtype.kind not in 'iuf':
        raise TypeError(f"iota needs an integer or floating dtype, got {dtype.name}")
    if any(s < 0 for s in shape) or not 0 <= dimension < len(shape):
        raise ValueError(f"iota: dimension {dimension} must be an axis of the non-negative shape "
                         f"{shape_str(shape)}")
    return ShapedArray(shape, dtype)


def _iota_batch(vals, dims, **params):
    # Without operands iota never sees a batch: its output is the same for every example.
    return iota_p.bind(**params), None


iota_p.impl = _iota_impl
iota_p.abstract_eval = _iota_abstract_eval
iota_p.batch = _iota_batch
ad.defjvp_zero(iota_p)


def broadcasted_iota(dtype, shape, dimension):
    shape = tuple(int(s) for s in shape)
    dimension, = normalize_dims((dimension,), len(shape))
    return iota_p.bind(dtype=np.dtype(dtype), shape=shape, dimension=dimension)


def iota(dtype, size):
    return broadcasted_iota(dtype, (size,), 0)
