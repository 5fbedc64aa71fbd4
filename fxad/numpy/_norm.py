"""fxad.numpy.linalg.norm: vector and matrix norms composed from reductions (and svdvals for the
spectral and nuclear norms)."""
import numpy as np

from .. import lax
from ..core import get_aval
from .util import asarray_value, canonicalize_axis, promote_to_inexact, scalar_like

__all__ = ['norm']


def _safe_l2(x, axes):
    """sqrt(sum(x**2)) whose gradient at x = 0 is 0 rather than NaN (the sqrt is guarded)."""
    sq = lax.reduce_sum(lax.square(x), axes)
    is_zero = lax.eq(sq, _like(sq, 0))
    root = lax.sqrt(lax.select_n(is_zero, sq, _like(sq, 1)))
    return lax.select_n(is_zero, root, _like(sq, 0))


def _like(x, value):
    """value broadcast to x's shape and dtype (an operand select_n accepts beside x)."""
    v = scalar_like(x, value)
    shape = get_aval(x).shape
    return lax.broadcast_in_dim(v, shape, ()) if shape else v


def _vector_norm(x, ord, axis):
    a = lax.abs(x)
    if ord is None or ord == 2:
        return _safe_l2(x, (axis,))
    if ord == np.inf:
        return lax.reduce_max(a, (axis,))
    if ord == -np.inf:
        return lax.reduce_min(a, (axis,))
    if ord == 0:
        return lax.reduce_sum(lax.convert_element_type(lax.ne(x, _like(x, 0)), get_aval(x).dtype), (axis,))
    if ord == 1:
        return lax.reduce_sum(a, (axis,))
    p = scalar_like(x, ord)
    return lax.pow(lax.reduce_sum(lax.pow(a, _like(a, p)), (axis,)), scalar_like(x, 1 / ord))


def _matrix_norm(x, ord, row, col):
    if ord is None or ord == 'fro':
        return _safe_l2(x, (row, col))
    a = lax.abs(x)
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum (and their minima for -1, -inf).
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        sums = lax.reduce_sum(a, (summed,))
        pick = lax.reduce_max if ord in (1, np.inf) else lax.reduce_min
        return pick(sums, (other - (other > summed),))
    if ord in (2, -2, 'nuc'):
        from .linalg import svdvals
        s = svdvals(_to_last_two(x, row, col))
        last = get_aval(s).ndim - 1
        if ord == 'nuc':
            return lax.reduce_sum(s, (last,))
        return (lax.reduce_max if ord == 2 else lax.reduce_min)(s, (last,))
    raise ValueError(f"fxad.numpy.linalg.norm: invalid norm order {ord!r} for matrices")


def _to_last_two(x, row, col):
    ndim = get_aval(x).ndim
    perm = [i for i in range(ndim) if i not in (row, col)] + [row, col]
    return lax.transpose(x, perm)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, -inf, 0, p) over one axis and matrix norms (None/'fro',
    'nuc', 1, -1, 2, -2, inf, -inf) over two, as numpy.linalg.norm.

    With axis=None and ord=None, the 2-norm of the flattened array; its gradient at 0 is 0.
    """
    x, = promote_to_inexact('linalg.norm', asarray_value(x, 'linalg.norm'))
    ndim = get_aval(x).ndim
    if axis is None:
        if ord is None:
            out = _safe_l2(x, tuple(range(ndim)))
            return lax.reshape(out, (1,) * ndim) if keepdims else out
        if ndim not in (1, 2):
            raise ValueError(f"fxad.numpy.linalg.norm: ord={ord!r} needs a 1-D or 2-D array or an "
                             f"axis; got shape {get_aval(x).shape}")
        axis = tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(canonicalize_axis(a, ndim, 'linalg.norm') for a in axes)
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"fxad.numpy.linalg.norm: invalid norm order {ord!r} for vectors")
        out = _vector_norm(x, ord, axes[0])
    elif len(axes) == 2 and axes[0] != axes[1]:
        out = _matrix_norm(x, ord, *axes)
    else:
        raise ValueError(f"fxad.numpy.linalg.norm: axis must be one axis or two distinct axes, got {axis!r}")
    return lax.expand_dims(out, tuple(sorted(axes))) if keepdims else out

