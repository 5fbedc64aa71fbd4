"""fxad.numpy.linalg: NumPy's linalg API on fxad.lax.linalg's primitives.

Matrices may be stacked (leading batch dims) as in NumPy; integers promote to float64. Like JAX,
cholesky and eigh read the symmetric part (a + a^T)/2, so values and derivatives agree.
"""

__all__ = ['solve', 'inv', 'det', 'slogdet', 'cholesky', 'eigh', 'eigvalsh', 'qr', 'svd', 'svdvals',
           'matrix_power', 'norm']

import operator
from collections import namedtuple

import numpy as np

from .. import lax
from ..core import get_aval
from ._norm import norm
from .contractions import matmul
from .shape_ops import swapaxes
from .util import asarray_value, broadcast_shapes, broadcast_to_shape, promote_to_inexact

SlogdetResult = namedtuple('SlogdetResult', ['sign', 'logabsdet'])
EighResult = namedtuple('EighResult', ['eigenvalues', 'eigenvectors'])
QRResult = namedtuple('QRResult', ['Q', 'R'])
SVDResult = namedtuple('SVDResult', ['U', 'S', 'Vh'])


def _matrix(fname, a, square=True):
    """a as a float array of rank >= 2 (square matrices unless square=False)."""
    a, = promote_to_inexact(f"linalg.{fname}", asarray_value(a, f"linalg.{fname}"))
    shape = get_aval(a).shape
    if len(shape) < 2 or (square and shape[-1] != shape[-2]):
        kind = 'square matrices' if square else 'matrices'
        raise ValueError(f"fxad.numpy.linalg.{fname} expects {kind} or stacks of them (rank >= 2), "
                         f"got an array of shape {tuple(shape)}")
    return a


def _eye_like(a):
    shape = get_aval(a).shape
    return broadcast_to_shape(np.eye(shape[-1], dtype=get_aval(a).dtype), shape)


def solve(a, b):
    """x with a @ x = b. b is a vector (shape (m,)) or a stack of (m, n) matrices, as in NumPy 2."""
    a, b = promote_to_inexact('linalg.solve', asarray_value(a, 'linalg.solve'), asarray_value(b, 'linalg.solve'))
    a_shape, b_shape = get_aval(a).shape, get_aval(b).shape
    if len(a_shape) < 2 or a_shape[-1] != a_shape[-2]:
        raise ValueError(f"fxad.numpy.linalg.solve expects a square matrix or a stack of them as a, "
                         f"got shape {tuple(a_shape)}")
    m = a_shape[-1]
    vector = len(b_shape) == 1
    if len(b_shape) == 0 or b_shape[0 if vector else -2] != m:
        raise ValueError(f"fxad.numpy.linalg.solve: a of shape {tuple(a_shape)} needs b of shape ({m},) "
                         f"or (..., {m}, n), got b of shape {tuple(b_shape)}")
    if vector:
        batch = a_shape[:-2]
        b = lax.broadcast_in_dim(b, batch + (m, 1), (len(batch),))
        return lax.squeeze(lax.linalg.solve(a, b), (len(batch) + 1,))
    batch = broadcast_shapes('linalg.solve', a_shape[:-2], b_shape[:-2])
    a = broadcast_to_shape(a, batch + a_shape[-2:])
    b = broadcast_to_shape(b, batch + b_shape[-2:])
    return lax.linalg.solve(a, b)


def inv(a):
    """The inverse of each matrix: solve(a, I)."""
    a = _matrix('inv', a)
    return lax.linalg.solve(a, _eye_like(a))


def slogdet(a):
    """(sign, log|det a|) of each matrix, as NumPy's SlogdetResult."""
    return SlogdetResult(*lax.linalg.slogdet(_matrix('slogdet', a)))


def det(a):
    """The determinant of each matrix. Its gradient is the cofactor matrix det(a) a^-T, defined
    at singular matrices too (for rank n - 1 it is nonzero, as in JAX)."""
    return lax.linalg.det(_matrix('det', a))


def cholesky(a, /, *, upper=False):
    """The lower (or upper) Cholesky factor of the symmetric part (a + a^T)/2."""
    L = lax.linalg.cholesky(_matrix('cholesky', a))
    return swapaxes(L, -1, -2) if upper else L


def _symmetric_from_triangle(a, lower):
    """The symmetric matrix that a's lower (or upper) triangle describes."""
    aval = get_aval(a)
    ones = np.ones(aval.shape[-2:], aval.dtype)
    strict = lax.mul(a, broadcast_to_shape(np.tril(ones, -1) if lower else np.triu(ones, 1), aval.shape))
    return lax.add(lax.add(strict, swapaxes(strict, -1, -2)), lax.mul(a, _eye_like(a)))


def eigh(a, UPLO='L', symmetrize_input=True):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, as NumPy's EighResult.

    As in JAX, the input is symmetrized, (a + a^T)/2; with symmetrize_input=False only the
    triangle named by UPLO is read, as in NumPy.
    """
    a = _matrix('eigh', a)
    if UPLO not in ('L', 'U'):
        raise ValueError(f"fxad.numpy.linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    if not symmetrize_input:
        a = _symmetric_from_triangle(a, UPLO == 'L')
    return EighResult(*lax.linalg.eigh(a))


def eigvalsh(a, UPLO='L', symmetrize_input=True):
    """The eigenvalues (ascending) of symmetric matrices."""
    return eigh(a, UPLO, symmetrize_input).eigenvalues


def qr(a, mode='reduced'):
    """QR decomposition; mode 'reduced' (default), 'complete' or 'r' (R alone)."""
    if mode not in ('reduced', 'complete', 'r'):
        raise ValueError(f"fxad.numpy.linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = lax.linalg.qr(_matrix('qr', a, square=False), full_matrices=mode == 'complete')
    return r if mode == 'r' else QRResult(q, r)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition, as NumPy's SVDResult (or the singular values alone).

    Derivatives need full_matrices=False for non-square matrices (the full factors are not
    unique) and distinct singular values. `hermitian` is accepted for NumPy's signature; the
    general algorithm is used either way.
    """
    a = _matrix('svd', a, square=False)
    u, s, vh = lax.linalg.svd(a, full_matrices=bool(full_matrices) and compute_uv)
    return SVDResult(u, s, vh) if compute_uv else s


def svdvals(x, /):
    """The singular values of each matrix, descending."""
    return svd(x, compute_uv=False)


def matrix_power(a, n):
    """a raised to the integer power n by repeated squaring (n < 0 inverts first)."""
    a = _matrix('matrix_power', a)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"fxad.numpy.linalg.matrix_power: the exponent must be an integer, got {n!r}") from None
    if n == 0:
        return _eye_like(a)
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return result
