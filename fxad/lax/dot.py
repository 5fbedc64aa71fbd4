"""dot_general: the one contraction primitive under dot, matmul, tensordot and einsum.

dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)); the result
has the batch dims, then lhs's free dims, then rhs's free dims. It is bilinear: its JVP is two
dot_generals and each transpose is a dot_general of the cotangent with the other operand.
"""
import math

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad
from ..interpreters.ad import Zero, is_undefined_primal
from .utils import shape_str

dot_general_p = Primitive('dot_general')


def _free_dims(ndim, contracting, batch):
    return [i for i in range(ndim) if i not in contracting and i not in batch]


_MATMUL_DIMS = (((1,), (0,)), ((), ()))


def _dot_general_impl(lhs, rhs, *, dimension_numbers):
    if dimension_numbers == _MATMUL_DIMS and np.ndim(lhs) == 2 and np.ndim(rhs) == 2:
        return np.matmul(lhs, rhs)  # the common matrix product, without the general plumbing
    (lc, rc), (lb, rb) = dimension_numbers
    lhs = np.asarray(lhs)
    rhs = np.asarray(rhs)
    ls, rs = lhs.shape, rhs.shape
    lf = _free_dims(lhs.ndim, lc, lb)
    rf = _free_dims(rhs.ndim, rc, rb)
    out_shape = tuple(ls[i] for i in lb) + tuple(ls[i] for i in lf) + tuple(rs[i] for i in rf)
    k = math.prod(ls[i] for i in lc)
    m = math.prod(ls[i] for i in lf)
    n = math.prod(rs[i] for i in rf)
    # (batch, lhs free, contract) @ (batch, contract, rhs free) as one matmul (a 2-D one when
    # there is no batch); sizes are explicit because a -1 is ambiguous for zero-size operands.
    a = lhs.transpose(list(lb) + lf + list(lc))
    b = rhs.transpose(list(rb) + list(rc) + rf)
    if lb:
        nb = math.prod(ls[i] for i in lb)
        a, b = a.reshape(nb, m, k), b.reshape(nb, k, n)
    else:
        a, b = a.reshape(m, k), b.reshape(k, n)
    out = np.matmul(a, b).reshape(out_shape)
    return out[()] if out.ndim == 0 else out


def _check_dims(name, dims, ndim, side):
    for d in dims:
        if not 0 <= d < ndim:
            raise ValueError(f"dot_general: {side} {name} dimension {d} out of range for rank {ndim}")
    if len(set(dims)) != len(dims):
        raise ValueError(f"dot_general: repeated {side} {name} dimensions {dims}")


def _dot_general_abstract_eval(lhs, rhs, *, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    _check_dims('contracting', lc, lhs.ndim, 'lhs')
    _check_dims('contracting', rc, rhs.ndim, 'rhs')
    _check_dims('batch', lb, lhs.ndim, 'lhs')
    _check_dims('batch', rb, rhs.ndim, 'rhs')
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise ValueError(f"dot_general: lhs and rhs need as many contracting and batch dimensions, "
                         f"got {dimension_numbers}")
    for a, b in zip(lc, rc):
        if lhs.shape[a] != rhs.shape[b]:
            raise ValueError(f"dot_general: contracting dimensions of shapes {shape_str(lhs.shape)} "
                             f"and {shape_str(rhs.shape)} differ in size ({lhs.shape[a]} vs "
                             f"{rhs.shape[b]}) for dimension_numbers {dimension_numbers}")
    for a, b in zip(lb, rb):
        if lhs.shape[a] != rhs.shape[b]:
            raise ValueError(f"dot_general: batch dimensions of shapes {shape_str(lhs.shape)} and "
                             f"{shape_str(rhs.shape)} differ in size ({lhs.shape[a]} vs "
                             f"{rhs.shape[b]}) for dimension_numbers {dimension_numbers}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general requires operands of the same dtype, got "
                        f"{lhs.dtype.name} and {rhs.dtype.name}")
    if lhs.dtype == dtypes.bool_:
        raise TypeError("dot_general does not accept boolean operands")
    shape = (tuple(lhs.shape[i] for i in lb)
             + tuple(lhs.shape[i] for i in _free_dims(lhs.ndim, lc, lb))
             + tuple(rhs.shape[i] for i in _free_dims(rhs.ndim, rc, rb)))
    return ShapedArray(shape, lhs.dtype, lhs.weak_type and rhs.weak_type)


def dot_general(lhs, rhs, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(int(i) for i in lc), tuple(int(i) for i in rc)),
          (tuple(int(i) for i in lb), tuple(int(i) for i in rb)))
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dn)


def _ranges_like(*lists):
    start = 0
    for xs in lists:
        yield list(range(start, start + len(xs)))
        start += len(xs)


def _transpose_lhs(ct, x_aval, y, dimension_numbers):
    # ct has dims (batch, x free, y free). Contract ct's y-free dims with y's free dims, keep
    # the batch, then put the result (batch, x free, x contracting in y's order) into x's layout.
    from .shapes import transpose
    (xc, yc), (xb, yb) = dimension_numbers
    x_free = _free_dims(x_aval.ndim, xc, xb)
    y_free = _free_dims(get_aval(y).ndim, yc, yb)
    ans_batch, _, ans_y = _ranges_like(xb, x_free, y_free)
    dims = ((tuple(ans_y), tuple(y_free)), (tuple(ans_batch), tuple(yb)))
    xc_in_y_order = [xc[i] for i in np.argsort(yc)]
    out_axes = np.argsort(list(xb) + x_free + xc_in_y_order)
    return transpose(dot_general(ct, y, dims), tuple(int(a) for a in out_axes))


def _transpose_rhs(ct, x, y_aval, dimension_numbers):
    # x on the left, as in the primal: dot_general(x, ct) contracts x's free dims with ct's
    # x-free dims and gives (batch, y contracting in x's order, y free) -- for a matrix product
    # x^T ct, already in y's layout, so the transpose is the identity and vanishes.
    from .shapes import transpose
    (xc, yc), (xb, yb) = dimension_numbers
    x_free = _free_dims(get_aval(x).ndim, xc, xb)
    y_free = _free_dims(y_aval.ndim, yc, yb)
    ans_batch, ans_x, _ = _ranges_like(xb, x_free, y_free)
    dims = ((tuple(x_free), tuple(ans_x)), (tuple(xb), tuple(ans_batch)))
    yc_in_x_order = [yc[i] for i in np.argsort(xc)]
    out_axes = np.argsort(list(yb) + yc_in_x_order + y_free)
    return transpose(dot_general(x, ct, dims), tuple(int(a) for a in out_axes))


def _dot_general_transpose(ct, lhs, rhs, *, dimension_numbers):
    if is_undefined_primal(lhs) and is_undefined_primal(rhs):
        raise ad.linear_error('dot_general')
    if type(ct) is Zero:
        return [Zero(lhs.aval) if is_undefined_primal(lhs) else None,
                Zero(rhs.aval) if is_undefined_primal(rhs) else None]
    if is_undefined_primal(lhs):
        return [_transpose_lhs(ct, lhs.aval, rhs, dimension_numbers), None]
    return [None, _transpose_rhs(ct, lhs, rhs.aval, dimension_numbers)]


def _shift(dims, at):
    """Indices of an operand's dims after a new dim is inserted at position `at`."""
    return tuple(d + (d >= at) for d in dims)


def _dot_general_batch(vals, dims, *, dimension_numbers):
    lhs, rhs = vals
    ld, rd = dims
    (lc, rc), (lb, rb) = dimension_numbers
    if ld is not None and rd is not None:
        # Both batched: the vmapped axis becomes a leading batch dimension of the dot.
        dn = ((_shift(lc, ld), _shift(rc, rd)), ((ld,) + _shift(lb, ld), (rd,) + _shift(rb, rd)))
        return dot_general(lhs, rhs, dn), 0
    if ld is not None:
        # Only lhs batched: the vmapped axis is a free lhs dim; find its place in the output.
        dn = ((_shift(lc, ld), rc), (_shift(lb, ld), rb))
        lhs_ndim = get_aval(lhs).ndim
        free = _free_dims(lhs_ndim, dn[0][0], dn[1][0])
        return dot_general(lhs, rhs, dn), len(lb) + free.index(ld)
    # Only rhs batched: the vmapped axis is a free rhs dim, after the batch and lhs free dims.
    dn = ((lc, _shift(rc, rd)), (lb, _shift(rb, rd)))
    rhs_ndim = get_aval(rhs).ndim
    lhs_free = _free_dims(get_aval(lhs).ndim, lc, lb)
    free = _free_dims(rhs_ndim, dn[0][1], dn[1][1])
    return dot_general(lhs, rhs, dn), len(lb) + len(lhs_free) + free.index(rd)


def _format_dimension_numbers(dn):
    (lc, rc), (lb, rb) = dn
    return f"(({list(lc)}, {list(rc)}), ({list(lb)}, {list(rb)}))"


dot_general_p.impl = _dot_general_impl
dot_general_p.abstract_eval = _dot_general_abstract_eval
ad.defjvp(dot_general_p,
          lambda g, x, y, *, dimension_numbers: dot_general(g, y, dimension_numbers),
          lambda g, x, y, *, dimension_numbers: dot_general(x, g, dimension_numbers))
dot_general_p.transpose = _dot_general_transpose
dot_general_p.batch = _dot_general_batch
dot_general_p.param_formatters['dimension_numbers'] = _format_dimension_numbers
