"""fxad.solvers: fixed_point, root, cg and minimize, differentiated implicitly.

References: closed-form solutions and derivatives, central finite differences of NumPy
reference solutions, fxad derivatives of the unrolled iteration (a fixed number of Python-loop
steps, differentiated step by step), and Python loops over the batch for vmap. Every solver is
checked in forward mode (jvp, jacfwd) and reverse mode (grad, jacrev), eagerly, under jit and
under vmap; non-convergence must raise ConvergenceError in each of those settings.
"""
import warnings

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import solvers
from fxad.solvers import ConvergenceError

from helpers import assert_tree_allclose, check_transpose, check_vmap_vs_loop, numerical_jvp

RNG = np.random.default_rng(0)
JACOBIANS = [fxad.jacfwd, fxad.jacrev]
JAC_IDS = ['jacfwd', 'jacrev']

# ---------------------------------------------------------------------------------------------
# fixed_point


def babylonian(x, a):
    return (x + a / x) / 2


def fp_sqrt(a):
    return solvers.fixed_point(babylonian, 1.0, a)


def test_fixed_point_babylonian_sqrt():
    a = np.array([0.5, 2.0, 10.0])
    np.testing.assert_allclose(fxad.vmap(fp_sqrt)(a), np.sqrt(a), rtol=1e-12)
    for derivative in (fxad.vmap(fxad.grad(fp_sqrt)),
                       lambda a: np.diag(fxad.jacfwd(fxad.vmap(fp_sqrt))(a)),
                       lambda a: np.diag(fxad.jacrev(fxad.vmap(fp_sqrt))(a))):
        np.testing.assert_allclose(derivative(a), 0.5 / np.sqrt(a), rtol=1e-12)
    assert abs(fxad.grad(fxad.grad(fp_sqrt))(2.0) + 0.25 * 2.0 ** -1.5) < 1e-12


W = 0.4 * RNG.standard_normal((3, 3)) / np.sqrt(3)   # a contraction: |tanh'| <= 1, ||W|| < 1
C = RNG.standard_normal(3)


def layer(x, w, c):
    return fnp.tanh(w @ x + c)


def fp_layer(w, c):
    return solvers.fixed_point(layer, np.zeros(3), w, c)


def unrolled_layer(w, c, steps=120):
    x = np.zeros(3)
    for _ in range(steps):
        x = layer(x, w, c)
    return x


def numpy_layer_fixed_point(w, c):
    x = np.zeros(3)
    for _ in range(500):
        x = np.tanh(w @ x + c)
    return x


@pytest.mark.parametrize('jac', JACOBIANS, ids=JAC_IDS)
def test_fixed_point_jacobians_vs_unrolled(jac):
    x = fp_layer(W, C)
    np.testing.assert_allclose(x, np.tanh(W @ x + C), atol=1e-13)
    implicit = jac(fp_layer, (0, 1))(W, C)
    unrolled = jac(unrolled_layer, (0, 1))(W, C)
    assert_tree_allclose(implicit, unrolled, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize('mode', ['jvp', 'grad'])
def test_fixed_point_vs_finite_differences(mode):
    tw, tc = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
    fd = numerical_jvp(numpy_layer_fixed_point, (W, C), (tw, tc))
    if mode == 'jvp':
        np.testing.assert_allclose(fxad.jvp(fp_layer, (W, C), (tw, tc))[1], fd, atol=1e-7)
    else:
        ct = RNG.standard_normal(3)
        gw, gc = fxad.grad(lambda w, c: fnp.vdot(ct, fp_layer(w, c)), (0, 1))(W, C)
        assert abs(np.sum(gw * tw) + gc @ tc - ct @ fd) < 1e-7


def test_fixed_point_jit_and_vmap():
    jitted = fxad.jit(fxad.jacrev(fp_layer, 1))
    np.testing.assert_allclose(jitted(W, C), fxad.jacrev(unrolled_layer, 1)(W, C), atol=1e-9)
    cs = RNG.standard_normal((4, 3))
    check_vmap_vs_loop(fp_layer, (W, cs), (None, 0), rtol=1e-12)
    check_vmap_vs_loop(fxad.jacfwd(fp_layer, 1), (W, cs), (None, 0), rtol=1e-10, atol=1e-12)
    check_vmap_vs_loop(fxad.grad(lambda w, c: fp_layer(w, c).sum()), (W, cs), (None, 0),
                       rtol=1e-10, atol=1e-12)


def test_fixed_point_pytree_closure_and_int_params():
    # x is a dict; f closes over the traced c and takes an integer power as a parameter.
    def f(x, w, power):
        return {'u': fnp.tanh(w @ x['v'] + c_box[0]), 'v': 0.5 * fnp.sin(x['u']) ** power}

    def solution(w, c):
        c_box[0] = c
        return solvers.fixed_point(f, {'u': np.zeros(3), 'v': np.zeros(3)}, w, 1)

    def unrolled(w, c):
        c_box[0] = c
        x = {'u': np.zeros(3), 'v': np.zeros(3)}
        for _ in range(150):
            x = f(x, w, 1)
        return x
    c_box = [C]
    for jac in JACOBIANS:
        assert_tree_allclose(jac(solution, (0, 1))(W, C), jac(unrolled, (0, 1))(W, C),
                             atol=1e-9, rtol=1e-9)


def test_fixed_point_x0_gets_no_derivative():
    g = fxad.grad(lambda x0, a: solvers.fixed_point(babylonian, x0, a), (0, 1))(1.0, 2.0)
    assert g[0] == 0.0 and abs(g[1] - 0.5 / np.sqrt(2.0)) < 1e-12


def test_fixed_point_derivative_is_implicit():
    # The linearized jaxpr solves a linear system; the while loop is never transposed.
    text = str(fxad.make_jaxpr(fxad.grad(fp_sqrt))(2.0))
    assert 'custom_linear_solve' in text


@pytest.mark.parametrize('scale', [1e-13, 1.0, 1e13])
def test_fixed_point_is_relative_whatever_the_scale(scale):
    # x = x / 2 + s has x* = 2 s; the old test max|f(x) - x| <= tol max(1, |x|) stopped at s.
    np.testing.assert_allclose(solvers.fixed_point(lambda x, s: 0.5 * x + s, 0.0, scale),
                               2 * scale, rtol=1e-10)
    np.testing.assert_allclose(fxad.grad(lambda s: solvers.fixed_point(lambda x, s: 0.5 * x + s, 0.0, s))(scale),
                               2.0, rtol=1e-10)


def test_fixed_point_small_solution_and_its_derivative():
    # x = 0.9 sin(x) + a, a = 1e-9: x* ~ 1e-8 (NumPy Newton reference), dx*/da = 1 / (1 - 0.9 cos x*).
    a = 1e-9
    x_ref = a / 0.1
    for _ in range(20):
        x_ref -= (x_ref - 0.9 * np.sin(x_ref) - a) / (1 - 0.9 * np.cos(x_ref))

    def solution(a):
        return solvers.fixed_point(lambda x, a: 0.9 * fnp.sin(x) + a, 0.0, a)
    # a contraction at rate 0.9: the error is about tol * 0.9 / (1 - 0.9)
    np.testing.assert_allclose(solution(a), x_ref, rtol=1e-8)
    for derivative in (fxad.grad(solution), fxad.jacfwd(solution)):
        np.testing.assert_allclose(derivative(a), 1 / (1 - 0.9 * np.cos(x_ref)), rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# root


def cubic(x, p, q):
    return x ** 3 + p * x - q


def root_cubic(p, q):
    return solvers.root(cubic, np.zeros(3), p, q)


def unrolled_newton(p, q, steps=30):
    x = np.zeros(3)
    for _ in range(steps):
        x = x - cubic(x, p, q) / (3 * x ** 2 + p)
    return x


P, Q = RNG.uniform(1.0, 2.0, 3), RNG.standard_normal(3)


@pytest.mark.parametrize('jac', JACOBIANS, ids=JAC_IDS)
def test_root_jacobians(jac):
    x = root_cubic(P, Q)
    np.testing.assert_allclose(cubic(x, P, Q), 0, atol=1e-12)
    jp, jq = jac(root_cubic, (0, 1))(P, Q)
    np.testing.assert_allclose(jq, np.diag(1 / (3 * x ** 2 + P)), atol=1e-12)
    np.testing.assert_allclose(jp, np.diag(-x / (3 * x ** 2 + P)), atol=1e-12)
    assert_tree_allclose((jp, jq), jac(unrolled_newton, (0, 1))(P, Q), atol=1e-10)


def test_root_vs_finite_differences_jit_and_vmap():
    def numpy_root(p, q):
        return np.array([np.roots([1, 0, pi, -qi])[np.argmin(abs(np.roots([1, 0, pi, -qi]).imag))].real
                         for pi, qi in zip(p, q)])
    tp, tq = RNG.standard_normal(3), RNG.standard_normal(3)
    fd = numerical_jvp(numpy_root, (P, Q), (tp, tq))
    np.testing.assert_allclose(fxad.jit(lambda *a: fxad.jvp(root_cubic, a[:2], a[2:])[1])(P, Q, tp, tq),
                               fd, atol=1e-7)
    check_vmap_vs_loop(root_cubic, (P, RNG.standard_normal((2, 3))), (None, 0), rtol=1e-12)
    check_vmap_vs_loop(fxad.jacrev(root_cubic, 1), (P, RNG.standard_normal((2, 3))), (None, 0),
                       rtol=1e-10, atol=1e-12)


def test_root_two_dimensional_system():
    # x^2 + y^2 = r^2, y = x: x = y = r / sqrt(2); dx/dr = 1 / sqrt(2).
    def g(v, r):
        return fnp.stack([v[0] ** 2 + v[1] ** 2 - r ** 2, v[1] - v[0]])
    sol = lambda r: solvers.root(g, np.array([1.0, 0.5]), r)
    np.testing.assert_allclose(sol(2.0), [np.sqrt(2)] * 2, rtol=1e-13)
    np.testing.assert_allclose(fxad.jacfwd(sol)(2.0), [1 / np.sqrt(2)] * 2, rtol=1e-12)
    np.testing.assert_allclose(fxad.jacrev(sol)(2.0), [1 / np.sqrt(2)] * 2, rtol=1e-12)


def test_root_small_solution():
    # x^2 = 1e-20: x* = 1e-10, dx*/dc = 1 / (2 x*) for x^2 = c.
    sol = lambda c: solvers.root(lambda x, c: x ** 2 - c, 1.0, c)
    np.testing.assert_allclose(sol(1e-20), 1e-10, rtol=1e-13)
    np.testing.assert_allclose(fxad.grad(sol)(1e-20), 0.5e10, rtol=1e-12)


@pytest.mark.parametrize('how', ['eager', 'jit', 'grad'])
def test_root_singular_newton_step_raises_convergence_error(how):
    # x^2 + 1 has no real root (Newton lands on x = 0 where g' = 0); x^2 - 4 from 0 starts there.
    for g, x0 in ((lambda x, a: x ** 2 + a, 1.0), (lambda x, a: x ** 2 - 4 * a, 0.0)):
        fn = lambda a: solvers.root(g, x0, a)
        run = {'eager': fn, 'jit': fxad.jit(fn), 'grad': fxad.grad(fn)}[how]
        with pytest.raises(ConvergenceError, match=r"root did not converge: stopped after \d+ "
                                                    r"iterations? .*singular\) = inf"):
            run(1.0)


def test_root_singular_step_under_vmap_names_the_member():
    solve = fxad.vmap(lambda x0: solvers.root(lambda x: x ** 2 - 4, x0))
    np.testing.assert_allclose(solve(np.array([1.0, -3.0])), [2.0, -2.0], rtol=1e-14)
    with pytest.raises(ConvergenceError, match=r"for 1 of 3 batch members \(vmap\); the worst, "
                                                r"batch member \(1,\), stopped after 1 iteration"):
        solve(np.array([1.0, 0.0, 3.0]))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)      # sqrt of a negative number
        with pytest.raises(ConvergenceError, match=r"1 of 2 batch members .* batch member \(0,\)"):
            fxad.vmap(lambda x0: solvers.root(lambda x: fnp.sqrt(x) - 2, x0))(np.array([-1.0, 1.0]))


def test_root_singular_jacobian_at_the_root_fails_in_the_derivative():
    # (x - a)^2 = 0 at x = a exactly, but dg/dx = 0 there: dx*/da is undefined.
    sol = lambda a: solvers.root(lambda x, a: (x - a) ** 2, 1.0, a)
    assert sol(1.0) == 1.0
    for derivative in (fxad.grad(sol), fxad.jacfwd(sol)):
        with pytest.raises(ConvergenceError, match=r"root \(derivative: the dense solve"):
            derivative(1.0)


# ---------------------------------------------------------------------------------------------
# cg


N = 5
M_ = RNG.standard_normal((N, N))
SPD = M_ @ M_.T + N * np.eye(N)
B = RNG.standard_normal(N)


def cg_solve(a, b):
    return solvers.cg(lambda v: a @ v, b)


def unrolled_cg(a, b):
    """N steps of textbook CG in Python: exact in exact arithmetic, differentiated step by step."""
    x = fnp.zeros_like(b)
    r = b
    p = r
    for _ in range(N):
        ap = a @ p
        alpha = (r @ r) / (p @ ap)
        x = x + alpha * p
        r_new = r - alpha * ap
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


def symmetrized(solve):
    """solve(m + m^T, b): every perturbation of A is symmetric, as CG's derivation assumes."""
    return lambda m, b: solve(m + m.T, b)


@pytest.mark.parametrize('jac', JACOBIANS, ids=JAC_IDS)
def test_cg_jacobians(jac):
    np.testing.assert_allclose(cg_solve(SPD, B), np.linalg.solve(SPD, B), rtol=1e-10)
    # Any perturbation of A, symmetric or not: dx = -A^-1 dA x.
    implicit = jac(cg_solve, (0, 1))(SPD, B)
    dense = jac(lambda a, b: fnp.linalg.solve(a, b), (0, 1))(SPD, B)
    assert_tree_allclose(implicit, dense, atol=1e-10)
    # Unrolled CG solves A x = b only for symmetric A, so compare along symmetric perturbations.
    unrolled = jac(symmetrized(unrolled_cg), (0, 1))(SPD / 2, B)
    assert_tree_allclose(jac(symmetrized(cg_solve), (0, 1))(SPD / 2, B), unrolled, atol=1e-8)


def test_cg_vs_finite_differences_jit_vmap_and_pytrees():
    ta, tb = RNG.standard_normal((N, N)), RNG.standard_normal(N)
    ta = ta + ta.T     # stay symmetric
    fd = numerical_jvp(np.linalg.solve, (SPD, B), (ta, tb))
    np.testing.assert_allclose(fxad.jvp(cg_solve, (SPD, B), (ta, tb))[1], fd, atol=1e-7)
    np.testing.assert_allclose(fxad.jit(cg_solve)(SPD, B), np.linalg.solve(SPD, B), rtol=1e-10)
    check_vmap_vs_loop(cg_solve, (SPD, RNG.standard_normal((3, N))), (None, 0), rtol=1e-9)
    check_vmap_vs_loop(fxad.jacrev(cg_solve, 1), (np.stack([SPD, 2 * SPD]), np.stack([B, B])),
                       (0, 0), rtol=1e-8, atol=1e-12)
    # a pytree b: block-diagonal A, with an initial guess
    out = solvers.cg(lambda v: {'a': SPD @ v['a'], 'b': 3.0 * v['b']}, {'a': B, 'b': np.ones(2)},
                     x0={'a': np.ones(N), 'b': np.zeros(2)})
    np.testing.assert_allclose(out['a'], np.linalg.solve(SPD, B), rtol=1e-9)
    np.testing.assert_allclose(out['b'], [1 / 3, 1 / 3], rtol=1e-12)
    # x is linear in b; its transpose is a CG solve with A^T = A
    y = RNG.standard_normal(N)
    ct = check_transpose(lambda b: cg_solve(SPD, b), B, y, rtol=1e-9)
    np.testing.assert_allclose(ct, np.linalg.solve(SPD, y), rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# minimize: ridge regression, x*(lam) = argmin ||X x - y||^2 + lam ||x||^2

X = RNG.standard_normal((30, 4))
Y = X @ RNG.standard_normal(4) + 0.1 * RNG.standard_normal(30)
METHODS = ['bfgs', 'newton-cg', 'gd']


def ridge_loss(x, lam):
    r = X @ x - Y
    return fnp.sum(r ** 2) + lam * fnp.sum(x ** 2)


def ridge_closed_form(lam):
    return fnp.linalg.solve(X.T @ X + lam * np.eye(4), X.T @ Y)


def ridge(lam, method='bfgs'):
    return solvers.minimize(ridge_loss, np.zeros(4), lam, method=method)


@pytest.mark.parametrize('method', METHODS)
def test_minimize_ridge_derivative(method):
    lam = 0.8
    x = ridge(lam, method)
    np.testing.assert_allclose(x, np.linalg.solve(X.T @ X + lam * np.eye(4), X.T @ Y), atol=1e-10)
    expected = -np.linalg.solve(X.T @ X + lam * np.eye(4), x)     # dx*/dlam
    for jac in JACOBIANS:
        np.testing.assert_allclose(jac(ridge)(lam, method), expected, atol=1e-10)
    np.testing.assert_allclose(fxad.jacfwd(ridge_closed_form)(lam), expected, atol=1e-10)
    fd = numerical_jvp(lambda l: np.linalg.solve(X.T @ X + l * np.eye(4), X.T @ Y), (lam,), (1.0,))
    np.testing.assert_allclose(fxad.jacrev(ridge)(lam, method), fd, atol=1e-7)


def test_minimize_hyperparameter_gradient_jit_and_vmap():
    X_val = RNG.standard_normal((10, 4))
    Y_val = X_val @ np.ones(4)

    def val_loss(lam, solution):
        return fnp.sum((X_val @ solution(lam) - Y_val) ** 2)
    g = fxad.jit(fxad.grad(lambda l: val_loss(l, ridge)))(0.5)
    assert abs(g - fxad.grad(lambda l: val_loss(l, ridge_closed_form))(0.5)) < 1e-8
    lams = np.array([0.1, 1.0, 5.0])
    check_vmap_vs_loop(ridge, (lams,), 0, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fxad.vmap(fxad.jacrev(ridge))(lams),
                               fxad.vmap(fxad.jacfwd(ridge_closed_form))(lams), atol=1e-9)


def logistic_loss(w, lam, features, labels):
    z = features @ w
    return fnp.sum(fnp.logaddexp(0.0, z) - labels * z) + 0.5 * lam * fnp.sum(w ** 2)


def test_minimize_nonquadratic_vs_unrolled_newton():
    features = RNG.standard_normal((25, 3))
    labels = (RNG.uniform(size=25) < 0.5).astype(np.float64)

    def fitted(lam, method):
        return solvers.minimize(logistic_loss, np.zeros(3), lam, features, labels, method=method)

    def unrolled(lam):
        w = np.zeros(3)
        for _ in range(12):
            h = fxad.hessian(logistic_loss)(w, lam, features, labels)
            w = w - fnp.linalg.solve(h, fxad.grad(logistic_loss)(w, lam, features, labels))
        return w
    for method in ('bfgs', 'newton-cg'):
        np.testing.assert_allclose(fitted(0.3, method), unrolled(0.3), atol=1e-10)
        np.testing.assert_allclose(fxad.jacrev(fitted)(0.3, method), fxad.jacrev(unrolled)(0.3),
                                   atol=1e-9)
        np.testing.assert_allclose(fxad.jacfwd(fitted)(0.3, method), fxad.jacrev(unrolled)(0.3),
                                   atol=1e-9)


H2 = np.array([[2.0, 1.0], [1.0, 3.0]])


def quadratic(w, b, scale, offset):
    return scale * (w @ H2 @ w / 2 - b @ w) + offset


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('scale, offset', [(1.0, 0.0), (1e-12, 0.0), (1e12, 0.0), (1.0, 1e6),
                                           (1.0, 1e12), (1e-9, 1e6)])
def test_minimize_is_scale_and_offset_free(method, scale, offset):
    # x* = H^-1 b and dx*/db = H^-1, whatever the scale of f or a constant added to it.
    # (gd used to stall near 1e-8 on these; bfgs returned x0 for scale 1e-12.)
    b = np.array([1.0, 1.0])

    def solution(b):
        return solvers.minimize(quadratic, np.zeros(2), b, scale, offset, method=method)
    np.testing.assert_allclose(solution(b), np.linalg.solve(H2, b), rtol=1e-10)
    for jac in JACOBIANS:
        np.testing.assert_allclose(jac(solution)(b), np.linalg.inv(H2), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize('method', METHODS)
def test_minimize_tiny_gradient_small_solution_and_warm_start(method):
    np.testing.assert_allclose(solvers.minimize(lambda w: 1e-12 * fnp.sum((w - 1) ** 2), np.zeros(2),
                                                method=method), [1.0, 1.0], rtol=1e-10)
    np.testing.assert_allclose(solvers.minimize(lambda w: fnp.sum((w - 1e-6) ** 2), np.ones(2),
                                                method=method), [1e-6, 1e-6], rtol=1e-10)
    x_star = np.linalg.solve(X.T @ X + 0.8 * np.eye(4), X.T @ Y)
    for x0 in (x_star, x_star * (1 + 1e-8)):
        np.testing.assert_allclose(solvers.minimize(ridge_loss, x0, 0.8, method=method), x_star,
                                   rtol=1e-10)


def test_minimize_derivative_failure_names_minimize():
    # At a = 0 the Hessian diag(2, 2a) is singular; x* = (1, 3) still converges, dx*/da cannot.
    def solution(a):
        return solvers.minimize(lambda x, a: (x[0] - 1) ** 2 + a * x[1] ** 2, np.array([0.0, 3.0]), a)
    np.testing.assert_allclose(solution(0.0), [1.0, 3.0], rtol=1e-12)
    for derivative in (fxad.grad(lambda a: fnp.sum(solution(a))), fxad.jacfwd(solution)):
        with pytest.raises(ConvergenceError, match=r"minimize \(derivative: CG on the Hessian at x\*\)"):
            derivative(0.0)


@pytest.mark.parametrize('method', METHODS)
def test_minimize_without_a_minimum_raises(method):
    # Unbounded below: the descent overflows, and no Newton step can certify the result.
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        with pytest.raises(ConvergenceError, match="minimize did not converge"):
            solvers.minimize(lambda x: -fnp.sum(x ** 2), np.ones(2), method=method)


def test_custom_root_aux_is_a_numpy_value():
    # solve returns Python numbers for x* and aux; custom_root returns NumPy values, as fxad does.
    def solve(f, x):
        return 2.0 ** 0.5, {'steps': 3, 'residual': 0.0}
    x, aux = fxad.lax.custom_root(lambda x: x ** 2 - 2.0, 1.0, solve, lambda g, y: y / g(1.0),
                                  has_aux=True)
    assert type(x) is np.float64 and x == np.sqrt(2.0)
    assert type(aux['steps']) is np.int64 and aux['steps'] == 3
    assert type(aux['residual']) is np.float64


# ---------------------------------------------------------------------------------------------
# Non-convergence and bad arguments


def diverging(a):
    return solvers.fixed_point(lambda x, a: a * x + 1.0, 0.0, a, max_iter=50)


CONVERGENCE_FAILURES = {
    'fixed_point': (diverging, 3.0),
    'root': (lambda a: solvers.root(lambda x, a: x ** 2 + a, 1.5, a), 1.0),      # no real root
    'root_singular': (lambda a: solvers.root(lambda x, a: x ** 2 - a, 0.0, a), 4.0),  # g'(x0) = 0
    'cg': (lambda a: solvers.cg(lambda v: a * v, np.ones(3)), -1.0),           # not SPD
    'cg_maxiter': (lambda a: solvers.cg(lambda v: SPD @ v * a, B, maxiter=2), 1.0),
    'minimize': (lambda a: solvers.minimize(lambda x, a: fnp.sum((x - 0.3) ** 4) * a, np.ones(2), a,
                                            method='gd', max_iter=5), 1.0),
}


@pytest.mark.parametrize('name', sorted(CONVERGENCE_FAILURES))
@pytest.mark.parametrize('how', ['eager', 'jit', 'grad'])
def test_convergence_error(name, how):
    fn, arg = CONVERGENCE_FAILURES[name]
    run = {'eager': fn, 'jit': fxad.jit(fn), 'grad': fxad.grad(lambda a: fnp.sum(fn(a)))}[how]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)      # overflow while diverging
        with pytest.raises(ConvergenceError, match=r"did not converge: stopped after \d+ iterations? "
                                                    r"with residual .* = "):
            run(arg)


def test_convergence_error_message_and_vmap():
    with pytest.raises(ConvergenceError, match=r"fxad.solvers.fixed_point did not converge: stopped "
                                                r"after 50 iterations .* tolerance 1e-10"):
        diverging(3.0)
    with pytest.raises(ConvergenceError, match=r"for 1 of 3 batch members \(vmap\); the worst, "
                                                r"batch member \(2,\), stopped after 50 iterations"):
        fxad.vmap(diverging)(np.array([0.1, 0.5, 3.0]))
    with pytest.raises(ConvergenceError, match="for 2 of 3 batch members"):
        fxad.jit(fxad.vmap(diverging))(np.array([3.0, 0.5, 4.0]))
    np.testing.assert_allclose(fxad.vmap(diverging)(np.array([0.1, 0.5])), [1 / 0.9, 2.0], rtol=1e-9)


def test_convergence_error_in_the_derivative_solve():
    # f(x) = x - x^3 creeps towards its fixed point 0, where df/dx = 1: the primal iteration
    # meets the loose tolerance at once, but the adjoint iteration w <- w - c cannot converge.
    def f(x, a):
        return x - x ** 3 + 0 * a
    with pytest.raises(ConvergenceError, match=r"derivative"):
        fxad.grad(lambda a: solvers.fixed_point(f, 1e-6, a, tol=1e-3, max_iter=20))(1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"f must have the shape of x0: it has shape \(6,\) where "
                                         r"x0 has shape \(3,\)"):
        solvers.fixed_point(lambda x: fnp.concatenate([x, x]), np.zeros(3))
    with pytest.raises(TypeError, match="f must have the structure of x0"):
        solvers.fixed_point(lambda x: (x, x), np.zeros(3))
    with pytest.raises(TypeError, match="f must have the dtype of x0"):
        solvers.fixed_point(lambda x: x.astype(np.float32), np.zeros(3))
    with pytest.raises(ValueError, match=r"g must have the shape of x0"):
        solvers.root(lambda x: x[:2], np.ones(3))
    with pytest.raises(ValueError, match=r"matvec must have the shape of b: it has shape \(2,\)"):
        solvers.cg(lambda v: v[:2], np.ones(3))
    with pytest.raises(ValueError, match=r"x0 must have the shape of b: it has shape \(4,\)"):
        solvers.cg(lambda v: v, np.ones(3), x0=np.ones(4))
    with pytest.raises(TypeError, match="scalar-output"):
        solvers.minimize(lambda x: x, np.ones(3))
    with pytest.raises(ValueError, match="unknown method 'lbfgs'"):
        solvers.minimize(lambda x: fnp.sum(x ** 2), np.ones(3), method='lbfgs')
    with pytest.raises(ValueError, match="tol must be a positive number"):
        solvers.fixed_point(lambda x: x, 1.0, tol=-1.0)
    with pytest.raises(ValueError, match="maxiter must be a positive integer"):
        solvers.cg(lambda v: v, np.ones(3), maxiter=0)
    with pytest.raises(TypeError, match="x0 must be one array"):
        solvers.root(lambda x: x, {'a': 1.0})


def test_public_names():
    assert set(solvers.__all__) == {'ConvergenceError', 'fixed_point', 'root', 'cg', 'minimize'}
    assert all(callable(getattr(solvers, name)) for name in solvers.__all__)
    assert fxad.solvers is solvers and issubclass(ConvergenceError, RuntimeError)


def test_fixed_point_converging_to_exactly_zero_stops():
    # x* = 0 for f(x) = x / 2; the relative test has a floor far below any useful accuracy.
    x = solvers.fixed_point(lambda x: 0.5 * x, 1.0)
    assert abs(x) < 1e-30
    # d x*/d a for f(x) = x / 2 + a is 1 / (1 - 1/2) = 2 at a = 0 (x* = 0).
    g = fxad.grad(lambda a: solvers.fixed_point(lambda x, a: 0.5 * x + a, 1.0, a))(0.0)
    assert np.isclose(g, 2.0, rtol=1e-8)
