"""Reductions over axes: reduce_sum (linear), and the rest of the family.

Each primitive takes `axes`, a sorted tuple of the reduced axes.
"""

__all__ = ['reduce_sum']

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad, batching
from ..interpreters.ad import Zero
from .utils import shape_str


def _reduced_shape(name, x, axes):
    for a in axes:
        if not 0 <= a < x.ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for an array of shape {shape_str(x.shape)}")
    return tuple(s for i, s in enumerate(x.shape) if i not in axes)


def _batch_axes(axes, d):
    """The reduced axes of the batched operand (batch dim d stays)."""
    return tuple(a + (a >= d) for a in axes)


def _out_batch_dim(axes, d):
    return d - sum(1 for a in axes if a < d)


# ---------------------------------------------------------------------------------------------
# reduce_sum

reduce_sum_p = Primitive('reduce_sum')


def _reduce_sum_impl(x, *, axes):
    return np.sum(x, axis=axes)


def _reduce_sum_abstract_eval(x, *, axes):
    if x.dtype.kind == 'b':
        raise TypeError("reduce_sum does not accept boolean values; convert them first")
    return ShapedArray(_reduced_shape('reduce_sum', x, axes), x.dtype, x.weak_type)


def _reduce_sum_transpose(ct, x, *, axes):
    from .shapes import broadcast_in_dim
    if type(ct) is Zero:
        return [Zero(x.aval)]
    kept = tuple(i for i in range(x.aval.ndim) if i not in axes)
    return [broadcast_in_dim(ct, x.aval.shape, kept)]


def _reduce_sum_batch(vals, dims, *, axes):
    d = dims[0]
    return reduce_sum(vals[0], _batch_axes(axes, d)), _out_batch_dim(_batch_axes(axes, d), d)


reduce_sum_p.impl = _reduce_sum_impl
reduce_sum_p.abstract_eval = _reduce_sum_abstract_eval
reduce_sum_p.batch = _reduce_sum_batch
ad.deflinear(reduce_sum_p, _reduce_sum_transpose)


def reduce_sum(x, axes):
    ndim = get_aval(x).ndim
    axes = tuple(sorted(int(a) % ndim for a in axes)) if ndim else ()
    if not axes:
        return x
    return reduce_sum_p.bind(x, axes=axes)
