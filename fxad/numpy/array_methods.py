"""Operators and array methods on tracers (+, @, [], .T, .sum, .at, ...), installed on
core.Tracer so that the core stays free of any primitive."""
import operator

from ..core import Tracer
from . import ufuncs


def _swap(f):
    return lambda self, other: f(other, self)


def _defer(name):
    # Reverse operators: a NumPy array on the left defers to the tracer (__array_priority__).
    import fxad.numpy as fnp
    return getattr(fnp, name)


def _method(name):
    def m(self, *args, **kwargs):
        import fxad.numpy as fnp
        return getattr(fnp, name)(self, *args, **kwargs)
    m.__name__ = name
    return m


_BINARY = {
    '__add__': ufuncs.add, '__sub__': ufuncs.subtract, '__mul__': ufuncs.multiply,
    '__truediv__': ufuncs.true_divide, '__floordiv__': ufuncs.floor_divide,
    '__mod__': ufuncs.remainder, '__pow__': ufuncs.power,
    '__lt__': ufuncs.less, '__le__': ufuncs.less_equal, '__gt__': ufuncs.greater,
    '__ge__': ufuncs.greater_equal, '__eq__': ufuncs.equal, '__ne__': ufuncs.not_equal,
    '__and__': ufuncs.bitwise_and, '__or__': ufuncs.bitwise_or, '__xor__': ufuncs.bitwise_xor,
}
_REFLECTED = {
    '__radd__': ufuncs.add, '__rsub__': ufuncs.subtract, '__rmul__': ufuncs.multiply,
    '__rtruediv__': ufuncs.true_divide, '__rfloordiv__': ufuncs.floor_divide,
    '__rmod__': ufuncs.remainder, '__rpow__': ufuncs.power, '__rand__': ufuncs.bitwise_and,
    '__ror__': ufuncs.bitwise_or, '__rxor__': ufuncs.bitwise_xor,
}
_METHODS = ['reshape', 'transpose', 'sum', 'mean', 'max', 'min', 'prod', 'var', 'std',
            'argmax', 'argmin', 'cumsum', 'squeeze', 'ravel', 'flatten', 'dot', 'clip',
            'astype', 'swapaxes', 'round', 'any', 'all', 'conj', 'conjugate']


def _matmul(a, b):
    import fxad.numpy as fnp
    return fnp.matmul(a, b)


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


def install():
    for name, f in _BINARY.items():
        setattr(Tracer, name, f)
    for name, f in _REFLECTED.items():
        setattr(Tracer, name, _swap(f))
    Tracer.__matmul__ = _matmul
    Tracer.__rmatmul__ = _swap(_matmul)
    Tracer.__neg__ = ufuncs.negative
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = ufuncs.absolute
    Tracer.__invert__ = ufuncs.invert
    Tracer.__getitem__ = _getitem
    Tracer.__hash__ = None
    Tracer.T = property(lambda self: _method('transpose')(self))
    Tracer.mT = property(lambda self: _method('swapaxes')(self, -1, -2))
    Tracer.at = property(_AtIndexer)
    Tracer.real = property(_method('real'))
    Tracer.imag = property(_method('imag'))
    for name in _METHODS:
        setattr(Tracer, name, _method(name))
    Tracer.nbytes = property(lambda self: self.size * self.dtype.itemsize)


del operator
