"""Eager grad over a long chain of small operations: the hot path (bind, tracer creation, rule
lookup). Prints milliseconds per call; compare with HIPS autograd if it is installed."""
import time

import numpy as np

import fxad
import fxad.numpy as fnp


def chain(np_mod, n):
    def f(x):
        for _ in range(n):
            x = np_mod.sin(x) * 1.01
        return np_mod.sum(x) if hasattr(x, 'shape') and x.shape else x
    return f


def best_of(fn, arg, repeat=5):
    fn(arg)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return min(times) * 1e3


def main(n=1000):
    for label, x in [('scalar', 0.5), ('vector[100]', np.linspace(0, 1, 100))]:
        print(f"{label}: eager {best_of(chain(fnp, n), x):.1f} ms, "
              f"fxad.grad {best_of(fxad.grad(chain(fnp, n)), x):.1f} ms")
        try:
            import autograd
            import autograd.numpy as anp
            print(f"{label}: autograd.grad {best_of(autograd.grad(chain(anp, n)), x):.1f} ms")
        except ImportError:
            pass


if __name__ == '__main__':
    main()
