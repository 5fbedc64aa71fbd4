"""A jitted four-operand einsum chain against the best hand-ordered NumPy matmul chain.

fxad's einsum follows opt_einsum's optimal path, so the jitted chain should run the same three
matrix products as the best parenthesization (target: within 1.2x of it). Prints milliseconds.
"""
import time

import numpy as np

import fxad
import fxad.numpy as fnp

CHAIN = 'ij,jk,kl,lm->im'

# All five parenthesizations of A B C D.
ORDERS = {
    '((AB)C)D': lambda a, b, c, d: ((a @ b) @ c) @ d,
    '(A(BC))D': lambda a, b, c, d: (a @ (b @ c)) @ d,
    '(AB)(CD)': lambda a, b, c, d: (a @ b) @ (c @ d),
    'A((BC)D)': lambda a, b, c, d: a @ ((b @ c) @ d),
    'A(B(CD))': lambda a, b, c, d: a @ (b @ (c @ d)),
}


def best_of(fn, args, repeat=20):
    fn(*args)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times) * 1e3


def main():
    rng = np.random.default_rng(0)
    for shapes in [[(256, 8), (8, 256), (256, 8), (8, 256)],
                   [(1000, 20), (20, 1000), (1000, 20), (20, 1000)],
                   [(64, 512), (512, 64), (64, 512), (512, 8)]]:
        ops = [rng.standard_normal(s) for s in shapes]
        print(f"shapes {' '.join(str(s) for s in shapes)}")
        numpy_times = {name: best_of(f, ops) for name, f in ORDERS.items()}
        best = min(numpy_times, key=numpy_times.get)
        chain = fxad.jit(lambda *xs: fnp.einsum(CHAIN, *xs))
        t_fxad = best_of(chain, ops)
        t_eager = best_of(lambda *xs: fnp.einsum(CHAIN, *xs), ops)
        t_np_einsum = best_of(lambda *xs: np.einsum(CHAIN, *xs, optimize=True), ops)
        print(f"  best NumPy matmul order {best}: {numpy_times[best]:.3f} ms "
              f"(worst {max(numpy_times.values()):.3f} ms)")
        print(f"  fxad.jit(fnp.einsum): {t_fxad:.3f} ms ({t_fxad / numpy_times[best]:.2f}x the best order); "
              f"eager fnp.einsum {t_eager:.3f} ms; numpy.einsum(optimize=True) {t_np_einsum:.3f} ms")


if __name__ == '__main__':
    main()
