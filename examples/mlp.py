"""Train a small multilayer perceptron with fxad.grad on synthetic regression data.

The parameters are a list of (W, b) pairs: grad returns gradients in the same structure.
"""
import numpy as np

import fxad
import fxad.numpy as fnp


def init_params(rng, sizes):
    return [(rng.normal(size=(m, n)) / np.sqrt(m), np.zeros(n)) for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for W, b in params[:-1]:
        x = fnp.tanh(x @ W + b)
    W, b = params[-1]
    return x @ W + b


def loss(params, x, y):
    return fnp.mean((predict(params, x) - y) ** 2)


@fxad.jit
def update(params, x, y, lr):
    grads = fxad.grad(loss)(params, x, y)
    return [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(params, grads)]


def main(steps=300):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(128, 1))
    y = np.sin(2 * x) + 0.05 * rng.normal(size=x.shape)
    params = init_params(rng, [1, 32, 32, 1])
    first = float(loss(params, x, y))
    for step in range(steps):
        params = update(params, x, y, 0.1)
        if step % 100 == 0:
            print(f"step {step:4d}  loss {float(loss(params, x, y)):.4f}")
    last = float(loss(params, x, y))
    print(f"loss: {first:.4f} -> {last:.4f}")
    assert last < first / 4, "training did not reduce the loss"


if __name__ == '__main__':
    main()
