"""Shared helpers for primitive families: shape rules, rule constructors and batching helpers.

A family module defines each primitive with one constructor call here and registers its
derivative and batching rules on the lines that follow.
"""

from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad, batching


def shape_str(shape):
    return str(tuple(shape))


def aval_of(x):
    """The aval of an operand, which in a transpose rule may be an ad.UndefinedPrimal."""
    return x.aval if ad.is_undefined_primal(x) else get_aval(x)


def _check_dtype_kinds(name, avals, kinds):
    for a in avals:
        if a.dtype.kind not in kinds:
            allowed = {'f': 'floating', 'c': 'complex', 'i': 'signed integer', 'u': 'unsigned integer',
                       'b': 'boolean'}
            names = ', '.join(allowed[k] for k in kinds if k in allowed)
            raise TypeError(f"{name} does not accept dtype {a.dtype.name}; it accepts {names} values")


def elementwise_shape(name, avals):
    """Operands of equal shape, or rank-0 operands beside arrays (JAX's scalar-literal rule)."""
    shape = ()
    for a in avals:
        if a.shape:
            if not shape:
                shape = a.shape
            elif a.shape != shape:
                shapes = ' and '.join(shape_str(b.shape) for b in avals)
                raise ValueError(f"{name} got incompatible shapes for broadcasting: {shapes}")
    return shape


def same_dtype(name, avals):
    dtype = avals[0].dtype
    for a in avals[1:]:
        if a.dtype != dtype:
            raise TypeError(f"{name} requires arguments to have the same dtype, got "
                            f"{', '.join(b.dtype.name for b in avals)}")
    return dtype


FLOAT = 'fc'
NUMBER = 'fciu'
INTEGRAL = 'iub'
ANY = 'fciub'


def standard_unop(name, impl, kinds=ANY, result_dtype=None):
    """An elementwise unary primitive. result_dtype(dtype) overrides the output dtype."""
    prim = Primitive(name)
    prim.impl = impl

    def abstract_eval(x, **params):
        if x.dtype.kind not in kinds:
            _check_dtype_kinds(name, [x], kinds)
        dtype = x.dtype if result_dtype is None else result_dtype(x.dtype)
        return ShapedArray(x.shape, dtype, x.weak_type)
    prim.abstract_eval = abstract_eval
    prim.batch = vectorized_batcher(prim)
    return prim


def standard_naryop(name, impl, kinds=ANY, result_dtype=None):
    """An elementwise n-ary primitive: equal dtypes, equal shapes or rank-0 operands."""
    prim = Primitive(name)
    prim.impl = impl

    def abstract_eval(*avals, **params):
        # One pass for the common case; the helpers produce the error messages.
        dtype = avals[0].dtype
        shape = ()
        weak = True
        for a in avals:
            if a.dtype != dtype:
                same_dtype(name, avals)
            if a.shape:
                if shape and a.shape != shape:
                    elementwise_shape(name, avals)
                shape = a.shape
            weak = weak and a.weak_type
        if dtype.kind not in kinds:
            _check_dtype_kinds(name, avals, kinds)
        return ShapedArray(shape, dtype if result_dtype is None else result_dtype(dtype), weak)
    prim.abstract_eval = abstract_eval
    prim.batch = broadcasting_batcher(prim)
    return prim


def vectorized_batcher(prim):
    def rule(vals, dims, **params):
        return prim.bind(*vals, **params), dims[0]
    return rule


def broadcasting_batcher(prim):
    """Batch an elementwise primitive, lining operands up so the batch dim is shared."""
    def rule(vals, dims, **params):
        avals = [get_aval(v) for v in vals]
        first = next(i for i, d in enumerate(dims) if d is not None)
        d0 = dims[first]
        ndim0 = avals[first].ndim
        if all((d == d0 and a.ndim == ndim0) or (d is None and a.ndim == 0)
               for a, d in zip(avals, dims)):
            return prim.bind(*vals, **params), d0
        size = avals[first].shape[d0]
        out_shape = ()
        for a, d in zip(avals, dims):
            s = a.shape if d is None else a.shape[:d] + a.shape[d + 1:]
            if s:
                out_shape = s
        moved = []
        for v, a, d in zip(vals, avals, dims):
            if d is None:
                moved.append(v if a.ndim == 0 else broadcast_in_dim(
                    v, (size,) + out_shape, tuple(range(1, a.ndim + 1))))
            else:
                v = batching.moveaxis(v, d, 0)
                if a.ndim == 1 and out_shape:
                    v = broadcast_in_dim(v, (size,) + out_shape, (0,))
                moved.append(v)
        return prim.bind(*moved, **params), 0
    return rule


def broadcast_in_dim(x, shape, broadcast_dimensions):
    from .shapes import broadcast_in_dim as bid
    return bid(x, shape, broadcast_dimensions)


def unbroadcast(aval, ct):
    """Sum a cotangent back to a rank-0 operand's shape (the transpose of the scalar rule)."""
    ct_aval = get_aval(ct)
    if aval.shape == ct_aval.shape:
        return ct
    from .reductions import reduce_sum
    return reduce_sum(ct, tuple(range(ct_aval.ndim)))


def canonicalize_axis(axis, ndim, what='axis'):
    axis = int(axis)
    if not -ndim <= axis < max(ndim, 1) and not (ndim == 0 and axis in (0, -1)):
        raise ValueError(f"{what} {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim if ndim else 0
