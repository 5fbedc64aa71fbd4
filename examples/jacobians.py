"""Jacobians and per-example gradients: jacfwd, jacrev and vmap(grad), checked against NumPy.

A Jacobian by forward mode is one batched jvp over the standard basis; per-example gradients
are one batched gradient computation, not a Python loop.
"""
import numpy as np

import fxad
import fxad.numpy as fnp


def f(x):
    """A map from R^3 to R^2."""
    return fnp.stack([x[0] * fnp.sin(x[1]), fnp.exp(x[2]) * x[0] ** 2])


def f_jacobian_by_hand(x):
    return np.array([[np.sin(x[1]), x[0] * np.cos(x[1]), 0.0],
                     [2 * x[0] * np.exp(x[2]), 0.0, x[0] ** 2 * np.exp(x[2])]])


def logistic_loss(w, x, y):
    """Loss of one example (x, y) for a logistic-regression weight vector w."""
    z = fnp.dot(x, w)
    return fnp.logaddexp(0.0, -y * z)


def main():
    x = np.array([0.5, -1.0, 0.3])
    J_fwd = fxad.jacfwd(f)(x)
    J_rev = fxad.jacrev(f)(x)
    print("Jacobian (jacfwd):\n", J_fwd)
    assert np.allclose(J_fwd, f_jacobian_by_hand(x)) and np.allclose(J_rev, J_fwd)

    rng = np.random.default_rng(0)
    w = rng.normal(size=4)
    xs = rng.normal(size=(6, 4))
    ys = np.sign(rng.normal(size=6))
    per_example = fxad.vmap(fxad.grad(logistic_loss), in_axes=(None, 0, 0))(w, xs, ys)
    by_hand = np.stack([-y * x / (1 + np.exp(y * x @ w)) for x, y in zip(xs, ys)])
    print("per-example gradients, shape", per_example.shape)
    print(per_example)
    assert np.allclose(per_example, by_hand)
    print("matches the closed form.")


if __name__ == '__main__':
    main()
