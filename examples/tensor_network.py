"""A tensor network: fit a matrix product state (MPS) to the GHZ state by gradient descent.

Overlaps of MPS are single einsums over many operands; fnp.einsum asks opt_einsum for the
contraction order and lowers every pairwise step to one dot_general, so the gradient with
respect to all the cores is again a network of dot_generals. The gradient is checked against
central finite differences before training.
"""
import string

import numpy as np

import fxad
import fxad.numpy as fnp

N_SITES, PHYS, BOND = 6, 2, 3


def overlap_subscripts(n):
    """'<a|b>' for two open-boundary MPS of n sites: ket cores then bra cores, sharing the
    physical indices, each chain with its own bond indices."""
    letters = iter(string.ascii_letters)
    phys = [next(letters) for _ in range(n)]
    ket_bonds = [next(letters) for _ in range(n - 1)]
    bra_bonds = [next(letters) for _ in range(n - 1)]

    def chain(bonds):
        terms = []
        for k in range(n):
            left = bonds[k - 1] if k > 0 else ''
            right = bonds[k] if k < n - 1 else ''
            terms.append(left + phys[k] + right)
        return terms
    return ','.join(chain(ket_bonds) + chain(bra_bonds)) + '->'


SUBSCRIPTS = overlap_subscripts(N_SITES)


def overlap(ket, bra):
    return fnp.einsum(SUBSCRIPTS, *ket, *bra)


def infidelity(cores, target):
    """1 - |<target|psi>|^2 / (<psi|psi> <target|target>): zero when psi is the target state."""
    return 1.0 - overlap(cores, target) ** 2 / (overlap(cores, cores) * overlap(target, target))


def ghz_mps(n):
    """(|00..0> + |11..1>) / sqrt(2) as an MPS of bond dimension 2."""
    core = np.zeros((2, PHYS, 2))
    core[0, 0, 0] = core[1, 1, 1] = 1.0
    return [core[0] / np.sqrt(2)] + [core] * (n - 2) + [core[:, :, 0] + core[:, :, 1]]


def random_mps(rng, n):
    shapes = [(PHYS, BOND)] + [(BOND, PHYS, BOND)] * (n - 2) + [(BOND, PHYS)]
    return [rng.standard_normal(s) for s in shapes]


def check_gradient_by_finite_differences(loss, cores, rng, eps=1e-6):
    grads = fxad.grad(loss)(cores)
    direction = [rng.standard_normal(c.shape) for c in cores]
    analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, direction))
    plus = loss([c + eps * d for c, d in zip(cores, direction)])
    minus = loss([c - eps * d for c, d in zip(cores, direction)])
    numeric = (plus - minus) / (2 * eps)
    print(f"directional derivative: fxad.grad {analytic:.8f}, finite differences {numeric:.8f}")
    assert abs(analytic - numeric) <= 1e-6 * max(1.0, abs(numeric)), "gradient check failed"


def main():
    rng = np.random.default_rng(1)
    target = ghz_mps(N_SITES)
    cores = random_mps(rng, N_SITES)

    _, report = fnp.einsum_path(SUBSCRIPTS, *cores, *target)
    jaxpr = fxad.make_jaxpr(overlap)(cores, target)
    n_dots = sum(e.primitive.name == 'dot_general' for e in jaxpr.eqns)
    print(f"<target|psi> = einsum('{SUBSCRIPTS}')")
    print(f"  {len(cores) * 2} operands, {n_dots} dot_generals; opt_einsum path costs "
          f"{report.opt_cost:.3g} FLOPs instead of {report.naive_cost:.3g} for the naive sum")

    loss = lambda cores: infidelity(cores, target)
    check_gradient_by_finite_differences(loss, cores, rng)

    value_and_grad = fxad.jit(fxad.value_and_grad(loss))
    learning_rate = 0.5
    for step in range(121):
        # The loss ignores each core's scale, so fix the scales (a gauge) to keep steps even.
        cores = [c / np.linalg.norm(c) for c in cores]
        value, grads = value_and_grad(cores)
        if step % 20 == 0:
            print(f"step {step:3d}: fidelity with the GHZ state {1 - value:.6f}")
        cores = [c - learning_rate * g for c, g in zip(cores, grads)]
    assert value < 1e-3, f"the MPS did not converge to the GHZ state (infidelity {value:.3g})"

if __name__ == '__main__':
    main()
