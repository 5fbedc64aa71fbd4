"""fxad.nn against NumPy references written here: values (eager and under jit), derivatives
against central finite differences, vmap against a loop, and numerical stability at extremes."""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import nn

from helpers import check_jvp_fd, check_vjp_fd, check_vmap_vs_loop, rand


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


# (name, fxad function, NumPy reference, input domain)
CASES = [
    ('relu', nn.relu, lambda x: np.maximum(x, 0), 'nonzero'),
    ('relu6', nn.relu6, lambda x: np.clip(x, 0, 6), 'nonzero'),
    ('leaky_relu', nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x), 'nonzero'),
    ('elu', nn.elu, lambda x: np.where(x > 0, x, np.expm1(x)), 'nonzero'),
    ('sigmoid', nn.sigmoid, lambda x: 1 / (1 + np.exp(-x)), 'real'),
    ('log_sigmoid', nn.log_sigmoid, lambda x: -np.log1p(np.exp(-x)), 'real'),
    ('softplus', nn.softplus, lambda x: np.log1p(np.exp(x)), 'real'),
    ('silu', nn.silu, lambda x: x / (1 + np.exp(-x)), 'real'),
    ('gelu', nn.gelu, _np_gelu_tanh, 'real'),
    ('logsumexp', nn.logsumexp, _np_logsumexp, 'real'),
    ('logsumexp_axis', lambda x: nn.logsumexp(x, axis=1), lambda x: _np_logsumexp(x, 1), 'real'),
    ('logsumexp_keepdims', lambda x: nn.logsumexp(x, axis=(0, 2), keepdims=True),
     lambda x: _np_logsumexp(x, (0, 2), True), 'real'),
    ('logsumexp_b', lambda x: nn.logsumexp(x, axis=-1, b=np.arange(1.0, 5.0)),
     lambda x: np.log(np.sum(np.arange(1.0, 5.0) * np.exp(x), axis=-1)), 'real'),
    ('softmax', nn.softmax, _np_softmax, 'real'),
    ('softmax_axis0', lambda x: nn.softmax(x, axis=0), lambda x: _np_softmax(x, 0), 'real'),
    ('log_softmax', nn.log_softmax, lambda x: np.log(_np_softmax(x)), 'real'),
    ('log_softmax_axes', lambda x: nn.log_softmax(x, axis=(1, 2)), lambda x: x - _np_logsumexp(x, (1, 2), True),
     'real'),
]
IDS = [c[0] for c in CASES]
SHAPE = (2, 3, 4)


@pytest.mark.parametrize('name, f, ref, domain', CASES, ids=IDS)
def test_values_match_numpy(name, f, ref, domain):
    x = rand(np.random.default_rng(0), SHAPE, domain)
    expected = ref(x)
    for out in (f(x), fxad.jit(f)(x)):
        assert isinstance(out, (np.ndarray, np.generic))
        assert out.shape == np.shape(expected) and out.dtype == np.float64
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize('name, f, ref, domain', CASES, ids=IDS)
def test_derivatives_match_finite_differences(name, f, ref, domain):
    x = rand(np.random.default_rng(1), SHAPE, domain)
    check_jvp_fd(f, (x,), atol=1e-6, rtol=1e-6)
    check_vjp_fd(f, (x,))
    # Reverse mode against forward mode on every basis direction (the full Jacobian).
    np.testing.assert_allclose(fxad.jacrev(f)(x), fxad.jacfwd(f)(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize('name, f, ref, domain', CASES[::3], ids=IDS[::3])
def test_vmap_matches_loop(name, f, ref, domain):
    x = rand(np.random.default_rng(2), (3,) + SHAPE, domain)
    check_vmap_vs_loop(f, (x,), in_axes=0, rtol=1e-12, atol=1e-15)


def test_float32_stays_float32():
    x = np.linspace(-3, 3, 7).astype(np.float32)
    refs = {name: (f, ref) for name, f, ref, _ in CASES}
    for name in ('relu', 'sigmoid', 'softplus', 'logsumexp', 'softmax', 'log_softmax', 'gelu', 'silu'):
        f, ref = refs[name]
        for out in (f(x), fxad.jit(f)(x)):
            assert out.dtype == np.float32, name
            np.testing.assert_allclose(out, ref(x.astype(np.float64)), rtol=1e-6, atol=1e-6, err_msg=name)


def test_grad_of_logsumexp_is_softmax():
    x = rand(np.random.default_rng(3), (3, 5))
    g = fxad.grad(lambda x: fnp.sum(nn.logsumexp(x, axis=1)))(x)
    np.testing.assert_allclose(g, _np_softmax(x, 1), rtol=1e-12)
    np.testing.assert_allclose(g, nn.softmax(x, axis=1), rtol=1e-12)


def test_stability_at_extremes():
    big = np.array([1000.0, 1000.0])
    np.testing.assert_allclose(nn.logsumexp(big), 1000 + np.log(2), rtol=1e-15)
    np.testing.assert_allclose(nn.logsumexp(-big), -1000 + np.log(2), rtol=1e-15)
    with np.errstate(divide='ignore'):  # log(0), as NumPy warns
        np.testing.assert_allclose(nn.logsumexp(np.array([-np.inf, -np.inf])), -np.inf)
    np.testing.assert_allclose(nn.logsumexp(np.array([np.inf, 0.0])), np.inf)
    np.testing.assert_allclose(nn.softmax(np.array([1000.0, 0.0, -1000.0])), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(nn.log_softmax(np.array([1000.0, 0.0])), [0.0, -1000.0])
    np.testing.assert_allclose(nn.softmax(np.array([-np.inf, 0.0])), [0.0, 1.0])
    np.testing.assert_allclose(nn.softplus(np.array([1000.0, -1000.0])), [1000.0, 0.0])
    np.testing.assert_allclose(nn.sigmoid(np.array([1000.0, -1000.0])), [1.0, 0.0])
    np.testing.assert_allclose(nn.log_sigmoid(np.array([-1000.0])), [-1000.0])
    np.testing.assert_allclose(nn.elu(np.array([1000.0, -1000.0])), [1000.0, -1.0])
    # Derivatives stay finite where a naive formula overflows.
    g = fxad.grad(lambda x: nn.logsumexp(x))(big)
    np.testing.assert_allclose(g, [0.5, 0.5])
    g = fxad.grad(lambda x: fnp.sum(nn.log_softmax(x)))(np.array([1000.0, 0.0]))
    np.testing.assert_allclose(g, [-1.0, 1.0])
    g = fxad.grad(lambda x: fnp.sum(nn.softplus(x)))(np.array([1000.0, -1000.0]))
    np.testing.assert_allclose(g, [1.0, 0.0])
    g = fxad.grad(lambda x: fnp.sum(nn.elu(x)))(np.array([1000.0, -1000.0]))
    np.testing.assert_allclose(g, [1.0, 0.0])


def test_relu_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(fxad.grad(lambda x: fnp.sum(nn.relu(x)))(np.array([-1.0, 0.0, 2.0])), [0, 0, 1])


def test_logsumexp_return_sign():
    x = np.array([0.0, 1.0, 2.0])
    b = np.array([1.0, -1.0, -1.0])
    value, sign = nn.logsumexp(x, b=b, return_sign=True)
    total = np.sum(b * np.exp(x))
    np.testing.assert_allclose(value, np.log(abs(total)), rtol=1e-14)
    assert sign == np.sign(total)


def test_one_hot():
    labels = np.array([[0, 2], [3, 1]])
    expected = (labels[..., None] == np.arange(4)).astype(np.float64)
    np.testing.assert_array_equal(nn.one_hot(labels, 4), expected)
    np.testing.assert_array_equal(fxad.jit(lambda l: nn.one_hot(l, 4))(labels), expected)
    np.testing.assert_array_equal(nn.one_hot(labels, 4, axis=0), np.moveaxis(expected, -1, 0))
    out = nn.one_hot(np.array([-1, 5]), 3, dtype=np.int32)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.zeros((2, 3)))
    check_vmap_vs_loop(lambda l: nn.one_hot(l, 4), (labels,), in_axes=1, rtol=0)
    with pytest.raises(TypeError, match='one_hot'):
        nn.one_hot(np.array([True]), 2)


def test_bad_input():
    with pytest.raises(TypeError, match='softmax'):
        nn.softmax('x')
    with pytest.raises(ValueError, match='logsumexp'):
        nn.logsumexp(np.ones(3), axis=1)
    with pytest.raises(NotImplementedError, match='gelu'):
        nn.gelu(np.ones(3), approximate=False)
