"""Higher-order derivatives, after Johnson's autograd tutorial (Deep Learning Summer School 2017).

Four of its slides, in fxad:
1. derivatives of tanh up to order 6 by nesting grad, against closed forms: with t = tanh x,
   d/dx tanh x = 1 - t², and d/dx P(t) = P'(t) (1 - t²), so the k-th derivative is a polynomial
   P_k(t) with P_0(t) = t, P_{k+1}(t) = P_k'(t) (1 - t²);
2. a Hessian-vector product H v = d/dε ∇f(x + ε v) by forward-over-reverse (jvp of grad), and
   the slide's reverse-over-reverse version ∇_x (∇f(x) · v), against hessian(f)(x) @ v and
   against NumPy finite differences;
3. forward mode from reverse mode: vjp_fn is linear in its cotangent, so the vjp of vjp_fn is
   the jvp (J^T)^T v = J v; checked against jvp and the Jacobian by hand;
4. the generalized Gauss-Newton-vector product J^T H_g J v of a loss g(f(w)), against the
   closed form for g(y) = |y|²/2 (the slide's default), where it is J^T J v.

Run: python examples/higher_order.py
"""
import numpy as np
from numpy.polynomial import Polynomial

import fxad
import fxad.numpy as fnp

MAX_ORDER = 6
RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 5)) / 2


def tanh_derivative_polynomials(max_order):
    """[P_0, ..., P_max_order] with d^k/dx^k tanh x = P_k(tanh x)."""
    polys = [Polynomial([0.0, 1.0])]
    one_minus_t2 = Polynomial([1.0, 0.0, -1.0])
    for _ in range(max_order):
        polys.append(polys[-1].deriv() * one_minus_t2)
    return polys


def nested_grads(f, max_order):
    """[f, grad(f), grad(grad(f)), ...] up to max_order nestings."""
    fs = [f]
    for _ in range(max_order):
        fs.append(fxad.grad(fs[-1]))
    return fs


def loss(x, xp=fnp):
    """A scalar function of R^5; xp=np gives the same function in plain NumPy."""
    return xp.sum(xp.tanh(xp.dot(A, x)) ** 2) + 0.25 * xp.sum(x ** 4)


def hvp_forward_over_reverse(f, x, v):
    return fxad.jvp(fxad.grad(f), (x,), (v,))[1]


def hvp_reverse_over_reverse(f, x, v):
    """The tutorial's hvp: the gradient of x -> ∇f(x) · v."""
    return fxad.grad(lambda x: fnp.vdot(fxad.grad(f)(x), v))(x)


def hvp_finite_differences(f_np, x, v, eps=1e-4):
    """(H v)_i = ∂²f / ∂ε ∂δ at f(x + ε v + δ e_i), by central differences on both."""
    out = np.empty_like(x)
    for i, e in enumerate(np.eye(len(x))):
        out[i] = (f_np(x + eps * v + eps * e) - f_np(x + eps * v - eps * e)
                  - f_np(x - eps * v + eps * e) + f_np(x - eps * v - eps * e)) / (4 * eps * eps)
    return out


def layer(w):
    """A map from R^5 to R^4 (one tanh layer)."""
    return fnp.tanh(fnp.dot(A, w))


def layer_jacobian_by_hand(w):
    return (1 - np.tanh(A @ w) ** 2)[:, None] * A


def jvp_from_reverse(f, x, v):
    """The tutorial's make_jvp: the vjp of a vjp function. vjp_fn(ct) = J^T ct is linear in ct,
    so linearizing it at any ct (zeros here) and transposing gives ct -> J v."""
    y, f_vjp = fxad.vjp(f, x)
    _, f_vjp_vjp = fxad.vjp(lambda ct: f_vjp(ct)[0], np.zeros_like(y))
    return f_vjp_vjp(v)[0]


def half_squared_norm(y):
    return 0.5 * fnp.sum(y ** 2)


def ggn_vector_product(f, g, w, v):
    """J^T H_g J v: forward through f, an HVP of g at f(w), back through f."""
    y, Jv = fxad.jvp(f, (w,), (v,))
    HJv = hvp_forward_over_reverse(g, y, Jv)
    _, f_vjp = fxad.vjp(f, w)
    return f_vjp(HJv)[0]


def tanh_table():
    xs = np.array([-2.0, -0.5, 0.0, 0.7, 1.5])
    polys = tanh_derivative_polynomials(MAX_ORDER)
    print("Derivatives of tanh by nested grad, against P_k(tanh x) (P_0 = t, P_k+1 = P_k' (1 - t^2)):")
    print(f"{'k':>2} {'eqns':>5} " + ' '.join(f"{'x=' + str(x):>10}" for x in xs) + f" {'max |err|':>10}")
    for k, dk in enumerate(nested_grads(fnp.tanh, MAX_ORDER)):
        values = fxad.vmap(dk)(xs)
        expected = polys[k](np.tanh(xs))
        error = np.max(np.abs(values - expected))
        n_eqns = len(fxad.make_jaxpr(dk)(0.5).eqns)
        print(f"{k:2d} {n_eqns:5d} " + ' '.join(f"{v:10.5f}" for v in values) + f" {error:10.2e}")
        np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12)


def main():
    tanh_table()

    x = RNG.standard_normal(5)
    v = RNG.standard_normal(5)
    H = fxad.hessian(loss)(x)
    hvps = {
        'jvp of grad (forward-over-reverse)': hvp_forward_over_reverse(loss, x, v),
        'grad of grad . v (reverse-over-reverse)': hvp_reverse_over_reverse(loss, x, v),
        'hessian(f)(x) @ v': H @ v,
        'NumPy finite differences': hvp_finite_differences(lambda x: loss(x, np), x, v),
    }
    print("\nHessian-vector products of f(x) = sum(tanh(A x)^2) + sum(x^4)/4:")
    for name, hv in hvps.items():
        print(f"  {name:40s}", np.array2string(hv, precision=6))
    np.testing.assert_allclose(hvps['jvp of grad (forward-over-reverse)'], H @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hvps['grad of grad . v (reverse-over-reverse)'], H @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H @ v, hvps['NumPy finite differences'], rtol=1e-6, atol=1e-6)

    w = RNG.standard_normal(5)
    J = layer_jacobian_by_hand(w)
    from_reverse = jvp_from_reverse(layer, w, v)
    forward = fxad.jvp(layer, (w,), (v,))[1]
    print("\nForward mode from reverse mode, J v for tanh(A w):")
    print(f"  {'vjp of the vjp function':40s}", np.array2string(from_reverse, precision=6))
    print(f"  {'jvp':40s}", np.array2string(forward, precision=6))
    print(f"  {'Jacobian by hand @ v':40s}", np.array2string(J @ v, precision=6))
    np.testing.assert_allclose(from_reverse, J @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(forward, J @ v, rtol=1e-12, atol=1e-12)

    ggnv = ggn_vector_product(layer, half_squared_norm, w, v)
    print("\nGauss-Newton-vector product J^T J v of |tanh(A w)|^2 / 2:")
    print(f"  {'J^T H_g J v (jvp, hvp, vjp)':40s}", np.array2string(ggnv, precision=6))
    print(f"  {'J^T J v by hand':40s}", np.array2string(J.T @ (J @ v), precision=6))
    np.testing.assert_allclose(ggnv, J.T @ (J @ v), rtol=1e-12, atol=1e-12)
    print("\nall match their closed forms and finite differences.")


if __name__ == '__main__':
    main()
