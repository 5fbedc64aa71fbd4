"""Train a small recurrent network written with fxad.lax.scan on synthetic sequence data.

The recurrence h_t = tanh(W h_{t-1} + U x_t + b) is one scan: under jit it is one `scan`
equation however long the sequence, and grad differentiates it by running the loop backwards.
The task: predict a damped running sum of the inputs, y_t = sum_{s<=t} 0.8^(t-s) x_s.
"""
import numpy as np

import fxad
import fxad.numpy as fnp
from fxad import lax

HIDDEN, STEPS = 8, 20


def init_params(rng):
    return {'W': rng.normal(size=(HIDDEN, HIDDEN)) * 0.3 / np.sqrt(HIDDEN),
            'U': rng.normal(size=(HIDDEN, 1)), 'b': np.zeros(HIDDEN),
            'v': rng.normal(size=HIDDEN) / np.sqrt(HIDDEN)}


def predict(params, xs):
    """xs: (STEPS, 1) inputs of one sequence -> (STEPS,) outputs."""
    def step(h, x):
        h = fnp.tanh(params['W'] @ h + params['U'] @ x + params['b'])
        return h, params['v'] @ h
    _, ys = lax.scan(step, fnp.zeros(HIDDEN), xs)
    return ys


def loss(params, xs, ys):
    """Mean squared error over a batch of sequences (vmap over the batch)."""
    pred = fxad.vmap(predict, in_axes=(None, 0))(params, xs)
    return fnp.mean((pred - ys) ** 2)


@fxad.jit
def update(params, xs, ys, lr):
    grads = fxad.grad(loss)(params, xs, ys)
    return {k: params[k] - lr * grads[k] for k in params}


def make_data(rng, n):
    xs = rng.normal(size=(n, STEPS, 1)) * 0.5
    ys = np.zeros((n, STEPS))
    acc = np.zeros(n)
    for t in range(STEPS):
        acc = 0.8 * acc + xs[:, t, 0]
        ys[:, t] = acc
    return xs, ys


def main(steps=150):
    rng = np.random.default_rng(0)
    xs, ys = make_data(rng, 32)
    params = init_params(rng)
    first = float(loss(params, xs, ys))
    print(f"step    0  loss {first:.4f}")
    for step in range(1, steps + 1):
        params = update(params, xs, ys, 0.05)
        if step % 30 == 0:
            print(f"step {step:4d}  loss {float(loss(params, xs, ys)):.4f}")
    last = float(loss(params, xs, ys))
    print(f"loss: {first:.4f} -> {last:.4f}")
    assert last < first / 3, "training did not reduce the loss"


if __name__ == '__main__':
    main()
