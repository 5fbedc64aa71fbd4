"""checkpoint (remat): same values and derivatives, fewer residuals.

References: closed-form derivatives, the same function without checkpoint, finite differences,
and the size of the residuals linearize keeps.
"""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad.interpreters import ad

from helpers import check_jvp_fd, check_transpose, check_vmap_vs_loop

RNG = np.random.default_rng(0)
X = RNG.uniform(-1.0, 1.0, 1000)


def sin_chain(x):
    for _ in range(10):
        x = fnp.sin(x)
    return x


def sin_chain_derivative(x):
    d = np.ones_like(x)
    for _ in range(10):
        d = d * np.cos(x)
        x = np.sin(x)
    return d


def residual_size(f, *args):
    _, _, residuals, _ = ad.linearize_flat(lambda *a: [f(*a)], list(args))
    return sum(np.size(r) for r in residuals)


def test_residuals_are_the_inputs_only():
    assert residual_size(sin_chain, X) == 10 * X.size  # cos of every intermediate
    assert residual_size(fxad.checkpoint(sin_chain), X) == X.size  # x alone


def test_policies_choose_what_is_saved():
    policies = fxad.checkpoint_policies
    assert residual_size(fxad.checkpoint(sin_chain, policy=policies.everything_saveable), X) == 10 * X.size
    assert residual_size(fxad.checkpoint(sin_chain, policy=policies.nothing_saveable), X) == X.size

    w = RNG.standard_normal((30, 30)) / 6
    v = RNG.standard_normal(30)

    def mlp(w, v):
        return fnp.sin(w @ fnp.sin(w @ v))
    # Saving the two matrix-vector products adds 2 * 30 numbers to the inputs w and v.
    assert residual_size(fxad.checkpoint(mlp, policy=policies.dots_saveable), w, v) == w.size + v.size + 60
    # d/dw sum sin(w h), h = sin(w v): c h^T + (cos(w v) * (w^T c)) v^T with c = cos(w h).
    h = np.sin(w @ v)
    c = np.cos(w @ h)
    expected = np.outer(c, h) + np.outer(np.cos(w @ v) * (w.T @ c), v)
    for policy in (policies.dots_saveable, policies.nothing_saveable, policies.everything_saveable):
        g = fxad.grad(lambda w: fxad.checkpoint(mlp, policy=policy)(w, v).sum())(w)
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-14)


def _grad_by(transform, f):
    loss = lambda x: f(x).sum()  # noqa: E731
    if transform == 'grad':
        return fxad.grad(loss)
    if transform == 'jit_grad':
        return fxad.jit(fxad.grad(loss))
    if transform == 'grad_jit':
        return fxad.grad(fxad.jit(loss))
    if transform == 'vmap_grad':
        return lambda x: fxad.vmap(fxad.grad(loss))(x.reshape(10, -1)).ravel()
    if transform == 'grad_vmap':
        return lambda x: fxad.grad(lambda x: fxad.vmap(f)(x).sum())(x.reshape(10, -1)).ravel()
    if transform == 'jacrev_diag':
        return lambda x: np.diag(fxad.jacrev(f)(x[:20]))
    if transform == 'jvp':
        return lambda x: fxad.jvp(f, (x,), (np.ones_like(x),))[1]
    raise ValueError(transform)


@pytest.mark.parametrize('transform', ['grad', 'jit_grad', 'grad_jit', 'vmap_grad', 'grad_vmap',
                                       'jacrev_diag', 'jvp'])
def test_gradients_unchanged(transform):
    g = _grad_by(transform, fxad.checkpoint(sin_chain))(X)
    expected = sin_chain_derivative(X)[:np.size(g)]
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)


def test_values_jit_vmap_and_fd():
    f = fxad.remat(sin_chain)
    np.testing.assert_allclose(f(X), sin_chain(X), rtol=1e-15)
    np.testing.assert_allclose(fxad.jit(f)(X), sin_chain(X), rtol=1e-15)
    check_vmap_vs_loop(f, (X[:12].reshape(3, 4),), 1)
    check_jvp_fd(f, (X[:5],))


def test_second_order():
    f = fxad.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    for x in X[:3]:
        expected = -np.sin(np.sin(x)) * np.cos(x) ** 2 - np.cos(np.sin(x)) * np.sin(x)
        assert np.isclose(fxad.grad(fxad.grad(f))(x), expected, rtol=1e-12)
        assert np.isclose(fxad.hessian(f)(x), expected, rtol=1e-12)


def test_pytrees_kwargs_static_args_and_closures():
    @fxad.checkpoint
    def f(params, x, scale=1.0):
        return {'out': fnp.tanh(params['w'] * x + params['b']) * scale}

    params = {'w': 1.5, 'b': -0.3}
    g = fxad.grad(lambda p: f(p, 0.7, scale=2.0)['out'])(params)
    t = np.tanh(1.5 * 0.7 - 0.3)
    np.testing.assert_allclose([g['w'], g['b']], [2 * (1 - t ** 2) * 0.7, 2 * (1 - t ** 2)], rtol=1e-12)

    repeat = fxad.checkpoint(lambda x, n: sum(fnp.sin(k * x) for k in range(n)), static_argnums=(1,))
    assert np.isclose(fxad.grad(repeat)(0.3, 3), sum(k * np.cos(0.3 * k) for k in range(3)), rtol=1e-12)

    # A value closed over (a tracer of grad) is an operand of the checkpoint: differentiated.
    g_y = fxad.grad(lambda y: fxad.checkpoint(lambda x: fnp.sin(x * y))(0.5))(1.2)
    assert np.isclose(g_y, 0.5 * np.cos(0.6), rtol=1e-12)


def test_checkpoint_in_jaxpr_and_transpose():
    jaxpr = fxad.make_jaxpr(fxad.checkpoint(sin_chain))(1.0)
    assert [e.primitive.name for e in jaxpr.eqns] == ['checkpoint']
    assert 'prevent_cse=True' in str(jaxpr)
    fxad.core.check_jaxpr(jaxpr)
    # The backward pass is a checkpoint equation recomputing the sines before the cosines.
    backward = fxad.make_jaxpr(fxad.grad(fxad.checkpoint(lambda x: fnp.sin(fnp.sin(x)))))(1.0)
    inner = [e.primitive.name for e in backward.eqns[-1].params['jaxpr'].eqns]
    assert backward.eqns[-1].primitive.name == 'checkpoint' and inner[0] == 'sin'
    w = RNG.standard_normal((3, 4))
    check_transpose(fxad.checkpoint(lambda v: w @ (2.0 * v)), np.ones(4), np.arange(3.0))


def test_inside_scan():
    step = fxad.checkpoint(lambda c, _: (fnp.sin(c), None))
    g = fxad.grad(lambda x: fxad.lax.scan(step, x, None, length=10)[0].sum())(X[:50])
    np.testing.assert_allclose(g, sin_chain_derivative(X[:50]), rtol=1e-12)
