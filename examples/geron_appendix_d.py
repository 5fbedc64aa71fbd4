"""Géron's Appendix D (Hands-On Machine Learning) in fxad: f(x, y) = x²y + y + 2 at (3, 4).

The appendix differentiates f four ways: finite differences, a symbolic graph, dual numbers
(forward mode) and backpropagation (reverse mode). By hand, df/dx = 2xy = 24, df/dy = x² + 1 = 10,
and the Hessian is [[2y, 2x], [2x, 0]] = [[8, 6], [6, 0]]. fxad gets the same numbers from jvp
(the dual-number method: each value carries a tangent, the ε part), from vjp and grad (reverse
mode: linearize, then transpose), and the Hessian from hessian and jacfwd(jacrev).

Run: python examples/geron_appendix_d.py
"""
import numpy as np

import fxad

X, Y = 3.0, 4.0


def f(x, y):
    return x * x * y + y + 2


def gradient_by_hand(x, y):
    return np.array([2 * x * y, x * x + 1])


def hessian_by_hand(x, y):
    return np.array([[2 * y, 2 * x], [2 * x, 0.0]])


def finite_differences(x, y, eps=1e-6):
    """The appendix's first method, with central rather than forward differences."""
    return np.array([(f(x + eps, y) - f(x - eps, y)) / (2 * eps),
                     (f(x, y + eps) - f(x, y - eps)) / (2 * eps)])


def main():
    print("f(x, y) = x*x*y + y + 2 at (3, 4); its jaxpr:")
    print(fxad.make_jaxpr(f)(X, Y))

    # Dual numbers: one forward pass per input, seeding that input's tangent (the ε part) with 1.
    value, dfdx = fxad.jvp(lambda x: f(x, Y), (X,), (1.0,))
    _, dfdy = fxad.jvp(lambda y: f(X, y), (Y,), (1.0,))
    print(f"\nf(3, 4) = {value}")
    print(f"forward mode (jvp, dual numbers): df/dx = {dfdx}, df/dy = {dfdy}")
    print("\nThe dual-number pass for df/dx (tangent of x is 1, y carries no tangent at all):")
    print(fxad.make_jaxpr(lambda x, y: fxad.jvp(lambda x: f(x, y), (x,), (1.0,)))(X, Y))

    # Reverse mode: one backward pass gives both partial derivatives.
    _, f_vjp = fxad.vjp(f, X, Y)
    by_vjp = f_vjp(1.0)
    by_grad = fxad.grad(f, argnums=(0, 1))(X, Y)
    print(f"\nreverse mode (vjp): {tuple(float(g) for g in by_vjp)}")
    print(f"reverse mode (grad): {tuple(float(g) for g in by_grad)}")
    print(f"finite differences:  {tuple(float(g) for g in finite_differences(X, Y))}")
    print("\nThe gradient's jaxpr: the primal pass, then the backward pass:")
    print(fxad.make_jaxpr(fxad.grad(f, argnums=(0, 1)))(X, Y))
    print("\nThe backward pass alone (the vjp function; its constant a is the residual x*x = 9):")
    print(fxad.make_jaxpr(f_vjp)(1.0))

    H = np.array(fxad.hessian(f, argnums=(0, 1))(X, Y), dtype=float)
    H_fwd_rev = np.array(fxad.jacfwd(fxad.jacrev(f, argnums=(0, 1)), argnums=(0, 1))(X, Y), dtype=float)
    print("\nHessian (hessian):\n", H)
    print("Hessian (jacfwd of jacrev):\n", H_fwd_rev)

    expected_gradient = gradient_by_hand(X, Y)
    assert value == 42.0
    assert np.array_equal([dfdx, dfdy], expected_gradient) and np.array_equal(expected_gradient, [24.0, 10.0])
    assert np.array_equal(np.array(by_vjp, dtype=float), expected_gradient)
    assert np.array_equal(np.array(by_grad, dtype=float), expected_gradient)
    np.testing.assert_allclose(finite_differences(X, Y), expected_gradient, rtol=1e-8)
    assert np.array_equal(H, hessian_by_hand(X, Y)) and np.array_equal(H, [[8.0, 6.0], [6.0, 0.0]])
    assert np.array_equal(H_fwd_rev, H)
    print("\nall match the hand-derived gradient (24, 10) and Hessian [[8, 6], [6, 0]].")


if __name__ == '__main__':
    main()
