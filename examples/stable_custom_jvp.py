"""A numerically stable softplus with a custom JVP rule.

softplus(x) = log(1 + exp(x)). Written stably with `where`, its value is right everywhere, but
differentiating it also differentiates the branch `where` discards: at x = 1000 that branch's
derivative is exp(x) / (1 + exp(x)) = inf / inf = nan, and nan * 0 is still nan. A custom_jvp
states the derivative directly, sigmoid(x) = logistic(x), which is stable for every x.

Run: python examples/stable_custom_jvp.py
"""
import numpy as np

import fxad
import fxad.numpy as fnp


def softplus_naive(x):
    # Right values (large x: softplus(x) = x to double precision), wrong gradients.
    return fnp.where(x > 30.0, x, fnp.log1p(fnp.exp(x)))


@fxad.custom_jvp
def softplus(x):
    return fnp.where(x > 30.0, x, fnp.log1p(fnp.exp(x)))


@softplus.defjvp
def softplus_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    return softplus(x), fxad.lax.logistic(x) * x_dot


def sigmoid(x):
    """Closed form of softplus', in NumPy, stable for both signs of x."""
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def main():
    xs = np.array([-1000.0, -20.0, -1.0, 0.0, 1.0, 20.0, 1000.0])
    grad_naive = fxad.vmap(fxad.grad(softplus_naive))
    grad_custom = fxad.vmap(fxad.grad(softplus))
    with np.errstate(invalid='ignore'):  # inf / inf in the naive derivative
        naive = grad_naive(xs)
    custom = grad_custom(xs)
    print(f"{'x':>8} {'softplus(x)':>14} {'naive grad':>12} {'custom grad':>12} {'sigmoid(x)':>12}")
    for x, v, gn, gc, s in zip(xs, softplus(xs), naive, custom, sigmoid(xs)):
        print(f"{x:8.1f} {v:14.6g} {gn:12.6g} {gc:12.6g} {s:12.6g}")

    assert np.isnan(naive[-1]), "the naive gradient at x = 1000 should be nan"
    np.testing.assert_allclose(custom, sigmoid(xs), rtol=1e-12)
    # The rule is differentiable too: softplus'' = sigmoid (1 - sigmoid).
    second = fxad.vmap(fxad.grad(fxad.grad(softplus)))(xs)
    np.testing.assert_allclose(second, sigmoid(xs) * (1 - sigmoid(xs)), rtol=1e-10, atol=1e-300)
    # And it is used under jit and in forward mode as well.
    x = 3.0
    _, tangent = fxad.jvp(fxad.jit(softplus), (x,), (1.0,))
    h = 1e-6
    fd = (np.log1p(np.exp(x + h)) - np.log1p(np.exp(x - h))) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-8)
    print("custom gradient matches sigmoid(x) everywhere; the naive one is nan at x = 1000")


if __name__ == '__main__':
    # exp overflows in the branch `where` discards (x = 1000): harmless for the values.
    with np.errstate(over='ignore'):
        main()
