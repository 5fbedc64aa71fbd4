"""Operators and array methods on tracers (+, @, [], .T, .sum, .at, ...), installed on
core.Tracer so that the core stays free of any primitive."""
import numpy as np

from ..core import Tracer
from . import ufuncs

_OPERAND_TYPES = (Tracer, np.ndarray, np.generic, bool, int, float, complex, list, tuple)


def _fnp():
    import fxad.numpy as fnp
    return fnp


def _binary_op(f, reflected=False):
    # An operand that is not array-like defers (NotImplemented), so `x == None` is False.
    def op(self, other):
        if not isinstance(other, _OPERAND_TYPES):
            return NotImplemented
        return f(other, self) if reflected else f(self, other)
    op.__name__ = f.__name__
    return op


def _method(name):
    def m(self, *args, **kwargs):
        return getattr(_fnp(), name)(self, *args, **kwargs)
    m.__name__ = name
    return m


def _shape_varargs(args):
    """x.reshape(2, 3) and x.reshape((2, 3)) alike (also for transpose's axes)."""
    return args[0] if len(args) == 1 and (args[0] is None or isinstance(args[0], (tuple, list))) else args


def _reshape(self, *shape, order='C'):
    return _fnp().reshape(self, _shape_varargs(shape), order)


def _transpose(self, *axes):
    return _fnp().transpose(self, _shape_varargs(axes) if axes else None)


def _flatten(self, order='C'):
    return _fnp().ravel(self, order)


def _item(self, *args):
    value = self._concrete('item()')
    return np.asarray(value).item(*args)


def _tolist(self):
    return np.asarray(self._concrete('tolist()')).tolist()


def _matmul(a, b):
    return _fnp().matmul(a, b)


def _dot(a, b):
    return _fnp().dot(a, b)


def _getitem(self, idx):
    from .indexing import getitem
    return getitem(self, idx)


class _AtIndexer:
    """x.at[idx].set(v), .add, .mul, .min, .max, .get: functional updates (JAX's .at)."""
    __slots__ = ('x',)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        from .indexing import _IndexUpdateRef
        return _IndexUpdateRef(self.x, idx)


_BINARY = {
    '__add__': ufuncs.add, '__sub__': ufuncs.subtract, '__mul__': ufuncs.multiply,
    '__truediv__': ufuncs.true_divide, '__floordiv__': ufuncs.floor_divide,
    '__mod__': ufuncs.remainder, '__pow__': ufuncs.power, '__matmul__': _matmul,
    '__lt__': ufuncs.less, '__le__': ufuncs.less_equal, '__gt__': ufuncs.greater,
    '__ge__': ufuncs.greater_equal, '__eq__': ufuncs.equal, '__ne__': ufuncs.not_equal,
    '__and__': ufuncs.bitwise_and, '__or__': ufuncs.bitwise_or, '__xor__': ufuncs.bitwise_xor,
    '__lshift__': ufuncs.left_shift, '__rshift__': ufuncs.right_shift,
}
_REFLECTED = {
    '__radd__': ufuncs.add, '__rsub__': ufuncs.subtract, '__rmul__': ufuncs.multiply,
    '__rtruediv__': ufuncs.true_divide, '__rfloordiv__': ufuncs.floor_divide,
    '__rmod__': ufuncs.remainder, '__rpow__': ufuncs.power, '__rmatmul__': _matmul,
    '__rand__': ufuncs.bitwise_and, '__ror__': ufuncs.bitwise_or, '__rxor__': ufuncs.bitwise_xor,
    '__rlshift__': ufuncs.left_shift, '__rrshift__': ufuncs.right_shift,
}
# Methods that are the fnp function of the same name with the tracer as first argument.
_METHODS = ['sum', 'mean', 'max', 'min', 'prod', 'var', 'std', 'ptp', 'argmax', 'argmin', 'cumsum',
            'cumprod', 'any', 'all', 'squeeze', 'ravel', 'swapaxes', 'clip', 'astype', 'round',
            'conj', 'conjugate', 'nonzero', 'repeat', 'sort', 'argsort', 'copy']


def install():
    for name, f in _BINARY.items():
        setattr(Tracer, name, _binary_op(f))
    for name, f in _REFLECTED.items():
        setattr(Tracer, name, _binary_op(f, reflected=True))
    Tracer.__neg__ = ufuncs.negative
    Tracer.__pos__ = ufuncs.positive
    Tracer.__abs__ = ufuncs.absolute
    Tracer.__invert__ = ufuncs.invert
    Tracer.__getitem__ = _getitem
    Tracer.__hash__ = None
    Tracer.T = property(lambda self: _fnp().transpose(self))
    Tracer.mT = property(lambda self: _fnp().swapaxes(self, -1, -2))
    Tracer.at = property(_AtIndexer)
    Tracer.real = property(_method('real'))
    Tracer.imag = property(_method('imag'))
    for name in _METHODS:
        setattr(Tracer, name, _method(name))
    Tracer.reshape = _reshape
    Tracer.transpose = _transpose
    Tracer.flatten = _flatten
    Tracer.dot = _dot
    Tracer.item = _item
    Tracer.tolist = _tolist
    Tracer.nbytes = property(lambda self: self.size * self.dtype.itemsize)
