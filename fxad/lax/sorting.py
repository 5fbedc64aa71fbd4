"""sort: one multi-operand primitive that sorts every operand along `dimension` by the first
`num_keys` operands (lexicographically, stably), as JAX's sort_p does.

Its JVP sorts an iota alongside the operands and gathers each tangent with the resulting permutation.
"""

__all__ = ['sort', 'sort_key_val']

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad, batching
from ..interpreters.ad import Zero
from .shapes import broadcasted_iota, expand_dims, normalize_dims
from .slicing import GatherDimensionNumbers, gather
from .utils import shape_str

sort_p = Primitive('sort', multiple_results=True)


def _sort_impl(*operands, dimension, is_stable, num_keys):
    # np.lexsort is stable (so is_stable=False is honoured too) and takes its primary key last.
    operands = [np.asarray(o) for o in operands]
    perm = np.lexsort(operands[:num_keys][::-1], axis=dimension)
    return [np.take_along_axis(o, perm, axis=dimension) for o in operands]


def _sort_abstract_eval(*operands, dimension, is_stable, num_keys):
    if not operands:
        raise TypeError("sort needs at least one operand")
    shape = operands[0].shape
    if any(o.shape != shape for o in operands):
        raise ValueError(f"sort: operands must have equal shapes, got "
                         f"{', '.join(shape_str(o.shape) for o in operands)}")
    if not 0 <= dimension < len(shape):
        raise ValueError(f"sort: dimension {dimension} is out of bounds for operands of shape {shape_str(shape)}")
    if not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: num_keys={num_keys} must be between 1 and the number of operands, "
                         f"{len(operands)}")
    return [ShapedArray(o.shape, o.dtype, o.weak_type) for o in operands]


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    # Sorting an iota with the operands gives the permutation perm: out[k] = operand[perm[k]].
    iota = broadcasted_iota(np.int64, get_aval(primals[0]).shape, dimension)
    *outs, perm = sort_p.bind(*primals, iota, dimension=dimension, is_stable=is_stable, num_keys=num_keys)
    tangents_out = [Zero(ad.tangent_aval(get_aval(o))) if type(t) is Zero else _permute(t, perm, dimension)
                    for o, t in zip(outs, tangents)]
    return outs, tangents_out


def _permute(t, perm, dimension):
    """take_along_axis(t, perm, dimension): one gather whose other dims are batching dims."""
    ndim = get_aval(t).ndim
    others = tuple(d for d in range(ndim) if d != dimension)
    dnums = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(dimension,), start_index_map=(dimension,),
                                   operand_batching_dims=others, start_indices_batching_dims=others)
    return gather(t, expand_dims(perm, (ndim,)), dnums, (1,) * ndim, mode='promise_in_bounds')


def _sort_batch(vals, dims, *, dimension, is_stable, num_keys):
    # Line every operand's batch dim up with the first one's, d; sort along the shifted dimension.
    d = next(b for b in dims if b is not None)
    size = get_aval(vals[dims.index(d)]).shape[d]
    moved = [batching.matchaxis(size, b, d, v) for v, b in zip(vals, dims)]
    outs = sort_p.bind(*moved, dimension=dimension + (dimension >= d), is_stable=is_stable, num_keys=num_keys)
    return outs, [d] * len(outs)


sort_p.impl = _sort_impl
sort_p.abstract_eval = _sort_abstract_eval
sort_p.jvp = _sort_jvp
sort_p.batch = _sort_batch


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort one array, or a tuple of arrays by its first num_keys entries (returns a tuple)."""
    single = not isinstance(operand, (tuple, list))
    operands = (operand,) if single else tuple(operand)
    if not operands:
        raise TypeError("sort needs at least one operand")
    dimension, = normalize_dims((dimension,), get_aval(operands[0]).ndim)
    outs = sort_p.bind(*operands, dimension=dimension, is_stable=bool(is_stable), num_keys=int(num_keys))
    return outs[0] if single else tuple(outs)


def sort_key_val(keys, values, dimension=-1):
    """(keys sorted along dimension, values permuted the same way)."""
    return sort((keys, values), dimension, is_stable=True, num_keys=1)
