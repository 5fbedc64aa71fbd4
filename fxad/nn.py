"""fxad.nn: activation functions, softmax and logsumexp, composed from fxad.numpy and lax.

Each is numerically stable (no overflow for large inputs) and differentiable; maxima subtracted
for stability are wrapped in stop_gradient, since they cancel out of the value and its derivative.
"""
import numpy as np

from . import dtypes, lax
from . import numpy as fnp
from .core import get_aval
from .numpy.util import canonicalize_axes, check_arg, promote_to_inexact

__all__ = ['relu', 'relu6', 'leaky_relu', 'elu', 'sigmoid', 'log_sigmoid', 'softplus', 'silu', 'swish',
           'gelu', 'logsumexp', 'softmax', 'log_softmax', 'one_hot']


def _float(x, fname):
    x, = promote_to_inexact(fname, check_arg(x, fname))
    return x


def relu(x):
    """max(x, 0), with derivative 0 at 0 (as JAX's relu)."""
    x = check_arg(x, 'relu')
    return fnp.where(fnp.greater(x, 0), x, 0)


def relu6(x):
    """min(max(x, 0), 6), with derivative 0 at both kinks."""
    x = check_arg(x, 'relu6')
    return fnp.where(fnp.greater(x, 0), fnp.where(fnp.less(x, 6), x, 6), 0)


def leaky_relu(x, negative_slope=0.01):
    """x where x >= 0, negative_slope * x elsewhere."""
    x = check_arg(x, 'leaky_relu')
    return fnp.where(fnp.greater_equal(x, 0), x, fnp.multiply(negative_slope, x))


def elu(x, alpha=1.0):
    """x where x > 0, alpha (exp(x) - 1) elsewhere (exp evaluated only on the negative side)."""
    x = _float(x, 'elu')
    positive = fnp.greater(x, 0)
    return fnp.where(positive, x, fnp.multiply(alpha, fnp.expm1(fnp.where(positive, 0, x))))


def sigmoid(x):
    """1 / (1 + exp(-x)), the logistic function."""
    return lax.logistic(_float(x, 'sigmoid'))


def softplus(x):
    """log(1 + exp(x)), computed as logaddexp(x, 0)."""
    return fnp.logaddexp(_float(x, 'softplus'), 0)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return fnp.negative(softplus(fnp.negative(_float(x, 'log_sigmoid'))))


def silu(x):
    """x * sigmoid(x)."""
    x = _float(x, 'silu')
    return fnp.multiply(x, sigmoid(x))


swish = silu


def gelu(x, approximate=True):
    """The Gaussian error linear unit, in its tanh approximation (approximate=True, JAX's default)."""
    x = _float(x, 'gelu')
    if not approximate:
        raise NotImplementedError("fxad.nn.gelu(approximate=False) needs erf, which fxad.lax lacks")
    inner = fnp.multiply(float(np.sqrt(2 / np.pi)), fnp.add(x, fnp.multiply(0.044715, fnp.power(x, 3))))
    return fnp.multiply(fnp.multiply(0.5, x), fnp.add(1, fnp.tanh(inner)))


def _stable_shift(x, axes):
    """The maximum over axes (kept as size-1 axes) with stop_gradient; 0 where it is not finite,
    so rows of -inf give exp(-inf) = 0 rather than NaN."""
    amax = lax.expand_dims(lax.reduce_max(x, axes), axes)  # -inf over an empty axis
    return lax.stop_gradient(fnp.where(fnp.isfinite(amax), amax, 0))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) over axis, computed stably (the maximum is subtracted first).

    Its gradient is softmax(a). With return_sign, returns (log|sum|, sign(sum)).
    """
    a = _float(a, 'logsumexp')
    axes = canonicalize_axes(axis, get_aval(a).ndim, 'logsumexp')
    shift = _stable_shift(a, axes)
    terms = fnp.exp(fnp.subtract(a, shift))
    if b is not None:
        terms = fnp.multiply(terms, fnp.broadcast_to(check_arg(b, 'logsumexp'), get_aval(a).shape))
    total = fnp.sum(terms, axes, keepdims=True)
    out = fnp.add(fnp.log(fnp.abs(total) if return_sign else total), shift)
    out = out if keepdims else fnp.squeeze(out, axes)
    if not return_sign:
        return out
    sign = fnp.sign(total)
    return out, (sign if keepdims else fnp.squeeze(sign, axes))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over axis, computed stably."""
    x = _float(x, 'softmax')
    axes = canonicalize_axes(axis, get_aval(x).ndim, 'softmax')
    unnormalized = fnp.exp(fnp.subtract(x, _stable_shift(x, axes)))
    return fnp.true_divide(unnormalized, fnp.sum(unnormalized, axes, keepdims=True))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over axis, computed stably."""
    x = _float(x, 'log_softmax')
    axes = canonicalize_axes(axis, get_aval(x).ndim, 'log_softmax')
    shifted = fnp.subtract(x, _stable_shift(x, axes))
    return fnp.subtract(shifted, fnp.log(fnp.sum(fnp.exp(shifted), axes, keepdims=True)))


def one_hot(x, num_classes, *, dtype=dtypes.float_, axis=-1):
    """out[..., k, ...] = (x[...] == k) for k < num_classes, on a new axis; labels out of range
    give rows of zeros."""
    x = check_arg(x, 'one_hot')
    aval = get_aval(x)
    if aval.dtype.kind not in 'iuf':
        raise TypeError(f"fxad.nn.one_hot expects integer labels, got dtype {aval.dtype}")
    axis = canonicalize_axes(axis, aval.ndim + 1, 'one_hot')[0]
    shape = aval.shape[:axis] + (int(num_classes),) + aval.shape[axis:]
    labels = lax.broadcast_in_dim(x, shape, tuple(i for i in range(len(shape)) if i != axis))
    classes = lax.broadcasted_iota(aval.dtype, shape, axis)
    return lax.convert_element_type(lax.eq(labels, classes), np.dtype(dtype))
