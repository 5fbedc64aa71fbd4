"""Argument handling shared by fxad.numpy: dtype promotion (NumPy 2 with weak Python scalars),
NumPy broadcasting made explicit with broadcast_in_dim, and axis and shape normalization."""
import operator

import numpy as np

from .. import core, dtypes
from ..core import Tracer, get_aval
from ..errors import ConcretizationTypeError
from .. import lax

_PY_SCALARS = (bool, int, float, complex)
_NUMERIC_KINDS = 'biufc'


def check_arg(x, fname):
    """x if it is an array, a tracer or a number (lists become arrays); TypeError otherwise."""
    if isinstance(x, Tracer) or type(x) in _PY_SCALARS:
        return x
    if isinstance(x, (list, tuple)):
        x = asarray_value(x, fname)
    if isinstance(x, (np.ndarray, np.generic)):
        if x.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"fxad.numpy.{fname} got an array of dtype {x.dtype}, which is not a "
                            f"numeric dtype (bool, integer, floating or complex)")
        return x
    for t in _PY_SCALARS:  # subclasses of Python scalars (IntEnum, ...) become plain ones
        if isinstance(x, t):
            return t(x)
    raise TypeError(f"fxad.numpy.{fname} got an argument of type {type(x).__name__}, which is "
                    f"not an array or a number")


def asarray_value(x, fname='asarray'):
    """x as a tracer, NumPy array/scalar or Python scalar (lists become arrays; lists holding
    tracers are stacked)."""
    if isinstance(x, (list, tuple)):
        if any(isinstance(v, Tracer) for v in _iter_nested(x)):
            from .shape_ops import stack
            return stack([asarray_value(v, fname) for v in x])
        try:
            x = np.asarray(x)
        except ValueError as e:
            raise ValueError(f"fxad.numpy.{fname}: cannot make an array of a ragged sequence "
                             f"({e})") from None
        if x.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"fxad.numpy.{fname} got a sequence of non-numeric values "
                            f"(dtype {x.dtype})")
        return x
    return check_arg(x, fname)


def _iter_nested(x):
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        else:
            yield v


def is_eager():
    """True outside every transformation, where results must be NumPy values."""
    return core.current_trace() is core.eval_trace


def numpy_result(x):
    """Eager results are NumPy values: a Python scalar left by an identity path (a sum over
    no axes, a squeeze of a scalar) becomes the NumPy scalar of its default dtype."""
    if type(x) in _PY_SCALARS and is_eager():
        return dtypes.python_scalar_dtypes[type(x)].type(x)
    return x


def concrete(x, fname, what):
    """The concrete NumPy value of x (a shape, a count, ...); a clear error if x is traced."""
    value = core.concrete_or_none(x)
    if value is None:
        raise core.ConcretizationTypeError(x, f"fxad.numpy.{fname} (its {what} must be concrete)")
    return value


_PY_TYPE_OF_KIND = {'b': bool, 'i': int, 'u': int, 'f': float, 'c': complex}


def promote_dtypes(fname, *args):
    """Convert args to their common dtype (NumPy 2 / NEP 50 rules; Python scalars are weak)."""
    args = [check_arg(x, fname) for x in args]
    avals = [get_aval(x) for x in args]
    dtype, weak = dtypes.result_type(*[(a.dtype, a.weak_type) for a in avals])
    out = []
    for x, a in zip(args, avals):
        if a.dtype == dtype and (a.weak_type == weak or not a.weak_type or isinstance(x, _PY_SCALARS)):
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
    """x broadcast to `shape` by NumPy's rule (leading dims added, size-1 dims stretched)."""
    aval = get_aval(x)
    shape = tuple(shape)
    if aval.shape == shape:
        return x
    nd = len(shape)
    return lax.broadcast_in_dim(x, shape, tuple(range(nd - aval.ndim, nd)))


def broadcast_arrays(fname, *args):
    """NumPy broadcasting: rank-0 operands stay as they are (the primitives' scalar rule)."""
    shapes = [get_aval(x).shape for x in args]
    if all(s == shapes[0] or s == () for s in shapes):
        return list(args)
    shape = broadcast_shapes(fname, *shapes)
    return [x if s == () or s == shape else broadcast_to_shape(x, shape) for x, s in zip(args, shapes)]


def broadcast_all(fname, *args):
    """Every operand broadcast to the common shape, rank-0 ones included (for select_n)."""
    shape = broadcast_shapes(fname, *[get_aval(x).shape for x in args])
    return [broadcast_to_shape(x, shape) for x in args]


def promote_and_broadcast(fname, *args):
    try:
        avals = [get_aval(x) for x in args]
    except TypeError:
        avals = None  # lists, or bad input: the general path converts or names the problem
    if avals is not None:
        # The common case, checked in one pass: one dtype, and equal shapes or rank-0 operands.
        dtype = avals[0].dtype
        shape = ()
        for a in avals:
            if a.dtype != dtype or (a.shape and shape and a.shape != shape):
                break
            if a.shape:
                shape = a.shape
        else:
            return list(args)
    return broadcast_arrays(fname, *promote_dtypes(fname, *args))


def canonicalize_axis(axis, ndim, fname):
    """A NumPy axis argument as an int in [0, ndim); ValueError naming fname otherwise."""
    try:
        axis = int(axis.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"fxad.numpy.{fname}: axis must be an integer, got {axis!r}") from None
    if not -ndim <= axis < ndim:
        raise ValueError(f"fxad.numpy.{fname}: axis {axis} is out of bounds for an array of "
                         f"dimension {ndim}")
    return axis % ndim


def canonicalize_shape(shape, fname):
    """A shape argument (an int or a sequence of ints) as a tuple of Python ints. A traced entry
    raises ConcretizationTypeError: shapes are static."""
    entries = shape if isinstance(shape, (tuple, list)) else (shape,)
    try:
        return tuple(operator.index(s) for s in entries)
    except ConcretizationTypeError:
        raise
    except TypeError:
        raise TypeError(f"fxad.numpy.{fname}: shape must be an int or a sequence of ints, got "
                        f"{shape!r}") from None


def canonicalize_axes(axis, ndim, fname):
    """axis None (all axes), an int or a tuple of ints as a sorted tuple without repeats."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(canonicalize_axis(a, ndim, fname) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"fxad.numpy.{fname}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def full(shape, value, dtype, weak_type=False):
    """An array of `value`: a NumPy array outside transformations, a broadcast scalar inside
    them (as JAX stages zeros), weakly typed if asked. `value` may be a tracer of rank 0."""
    shape = tuple(shape)
    dtype = np.dtype(dtype)
    if not isinstance(value, Tracer):
        if is_eager():
            return np.full(shape, value, dtype) if shape else dtype.type(value)
        value = _weak_scalar(value, dtype) if weak_type else dtype.type(value)
    else:
        value = lax.convert_element_type(value, dtype, weak_type)
    return lax.broadcast_in_dim(value, shape, ()) if shape else value


def _weak_scalar(value, dtype):
    """value as a weakly typed scalar of dtype: a Python scalar (a literal when staged) if dtype
    is the default of its kind."""
    py_type = _PY_TYPE_OF_KIND[dtype.kind]
    if dtypes.python_scalar_dtypes[py_type] == dtype:
        return py_type(value)
    return lax.convert_element_type(dtype.type(value), dtype, weak_type=True)


def scalar_like(x, value):
    """value as a NumPy scalar of x's dtype (an operand the primitives accept beside x)."""
    return get_aval(x).dtype.type(value)
