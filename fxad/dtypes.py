"""Dtypes: NumPy's (float64 by default) with JAX's weak types for Python scalars.

A weak type marks a value that came from a Python scalar: beside a strong value it takes the
strong dtype where the category allows (NEP 50 / NumPy 2 promotion).
"""
import numpy as np

# JAX's float0: the dtype of tangents of integer and boolean values (they carry no information).
float0 = np.dtype([('float0', np.void, 0)])

_SHORT = {
    np.dtype('float16'): 'f16', np.dtype('float32'): 'f32', np.dtype('float64'): 'f64',
    np.dtype('int8'): 'i8', np.dtype('int16'): 'i16', np.dtype('int32'): 'i32',
    np.dtype('int64'): 'i64', np.dtype('uint8'): 'u8', np.dtype('uint16'): 'u16',
    np.dtype('uint32'): 'u32', np.dtype('uint64'): 'u64', np.dtype('bool'): 'bool',
    np.dtype('complex64'): 'c64', np.dtype('complex128'): 'c128', float0: 'float0',
}

float_ = np.dtype('float64')
int_ = np.dtype('int64')
bool_ = np.dtype('bool')
complex_ = np.dtype('complex128')

# Python scalar types and the dtype each has when weak.
python_scalar_dtypes = {bool: bool_, int: int_, float: float_, complex: complex_}


def short_name(dtype):
    name = _SHORT.get(dtype)
    return name if name is not None else str(dtype)


def is_float(dtype):
    """True for the inexact dtypes (floating and complex): the ones that carry tangents."""
    return dtype.kind in 'fc'


def is_integer(dtype):
    return dtype.kind in 'iu'


def is_bool(dtype):
    return dtype.kind == 'b'


_CATEGORY = {'b': 0, 'u': 1, 'i': 1, 'f': 2, 'c': 3}
_DEFAULT_OF_CATEGORY = {0: bool_, 1: int_, 2: float_, 3: complex_}
# NumPy 2 promotes a dtype with a Python scalar by NEP 50 (float32 with 1j is complex64).
_PY_EXAMPLE_OF_CATEGORY = {0: False, 1: 0, 2: 0.0, 3: 0j}


def _category(dtype):
    return _CATEGORY[dtype.kind]


def result_type(*dtype_weak_pairs):
    """The (dtype, weak_type) that NumPy 2 gives a binary/n-ary operation.

    Strong dtypes promote with NumPy's table; a weak (Python-scalar) operand adopts the strong
    dtype when its category (bool < int < float < complex) fits, and otherwise the default dtype
    of its own category, promoted with the strong one (an int64 array plus 2.5 is float64).
    """
    strong = [d for d, w in dtype_weak_pairs if not w]
    weak = [d for d, w in dtype_weak_pairs if w]
    if not strong:
        cat = max(_category(d) for d in weak)
        return _DEFAULT_OF_CATEGORY[cat], True
    out = strong[0] if len(strong) == 1 else np.result_type(*strong)
    if weak:
        cat = max(_category(d) for d in weak)
        if cat > _category(out):
            out = np.result_type(out, _PY_EXAMPLE_OF_CATEGORY[cat])
    return out, False


def canonicalize(dtype):
    """A dtype argument (type, string or dtype) as an np.dtype; None stays None."""
    return None if dtype is None else np.dtype(dtype)
