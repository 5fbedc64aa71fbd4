"""The worked examples of the lecture notes fxad grew from (docs/walkthroughs.md), as tests.

Géron's Appendix D (gradient and Hessian of x²y + y + 2), Johnson's autograd tutorial (derivatives
of tanh, Hessian-vector, forward-from-reverse and Gauss-Newton-vector products) and the Sheffield
lecture's expression swell of the logistic map. Every number is checked against a closed form,
the Taylor series of tanh, or NumPy finite differences.
"""
import numpy as np
import pytest
from numpy.polynomial import Polynomial

import fxad
import fxad.numpy as fnp

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------------------------------------
# Géron, Appendix D: f(x, y) = x²y + y + 2

def geron_f(x, y):
    return x * x * y + y + 2


def test_geron_gradient_at_3_4_by_every_mode():
    assert fxad.grad(geron_f, argnums=(0, 1))(3.0, 4.0) == (24.0, 10.0)
    assert fxad.vjp(geron_f, 3.0, 4.0)[1](1.0) == (24.0, 10.0)
    assert fxad.jvp(geron_f, (3.0, 4.0), (1.0, 0.0)) == (42.0, 24.0)
    assert fxad.jvp(geron_f, (3.0, 4.0), (0.0, 1.0)) == (42.0, 10.0)


@pytest.mark.parametrize('hessian', [
    lambda f: fxad.hessian(f, argnums=(0, 1)),
    lambda f: fxad.jacfwd(fxad.jacrev(f, argnums=(0, 1)), argnums=(0, 1)),
    lambda f: fxad.jacrev(fxad.jacrev(f, argnums=(0, 1)), argnums=(0, 1)),
    lambda f: fxad.jacfwd(fxad.jacfwd(f, argnums=(0, 1)), argnums=(0, 1)),
], ids=['hessian', 'jacfwd_jacrev', 'jacrev_jacrev', 'jacfwd_jacfwd'])
def test_geron_hessian(hessian):
    h = hessian(geron_f)(3.0, 4.0)
    assert isinstance(h, tuple) and all(isinstance(row, tuple) and len(row) == 2 for row in h), h
    np.testing.assert_array_equal(np.array(h, dtype=float), [[8.0, 6.0], [6.0, 0.0]])
    x, y = RNG.standard_normal(2)
    np.testing.assert_allclose(np.array(hessian(geron_f)(x, y), dtype=float),
                               [[2 * y, 2 * x], [2 * x, 0.0]], rtol=1e-14, atol=1e-14)


def test_geron_gradient_at_random_points_against_hand_derivatives():
    x, y = RNG.standard_normal(2)
    np.testing.assert_allclose(fxad.grad(geron_f, argnums=(0, 1))(x, y), (2 * x * y, x * x + 1), rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# Johnson: derivatives of tanh by nesting

MAX_ORDER = 6


def tanh_derivative_polynomial(k):
    """d^k/dx^k tanh x = P_k(tanh x), P_0(t) = t, P_{k+1}(t) = P_k'(t) (1 - t²)."""
    p = Polynomial([0.0, 1.0])
    for _ in range(k):
        p = p.deriv() * Polynomial([1.0, 0.0, -1.0])
    return p


def _forward_derivative(f):
    return lambda x: fxad.jvp(f, (x,), (1.0,))[1]


def _nested(kind, f, k):
    """The k-th derivative of f by k nested grads, k nested jvps, or jvp and grad alternating."""
    for i in range(k):
        f = fxad.grad(f) if kind == 'grad' or (kind == 'alternating' and i % 2) else _forward_derivative(f)
    return f


@pytest.mark.parametrize('kind', ['grad', 'jvp', 'alternating'])
@pytest.mark.parametrize('k', range(MAX_ORDER + 1))
def test_tanh_derivatives_against_closed_form(kind, k):
    xs = np.array([-2.0, -0.5, 0.3, 1.1, 2.5])
    values = fxad.vmap(_nested(kind, fnp.tanh, k))(xs)
    np.testing.assert_allclose(values, tanh_derivative_polynomial(k)(np.tanh(xs)), rtol=1e-12, atol=1e-12)


def test_tanh_derivatives_at_zero_against_taylor_series():
    # tanh x = x - x³/3 + 2x⁵/15 - ..., so the derivatives at 0 are 0, 1, 0, -2, 0, 16, 0.
    expected = [0.0, 1.0, 0.0, -2.0, 0.0, 16.0, 0.0]
    assert [float(_nested('grad', fnp.tanh, k)(0.0)) for k in range(MAX_ORDER + 1)] == expected


# ---------------------------------------------------------------------------------------------
# Johnson: Hessian-vector, forward-from-reverse and Gauss-Newton-vector products

A = RNG.standard_normal((4, 5)) / 2


def hvp_loss(x, xp=fnp):
    return xp.sum(xp.tanh(xp.dot(A, x)) ** 2) + 0.25 * xp.sum(x ** 4)


def hvp_loss_hessian_by_hand(x):
    t = np.tanh(A @ x)
    # d²/du² tanh(u)² = 2 (1 - t²)(1 - 3 t²)
    return A.T @ np.diag(2 * (1 - t ** 2) * (1 - 3 * t ** 2)) @ A + np.diag(3 * x ** 2)


HVPS = {
    'forward_over_reverse': lambda f, x, v: fxad.jvp(fxad.grad(f), (x,), (v,))[1],
    'reverse_over_reverse': lambda f, x, v: fxad.grad(lambda x: fnp.vdot(fxad.grad(f)(x), v))(x),
    'reverse_over_forward': lambda f, x, v: fxad.grad(lambda x: fxad.jvp(f, (x,), (v,))[1])(x),
    'hessian_matvec': lambda f, x, v: fxad.hessian(f)(x) @ v,
}


@pytest.mark.parametrize('hvp', list(HVPS.values()), ids=list(HVPS))
def test_hessian_vector_product_against_closed_form_hessian(hvp):
    x, v = RNG.standard_normal(5), RNG.standard_normal(5)
    np.testing.assert_allclose(hvp(hvp_loss, x, v), hvp_loss_hessian_by_hand(x) @ v, rtol=1e-12, atol=1e-12)


def test_hessian_vector_product_against_finite_differences():
    x, v = RNG.standard_normal(5), RNG.standard_normal(5)
    f_np, eps = (lambda x: hvp_loss(x, np)), 1e-4
    fd = np.array([(f_np(x + eps * v + eps * e) - f_np(x + eps * v - eps * e)
                    - f_np(x - eps * v + eps * e) + f_np(x - eps * v - eps * e)) / (4 * eps ** 2)
                   for e in np.eye(5)])
    np.testing.assert_allclose(HVPS['forward_over_reverse'](hvp_loss, x, v), fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fxad.hessian(hvp_loss)(x), hvp_loss_hessian_by_hand(x), rtol=1e-12, atol=1e-12)


def layer(w):
    return fnp.tanh(fnp.dot(A, w))


def layer_jacobian_by_hand(w):
    return (1 - np.tanh(A @ w) ** 2)[:, None] * A


def test_forward_mode_from_reverse_mode():
    w, v = RNG.standard_normal(5), RNG.standard_normal(5)
    y, f_vjp = fxad.vjp(layer, w)
    _, f_vjp_vjp = fxad.vjp(lambda ct: f_vjp(ct)[0], np.zeros_like(y))
    Jv, = f_vjp_vjp(v)
    np.testing.assert_allclose(Jv, layer_jacobian_by_hand(w) @ v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('loss, loss_hessian', [
    (lambda y: 0.5 * fnp.sum(y ** 2), lambda y: np.eye(len(y))),
    (lambda y: fnp.sum(fnp.logaddexp(0.0, y)),
     lambda y: np.diag(np.exp(y) / (1 + np.exp(y)) ** 2)),   # softplus'' = sigmoid (1 - sigmoid)
], ids=['half_squared_norm', 'softplus'])
def test_gauss_newton_vector_product(loss, loss_hessian):
    w, v = RNG.standard_normal(5), RNG.standard_normal(5)
    y, Jv = fxad.jvp(layer, (w,), (v,))
    HJv = fxad.jvp(fxad.grad(loss), (y,), (Jv,))[1]
    ggnv, = fxad.vjp(layer, w)[1](HJv)
    J = layer_jacobian_by_hand(w)
    np.testing.assert_allclose(ggnv, J.T @ loss_hessian(np.tanh(A @ w)) @ J @ v,
                               rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Sheffield: the logistic map l(n+1) = 4 l(n)(1 - l(n)) and expression swell

def logistic_map(n):
    def l_n(x):
        for _ in range(n):
            x = 4.0 * x * (1.0 - x)
        return x
    return l_n


def logistic_derivative_closed_form(n, x):
    """x = sin²θ gives l(n) = sin²(2ⁿθ), so dl(n)/dx = 2ⁿ sin(2ⁿ⁺¹θ) / sin 2θ."""
    theta = np.arcsin(np.sqrt(x))
    return 2.0 ** n * np.sin(2.0 ** (n + 1) * theta) / np.sin(2 * theta)


def test_logistic_map_derivative_matches_the_lectures_simplified_polynomials():
    # The lecture counts from l_1 = x; its n = 3 and n = 4 are two and three steps here.
    x = RNG.uniform(0.05, 0.95)
    step2 = -16 * (-1 + 10 * x - 24 * x ** 2 + 16 * x ** 3)
    step3 = -64 * (-1 + 42 * x - 504 * x ** 2 + 2640 * x ** 3 - 7040 * x ** 4 + 9984 * x ** 5
                   - 7168 * x ** 6 + 2048 * x ** 7)
    np.testing.assert_allclose(fxad.grad(logistic_map(2))(x), step2, rtol=1e-12)
    np.testing.assert_allclose(fxad.grad(logistic_map(3))(x), step3, rtol=1e-10)


@pytest.mark.parametrize('n', [1, 2, 5, 10, 20, 30])
def test_logistic_map_derivative_against_closed_form(n):
    x = 0.3
    # The map is chaotic: rounding errors in both computations double every step.
    tol = 2.0 ** n * 1e-15
    np.testing.assert_allclose(fxad.grad(logistic_map(n))(x), logistic_derivative_closed_form(n, x), rtol=tol)
    np.testing.assert_allclose(fxad.jvp(logistic_map(n), (x,), (1.0,))[1],
                               logistic_derivative_closed_form(n, x), rtol=tol)
    if n <= 5:
        eps = 1e-7
        fd = (logistic_map(n)(x + eps) - logistic_map(n)(x - eps)) / (2 * eps)
        np.testing.assert_allclose(fxad.grad(logistic_map(n))(x), fd, rtol=1e-6)


@pytest.mark.parametrize('derivative', [
    lambda n: fxad.grad(logistic_map(n)),
    lambda n: lambda x: fxad.jvp(logistic_map(n), (x,), (1.0,)),
    lambda n: fxad.linearize(logistic_map(n), 0.3)[1],
], ids=['grad', 'jvp', 'linearized'])
def test_logistic_map_derivative_jaxpr_grows_linearly(derivative):
    steps = np.arange(1, 31)
    counts = np.array([len(fxad.make_jaxpr(derivative(n))(0.3).eqns) for n in steps])
    per_step = np.diff(counts)
    assert np.all(per_step == per_step[0]), counts          # exactly linear: a + b n
    assert 0 < per_step[0] <= 10, counts                      # a handful of equations per step
