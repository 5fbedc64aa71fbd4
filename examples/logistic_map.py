"""Expression swell, from the Sheffield lecture on automatic differentiation: the logistic map.

l(n+1) = 4 l(n) (1 - l(n)), l(0) = x. Differentiated symbolically, dl(n)/dx doubles in size with
each step (the lecture prints it for n <= 3; Mathematica simplifies n = 3 to a degree-7
polynomial). Automatic differentiation keeps values, not expressions: every intermediate is
computed once and reused, so the jaxpr of the derivative grows by a constant number of
equations per step — linearly in n.

References, independent of fxad: central finite differences for small n, and the closed form.
With x = sin²θ, l(n) = sin²(2ⁿθ) (the map is the angle doubling sin²θ -> sin²2θ), so
dl(n)/dx = 2ⁿ sin(2ⁿ⁺¹θ) / sin(2θ). The map is chaotic (rounding errors double every step), so
the agreement loosens from 1e-15 at n = 1 to about 1e-8 at n = 30.

Run: python examples/logistic_map.py
"""
import numpy as np

import fxad

X0 = 0.3
STEPS = (1, 2, 3, 4, 5, 10, 15, 20, 25, 30)


def logistic_map(n):
    """x -> l(n) with l(0) = x."""
    def l_n(x):
        for _ in range(n):
            x = 4.0 * x * (1.0 - x)
        return x
    return l_n


def derivative_closed_form(n, x):
    theta = np.arcsin(np.sqrt(x))
    return 2.0 ** n * np.sin(2.0 ** (n + 1) * theta) / np.sin(2 * theta)


def finite_difference(n, x, eps=1e-7):
    l_n = logistic_map(n)
    return (l_n(x + eps) - l_n(x - eps)) / (2 * eps)


def symbolic_tree_sizes(n_max):
    """Node counts of l(n) and of dl(n)/dx as expression trees without shared subexpressions.

    l(n+1) = (4 * l) * (1 - l) has 2 S + 5 nodes if l has S; the product rule without
    simplification, d[(4 l)(1 - l)] = (4 dl)(1 - l) + (4 l)(-dl), has 2 D + 2 S + 10 if dl has D.
    """
    sizes, dsizes = [1], [1]
    for _ in range(n_max):
        s, d = sizes[-1], dsizes[-1]
        sizes.append(2 * s + 5)
        dsizes.append(2 * d + 2 * s + 10)
    return dsizes


def eqn_count(fun, *args):
    return len(fxad.make_jaxpr(fun)(*args).eqns)


def main():
    symbolic = symbolic_tree_sizes(max(STEPS))
    print(f"Derivative of the logistic map l(n+1) = 4 l(n)(1 - l(n)) at l(0) = {X0}")
    print(f"{'n':>3} {'dl(n)/dx (grad)':>20} {'closed form':>20} {'rel err':>9} "
          f"{'grad eqns':>9} {'jvp eqns':>9} {'linear jvp':>10} {'symbolic nodes':>15}")
    grad_counts = []
    for n in STEPS:
        l_n = logistic_map(n)
        by_grad = fxad.grad(l_n)(X0)
        by_jvp = fxad.jvp(l_n, (X0,), (1.0,))[1]
        exact = derivative_closed_form(n, X0)
        _, l_n_jvp = fxad.linearize(l_n, X0)
        counts = (eqn_count(fxad.grad(l_n), X0),
                  eqn_count(lambda x: fxad.jvp(l_n, (x,), (1.0,)), X0),
                  eqn_count(l_n_jvp, 1.0))
        grad_counts.append(counts[0])
        rel_err = abs(by_grad - exact) / abs(exact)
        print(f"{n:3d} {by_grad:20.10g} {exact:20.10g} {rel_err:9.1e} "
              f"{counts[0]:9d} {counts[1]:9d} {counts[2]:10d} {symbolic[n]:15d}")
        np.testing.assert_allclose(by_jvp, by_grad, rtol=1e-12)
        np.testing.assert_allclose(by_grad, exact, rtol=2.0 ** n * 1e-15)
        if n <= 5:
            np.testing.assert_allclose(by_grad, finite_difference(n, X0), rtol=1e-6)

    per_step = np.diff(grad_counts) / np.diff(STEPS)
    assert np.all(per_step == per_step[0]), per_step
    print(f"\nThe gradient's jaxpr grows by {per_step[0]:g} equations per step (linearly); the symbolic "
          f"derivative's tree\nmore than doubles per step (like n 2^n): {symbolic[-1]:,} nodes at n = {max(STEPS)}.")


if __name__ == '__main__':
    main()
