"""Argument handling shared by fxad.numpy: dtype promotion (NumPy 2 with weak Python scalars)
and NumPy broadcasting made explicit with broadcast_in_dim."""
import numpy as np

from .. import dtypes
from ..core import Tracer, get_aval
from .. import lax


def check_arg(x, fname):
    if isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float, complex)):
        return x
    if isinstance(x, (list, tuple)):
        return np.asarray(x)
    raise TypeError(f"fxad.numpy.{fname} got an argument of type {type(x).__name__}, which is "
                    f"not an array or a number")


def asarray_value(x, fname='asarray'):
    """x as a tracer, NumPy array/scalar or Python scalar (lists become arrays)."""
    if isinstance(x, (list, tuple)):
        if any(isinstance(v, Tracer) for v in _iter_nested(x)):
            from .shape_ops import stack
            return stack([asarray_value(v, fname) for v in x])
        return np.asarray(x)
    return check_arg(x, fname)


def _iter_nested(x):
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        else:
            yield v


_PY_TYPE_OF_KIND = {'b': bool, 'i': int, 'u': int, 'f': float, 'c': complex}


def promote_dtypes(fname, *args):
    """Convert args to their common dtype (NumPy 2 / NEP 50 rules; Python scalars are weak)."""
    args = [check_arg(x, fname) for x in args]
    avals = [get_aval(x) for x in args]
    dtype, weak = dtypes.result_type(*[(a.dtype, a.weak_type) for a in avals])
    out = []
    for x, a in zip(args, avals):
        if a.dtype == dtype and (a.weak_type == weak or not a.weak_type or isinstance(x, (bool, int, float, complex))):
            out.append(x)
        elif not isinstance(x, Tracer) and a.shape == () and not isinstance(x, np.ndarray):
            out.append(dtype.type(x) if not weak else _PY_TYPE_OF_KIND[dtype.kind](x))
        else:
            out.append(lax.convert_element_type(x, dtype, weak))
    return out


def promote_to_inexact(fname, *args):
    """Like promote_dtypes, then integers and booleans become float64 (sin of an int array)."""
    args = promote_dtypes(fname, *args)
    dtype = get_aval(args[0]).dtype
    if dtypes.is_float(dtype):
        return args
    return [lax.convert_element_type(x, dtypes.float_, get_aval(x).weak_type) for x in args]


def broadcast_shapes(fname, *shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"fxad.numpy.{fname}: operands could not be broadcast together with "
                         f"shapes {' '.join(str(tuple(s)) for s in shapes)}") from None


def broadcast_to_shape(x, shape):
    aval = get_aval(x)
    if aval.shape == tuple(shape):
        return x
    nd = len(shape)
    dims = tuple(range(nd - aval.ndim, nd))
    # Squeeze size-1 dims that broadcast, so broadcast_in_dim sees exact sizes.
    return lax.broadcast_in_dim(x, tuple(shape), dims)


def broadcast_arrays(fname, *args):
    """NumPy broadcasting: rank-0 operands stay as they are (the primitives' scalar rule)."""
    shapes = [get_aval(x).shape for x in args]
    if all(s == shapes[0] or s == () for s in shapes):
        return list(args)
    shape = broadcast_shapes(fname, *shapes)
    return [x if s == () or s == shape else broadcast_to_shape(x, shape) for x, s in zip(args, shapes)]


def promote_and_broadcast(fname, *args):
    return broadcast_arrays(fname, *promote_dtypes(fname, *args))
