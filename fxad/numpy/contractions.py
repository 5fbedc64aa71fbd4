"""The matmul family under NumPy's names (dot, matmul/@, tensordot, inner, outer, vdot, trace),
each one dot_general with NumPy's shape rules after dtype promotion; and diagonal.

A product that needs no transposition is a single dot_general on the operands as given.
trace contracts with a shifted identity matrix; diagonal is a strided slice, not a product.
"""

__all__ = ['dot', 'matmul', 'tensordot', 'inner', 'outer', 'vdot', 'trace', 'diagonal']

import numpy as np

from .. import dtypes, lax
from ..core import get_aval
from ..lax.utils import canonicalize_axis
from .einsum import contract_pair, take_diagonal
from .util import check_arg, promote_dtypes

_NO_DIMS = ((), ())


def _shape(x):
    return get_aval(x).shape


def dot(a, b):
    """numpy.dot: a's last axis with b's second-to-last (or only) axis; a scalar scales."""
    a, b = promote_dtypes('dot', a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return lax.dot_general(a, b, (_NO_DIMS, _NO_DIMS))
    b_axis = max(len(sb) - 2, 0)
    if sa[-1] != sb[b_axis]:
        raise ValueError(f"dot: shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) "
                         f"!= {sb[b_axis]} (dim {b_axis})")
    return lax.dot_general(a, b, (((len(sa) - 1,), (b_axis,)), _NO_DIMS))


def matmul(a, b):
    """numpy.matmul (the @ operator): stacks of matrices with broadcast leading dims.

    A leading dim that is 1 or missing on one side is a free dim of the other side's dot, not
    a broadcast copy; only dims present on both sides become dot_general batch dims.
    """
    a, b = promote_dtypes('matmul', a, b)
    sa, sb = _shape(a), _shape(b)
    for i, s in enumerate((sa, sb)):
        if not s:
            raise ValueError(f"matmul: input operand {i} does not have enough dimensions (it is "
                             f"a scalar); use multiply or dot for scalars")
    a_vec, b_vec = len(sa) == 1, len(sb) == 1
    ka, kb = sa[-1], sb[0] if b_vec else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: input operand 1 has a mismatch in its core dimension 0 "
                         f"(size {kb} is different from {ka}): shapes {sa} and {sb}")
    a_batch, b_batch = sa[:-2], sb[:-2]
    nbatch = max(len(a_batch), len(b_batch))
    # Label dims: ('b', i) for broadcast position i, then the matrix dims 'm', 'k', 'n'.
    a_labels = [('b', i + nbatch - len(a_batch)) for i in range(len(a_batch))] + (['k'] if a_vec else ['m', 'k'])
    b_labels = [('b', i + nbatch - len(b_batch)) for i in range(len(b_batch))] + (['k'] if b_vec else ['k', 'n'])
    try:
        batch_shape = np.broadcast_shapes(a_batch, b_batch)
    except ValueError:
        raise ValueError(f"matmul: operands could not be broadcast together with shapes {sa} and "
                         f"{sb} (their leading dims {a_batch} and {b_batch} do not broadcast)") from None
    out_labels = [('b', i) for i in range(len(batch_shape))] + ([] if a_vec else ['m']) + ([] if b_vec else ['n'])
    out, labels = contract_pair(a, a_labels, b, b_labels, set(out_labels))
    return lax.transpose(out, tuple(labels.index(c) for c in out_labels))


def tensordot(a, b, axes=2):
    """numpy.tensordot: contract a's last `axes` dims with b's first (or the listed pairs)."""
    a, b = promote_dtypes('tensordot', a, b)
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if not 0 <= n <= min(len(sa), len(sb)):
            raise ValueError(f"tensordot: axes={n} is out of range for shapes {sa} and {sb}")
        axes_a, axes_b = tuple(range(len(sa) - n, len(sa))), tuple(range(n))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of axis sequences, got {axes!r}") from None
        axes_a = (axes_a,) if isinstance(axes_a, (int, np.integer)) else tuple(axes_a)
        axes_b = (axes_b,) if isinstance(axes_b, (int, np.integer)) else tuple(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError(f"tensordot: shape-mismatch for sum: {len(axes_a)} axes of a and "
                             f"{len(axes_b)} axes of b")
        axes_a = tuple(canonicalize_axis(i, len(sa)) for i in axes_a)
        axes_b = tuple(canonicalize_axis(i, len(sb)) for i in axes_b)
    for i, j in zip(axes_a, axes_b):
        if sa[i] != sb[j]:
            raise ValueError(f"tensordot: shape-mismatch for sum: axis {i} of shape {sa} has size "
                             f"{sa[i]} but axis {j} of shape {sb} has size {sb[j]}")
    return lax.dot_general(a, b, ((axes_a, axes_b), _NO_DIMS))


def inner(a, b):
    """numpy.inner: contract the last axes of a and b; a scalar scales."""
    a, b = promote_dtypes('inner', a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return lax.dot_general(a, b, (_NO_DIMS, _NO_DIMS))
    if sa[-1] != sb[-1]:
        raise ValueError(f"inner: shapes {sa} and {sb} not aligned: their last dimensions differ "
                         f"({sa[-1]} vs {sb[-1]})")
    return lax.dot_general(a, b, (((len(sa) - 1,), (len(sb) - 1,)), _NO_DIMS))


def _ravel(x):
    return lax.reshape(x, (get_aval(x).size,))


def outer(a, b):
    """numpy.outer: the flattened operands' outer product, a dot_general contracting nothing."""
    a, b = promote_dtypes('outer', a, b)
    return lax.dot_general(_ravel(a), _ravel(b), (_NO_DIMS, _NO_DIMS))


def vdot(a, b):
    """numpy.vdot: the flattened operands' inner product, conjugating a."""
    a, b = promote_dtypes('vdot', a, b)
    if get_aval(a).size != get_aval(b).size:
        raise ValueError(f"vdot: operands must have the same number of elements, got shapes "
                         f"{_shape(a)} and {_shape(b)}")
    if get_aval(a).dtype.kind == 'c':
        import fxad.numpy as fnp
        a = fnp.conjugate(a)
    return lax.dot_general(_ravel(a), _ravel(b), (((0,), (0,)), _NO_DIMS))


def _diagonal_axes_args(fname, a, axis1, axis2):
    a = check_arg(a, fname)
    shape = _shape(a)
    if len(shape) < 2:
        raise ValueError(f"{fname}: the array must have at least two dimensions, got shape {shape}")
    ax1 = canonicalize_axis(axis1, len(shape), 'axis1')
    ax2 = canonicalize_axis(axis2, len(shape), 'axis2')
    if ax1 == ax2:
        raise ValueError(f"{fname}: axis1 and axis2 cannot be the same (both are {ax1})")
    return a, shape, ax1, ax2


def _accumulation_dtype(a, dtype):
    # As numpy.sum: small integers and booleans accumulate in the default integer.
    if dtype is not None:
        return np.dtype(dtype)
    d = get_aval(a).dtype
    if dtypes.is_bool(d):
        return dtypes.int_
    if d.kind == 'i' and d.itemsize < dtypes.int_.itemsize:
        return dtypes.int_
    if d.kind == 'u' and d.itemsize < 8:
        return np.dtype('uint64')
    return d


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """numpy.trace: sum of a[..., i, i + offset] over i, one dot_general with a shifted identity."""
    a, shape, ax1, ax2 = _diagonal_axes_args('trace', a, axis1, axis2)
    out_dtype = _accumulation_dtype(a, dtype)
    if get_aval(a).dtype != out_dtype:
        a = lax.convert_element_type(a, out_dtype)
    shifted_eye = np.eye(shape[ax1], shape[ax2], k=int(offset), dtype=out_dtype)
    return lax.dot_general(a, shifted_eye, (((ax1, ax2), (0, 1)), _NO_DIMS))


def diagonal(a, offset=0, axis1=0, axis2=1):
    """numpy.diagonal: a[..., i, i + offset] with the diagonal as the last axis (a strided slice
    of the two axes flattened)."""
    a, _, ax1, ax2 = _diagonal_axes_args('diagonal', a, axis1, axis2)
    return take_diagonal(a, ax1, ax2, int(offset))
