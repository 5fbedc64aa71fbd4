"""Shape primitives: broadcast_in_dim, reshape, transpose, squeeze, expand_dims.

All are linear; each transpose undoes the shape change (a broadcast transposes to a sum).
"""

__all__ = ['broadcast_in_dim', 'broadcast', 'reshape', 'transpose', 'moveaxis', 'squeeze', 'expand_dims']

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad, batching
from ..interpreters.ad import Zero
from .utils import shape_str


def _linear(prim, transpose_rule):
    ad.deflinear(prim, transpose_rule)


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
_linear(broadcast_in_dim_p, _broadcast_in_dim_transpose)


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


def _reshape_transpose(ct, x, *, new_sizes):
    return [Zero(x.aval) if type(ct) is Zero else reshape(ct, x.aval.shape)]


def _reshape_batch(vals, dims, *, new_sizes):
    x, = vals
    x = batching.moveaxis(x, dims[0], 0)
    return reshape(x, (get_aval(x).shape[0],) + tuple(new_sizes)), 0


reshape_p.impl = _reshape_impl
reshape_p.abstract_eval = _reshape_abstract_eval
reshape_p.batch = _reshape_batch
_linear(reshape_p, _reshape_transpose)


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
_linear(transpose_p, _transpose_transpose)


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


def _squeeze_transpose(ct, x, *, dimensions):
    return [Zero(x.aval) if type(ct) is Zero else reshape(ct, x.aval.shape)]


def _squeeze_batch(vals, dims, *, dimensions):
    x = batching.moveaxis(vals[0], dims[0], 0)
    return squeeze(x, tuple(d + 1 for d in dimensions)), 0


squeeze_p.impl = _squeeze_impl
squeeze_p.abstract_eval = _squeeze_abstract_eval
squeeze_p.batch = _squeeze_batch
_linear(squeeze_p, _squeeze_transpose)


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


def _expand_dims_transpose(ct, x, *, dimensions):
    return [Zero(x.aval) if type(ct) is Zero else reshape(ct, x.aval.shape)]


def _expand_dims_batch(vals, dims, *, dimensions):
    x = batching.moveaxis(vals[0], dims[0], 0)
    return expand_dims(x, tuple(d + 1 for d in dimensions)), 0


expand_dims_p.impl = _expand_dims_impl
expand_dims_p.abstract_eval = _expand_dims_abstract_eval
expand_dims_p.batch = _expand_dims_batch
_linear(expand_dims_p, _expand_dims_transpose)


def expand_dims(x, dimensions):
    ndim = get_aval(x).ndim + len(dimensions)
    dimensions = tuple(sorted(int(d) % ndim for d in dimensions))
    if not dimensions:
        return x
    return expand_dims_p.bind(x, dimensions=dimensions)
