"""The square root as a fixed point, and its derivative by the implicit function theorem.

The Babylonian method iterates x <- f(x, a) = (x + a / x) / 2, whose fixed point is sqrt(a).
fxad.solvers.fixed_point runs the iteration in a while_loop and never differentiates it: at the
fixed point x* = f(x*, a),

    dx*/da = (1 - df/dx)^-1 df/da,   df/dx = (1 - a / x*^2) / 2 = 0,   df/da = 1 / (2 x*),

so dx*/da = 1 / (2 sqrt(a)), the derivative of the square root. This script checks that in
forward and reverse mode, under jit and vmap, and against differentiating the unrolled loop.

Run: python examples/babylonian_sqrt.py
"""
import numpy as np

import fxad
from fxad.solvers import fixed_point


def babylonian_step(x, a):
    return (x + a / x) / 2


def sqrt(a):
    return fixed_point(babylonian_step, 1.0, a)


def sqrt_unrolled(a, steps=40):
    """The same iteration as a Python loop: fxad differentiates all 40 steps."""
    x = 1.0
    for _ in range(steps):
        x = babylonian_step(x, a)
    return x


def main():
    a = np.array([0.25, 2.0, 10.0, 1e4])
    values = fxad.vmap(sqrt)(a)
    grads = fxad.jit(fxad.vmap(fxad.grad(sqrt)))(a)            # reverse mode
    tangents = fxad.jvp(fxad.vmap(sqrt), (a,), (np.ones_like(a),))[1]   # forward mode
    unrolled = fxad.vmap(fxad.grad(sqrt_unrolled))(a)
    print(f"{'a':>8} {'sqrt(a)':>12} {'d/da (grad)':>14} {'d/da (jvp)':>14} {'unrolled':>14} "
          f"{'1/(2 sqrt a)':>14}")
    for row in zip(a, values, grads, tangents, unrolled, 0.5 / np.sqrt(a)):
        print(f"{row[0]:8g} {row[1]:12.9f} " + ' '.join(f"{v:14.9f}" for v in row[2:]))

    np.testing.assert_allclose(values, np.sqrt(a), rtol=1e-12)
    np.testing.assert_allclose(grads, 0.5 / np.sqrt(a), rtol=1e-12)
    np.testing.assert_allclose(tangents, 0.5 / np.sqrt(a), rtol=1e-12)
    np.testing.assert_allclose(unrolled, 0.5 / np.sqrt(a), rtol=1e-10)

    # The rule is itself differentiable: d2 sqrt(a)/da2 = -1 / (4 a^(3/2)).
    second = fxad.grad(fxad.grad(sqrt))(2.0)
    print(f"second derivative at a = 2: {second:.12f} (closed form {-0.25 * 2.0 ** -1.5:.12f})")
    assert abs(second + 0.25 * 2.0 ** -1.5) < 1e-12

    # The linearized function solves one linear equation; it holds no copy of the iterations.
    jaxpr = fxad.make_jaxpr(fxad.grad(sqrt))(2.0)
    assert 'custom_linear_solve' in str(jaxpr)
    print("grad(sqrt) stages a custom_linear_solve: differentiated implicitly, not unrolled")


if __name__ == '__main__':
    main()
