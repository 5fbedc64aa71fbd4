"""fxad.lax.custom_linear_solve, fxad.lax.custom_root and the run-time convergence check.

References: NumPy's solve and closed-form derivatives, central finite differences of NumPy
functions, derivatives of the same solve written with fnp.linalg.solve, differentiation of the
unrolled iteration, Python loops over the batch, and the dot-product test for the transpose.
"""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import lax
from fxad.core import check_jaxpr
from fxad.lax.solves import ConvergenceError, check_convergence

from helpers import (assert_tree_allclose, check_transpose, check_transpose_via_grad,
                     check_vmap_vs_loop, numerical_jvp)

RNG = np.random.default_rng(0)
N = 4
A = RNG.standard_normal((N, N)) + N * np.eye(N)          # well conditioned, not symmetric
S = A @ A.T                                                # symmetric positive definite
B = RNG.standard_normal(N)


def _dense(A):
    """Solvers for A x = b that close over A (their closures are not differentiated)."""
    return (lambda matvec, b: fnp.linalg.solve(A, b),
            lambda vecmat, b: fnp.linalg.solve(fnp.transpose(A), b))


def linsolve(A, b):
    solve, transpose_solve = _dense(A)
    return lax.custom_linear_solve(lambda x: A @ x, b, solve, transpose_solve)


def reference(A, b):
    return fnp.linalg.solve(A, b)


# ---------------------------------------------------------------------------------------------
# custom_linear_solve


def test_linear_solve_value_eager_and_jit():
    expected = np.linalg.solve(A, B)
    np.testing.assert_allclose(linsolve(A, B), expected, rtol=1e-12)
    np.testing.assert_allclose(fxad.jit(linsolve)(A, B), expected, rtol=1e-12)


@pytest.mark.parametrize('jac', [fxad.jacfwd, fxad.jacrev], ids=['jacfwd', 'jacrev'])
def test_linear_solve_jacobians(jac):
    # The solve closes over A too: were its closure differentiated, d/dA would count twice.
    jA, jb = jac(linsolve, (0, 1))(A, B)
    rA, rb = jac(reference, (0, 1))(A, B)
    np.testing.assert_allclose(jA, rA, atol=1e-12)
    np.testing.assert_allclose(jb, rb, atol=1e-12)
    # and against the closed forms dx/db = A^-1, dx/dA_ij = -A^-1 e_i x_j
    inv, x = np.linalg.inv(A), np.linalg.solve(A, B)
    np.testing.assert_allclose(jb, inv, atol=1e-12)
    np.testing.assert_allclose(jA, -np.einsum('ki,j->kij', inv, x), atol=1e-12)


@pytest.mark.parametrize('mode', ['jvp', 'vjp'])
def test_linear_solve_vs_finite_differences(mode):
    tA, tb = RNG.standard_normal((N, N)), RNG.standard_normal(N)
    expected = numerical_jvp(lambda A, b: np.linalg.solve(A, b), (A, B), (tA, tb))
    if mode == 'jvp':
        _, got = fxad.jvp(linsolve, (A, B), (tA, tb))
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-8)
    else:
        ct = RNG.standard_normal(N)
        gA, gb = fxad.vjp(linsolve, A, B)[1](ct)
        np.testing.assert_allclose(np.sum(gA * tA) + gb @ tb, ct @ expected, rtol=1e-7)


def test_linear_solve_is_linear_in_b_with_the_right_transpose():
    x, y = RNG.standard_normal(N), RNG.standard_normal(N)
    ct = check_transpose(lambda b: linsolve(A, b), x, y)
    np.testing.assert_allclose(ct, np.linalg.solve(A.T, y), rtol=1e-12)
    check_transpose_via_grad(lambda b: linsolve(A, b), x, y)


def test_symmetric_uses_solve_for_the_transpose():
    calls = []

    def solve(matvec, b):
        calls.append(1)
        return fnp.linalg.solve(S, b)

    def f(b):
        return lax.custom_linear_solve(lambda x: S @ x, b, solve, symmetric=True)
    g = fxad.grad(lambda b: fnp.sum(f(b) ** 2))(B)
    x = np.linalg.solve(S, B)
    np.testing.assert_allclose(g, 2 * np.linalg.solve(S, x), rtol=1e-10)
    assert len(calls) >= 2    # solve was traced for the solve and again for its transpose


def test_vecmat_is_the_transpose_of_matvec():
    # transpose_solve gets A^T as a function: solving with it by a dense Jacobian must give A^-T.
    def transpose_solve(vecmat, b):
        return fnp.linalg.solve(fxad.jacfwd(vecmat)(fnp.zeros_like(b)), b)

    def f(A, b):
        return lax.custom_linear_solve(lambda x: A @ x, b, _dense(A)[0], transpose_solve)
    np.testing.assert_allclose(fxad.jacrev(f, 1)(A, B), np.linalg.inv(A), atol=1e-12)


@pytest.mark.parametrize('in_axes', [(0, 0), (None, 0), (0, None)])
def test_linear_solve_vmap(in_axes):
    As = np.stack([A, A + np.eye(N), 2 * A])
    Bs = RNG.standard_normal((3, N))
    args = (As if in_axes[0] == 0 else A, Bs if in_axes[1] == 0 else B)
    check_vmap_vs_loop(linsolve, args, in_axes, rtol=1e-10)
    check_vmap_vs_loop(fxad.jacrev(linsolve, (0, 1)), args, in_axes, rtol=1e-9, atol=1e-12)


def test_linear_solve_pytree_b():
    D = np.diag(RNG.uniform(1.0, 2.0, 3))

    def f(A, b):
        def matvec(x):
            return {'u': A @ x['u'], 'v': D @ x['v']}

        def solve(matvec, b):
            return {'u': fnp.linalg.solve(A, b['u']), 'v': b['v'] / np.diag(D)}
        return lax.custom_linear_solve(matvec, b, solve, symmetric=False,
                                       transpose_solve=lambda vm, b: {
                                           'u': fnp.linalg.solve(A.T, b['u']), 'v': b['v'] / np.diag(D)})
    b = {'u': B, 'v': np.ones(3)}
    out = f(A, b)
    np.testing.assert_allclose(out['u'], np.linalg.solve(A, B), rtol=1e-12)
    np.testing.assert_allclose(out['v'], 1 / np.diag(D), rtol=1e-12)
    g = fxad.grad(lambda A: fnp.sum(f(A, b)['u']))(A)
    np.testing.assert_allclose(g, fxad.grad(lambda A: fnp.sum(reference(A, B)))(A), atol=1e-12)


def test_linear_solve_second_order():
    def loss(A):
        return fnp.sum(linsolve(A, B) ** 2)

    def loss_ref(A):
        return fnp.sum(reference(A, B) ** 2)
    np.testing.assert_allclose(fxad.hessian(loss)(A), fxad.hessian(loss_ref)(A), atol=1e-10)


def test_linear_solve_closure_over_jit_tracers():
    g = fxad.jit(fxad.grad(lambda A, b: fnp.sum(linsolve(A, b)), (0, 1)))(A, B)
    r = fxad.grad(lambda A, b: fnp.sum(reference(A, b)), (0, 1))(A, B)
    assert_tree_allclose(g, r, atol=1e-12)


def test_linear_solve_jaxpr():
    closed = fxad.make_jaxpr(linsolve)(A, B)
    check_jaxpr(closed)
    text = str(closed)
    for word in ('custom_linear_solve', 'matvec=', 'vecmat=', 'solve=', 'transpose_solve='):
        assert word in text


def test_linear_solve_errors():
    solve, transpose_solve = _dense(A)
    with pytest.raises(TypeError, match="transpose_solve is required"):
        fxad.grad(lambda b: fnp.sum(lax.custom_linear_solve(lambda x: A @ x, b, solve)))(B)
    with pytest.raises(ValueError, match=r"matvec must have the shape of b: it has shape \(2,\)"):
        lax.custom_linear_solve(lambda x: x[:2], B, solve, transpose_solve)
    with pytest.raises(TypeError, match="solve must have the structure of b"):
        lax.custom_linear_solve(lambda x: A @ x, B, lambda mv, b: (b, b), transpose_solve)
    with pytest.raises(TypeError, match="matvec must be linear"):
        lax.custom_linear_solve(lambda x: x * x, B, solve, transpose_solve)


# ---------------------------------------------------------------------------------------------
# custom_root: sqrt(a) as the root of x^2 - a, solved by Newton iterations in Python


def _newton(f, x0, steps=30):
    x = x0
    for _ in range(steps):
        x = x - f(x) / fxad.grad(f)(x)
    return x


def _scalar_tangent_solve(g, y):
    return y / g(1.0)


def root_sqrt(a):
    return lax.custom_root(lambda x: x ** 2 - a, 1.0, _newton, _scalar_tangent_solve)


def unrolled_sqrt(a):
    return _newton(lambda x: x ** 2 - a, 1.0)


def test_custom_root_value_and_derivatives():
    a = 2.0
    assert abs(root_sqrt(a) - np.sqrt(a)) < 1e-14
    expected = 0.5 / np.sqrt(a)
    assert abs(fxad.grad(root_sqrt)(a) - expected) < 1e-13
    assert abs(fxad.jvp(root_sqrt, (a,), (1.0,))[1] - expected) < 1e-13
    assert abs(fxad.grad(root_sqrt)(a) - fxad.grad(unrolled_sqrt)(a)) < 1e-12
    fd = numerical_jvp(lambda a: np.sqrt(a), (a,), (1.0,))
    assert abs(fxad.grad(root_sqrt)(a) - fd) < 1e-8
    assert abs(fxad.grad(fxad.grad(root_sqrt))(a) + 0.25 * a ** -1.5) < 1e-12


def test_custom_root_jit_and_vmap():
    a = np.array([1.0, 2.0, 9.0])
    np.testing.assert_allclose(fxad.jit(fxad.vmap(fxad.grad(root_sqrt)))(a), 0.5 / np.sqrt(a),
                               rtol=1e-12)
    check_vmap_vs_loop(root_sqrt, (a,), 0, rtol=1e-12)
    check_vmap_vs_loop(fxad.grad(root_sqrt), (a,), 0, rtol=1e-12)
    assert abs(fxad.grad(fxad.jit(root_sqrt))(2.0) - 0.5 / np.sqrt(2.0)) < 1e-13


def _vector_system(p, q):
    """Roots of x^3 + p x - q = 0 elementwise (p > 0: one real root), as a vector problem."""
    def f(x):
        return x ** 3 + p * x - q

    def solve(f, x0):
        def step(x):
            return x - fnp.linalg.solve(fxad.jacfwd(f)(x), f(x))
        return lax.fori_loop(0, 40, lambda i, x: step(x), x0)

    def tangent_solve(g, y):
        return fnp.linalg.solve(fxad.jacfwd(g)(fnp.zeros_like(y)), y)
    return lax.custom_root(f, fnp.zeros_like(q), solve, tangent_solve)


@pytest.mark.parametrize('jac', [fxad.jacfwd, fxad.jacrev], ids=['jacfwd', 'jacrev'])
def test_custom_root_vector_jacobians(jac):
    p, q = RNG.uniform(1.0, 2.0, 3), RNG.standard_normal(3)
    x = _vector_system(p, q)
    np.testing.assert_allclose(x ** 3 + p * x - q, 0, atol=1e-12)
    jp, jq = jac(_vector_system, (0, 1))(p, q)
    # implicit function theorem by hand: dx/dq = 1 / (3x^2 + p), dx/dp = -x / (3x^2 + p)
    np.testing.assert_allclose(jq, np.diag(1 / (3 * x ** 2 + p)), atol=1e-12)
    np.testing.assert_allclose(jp, np.diag(-x / (3 * x ** 2 + p)), atol=1e-12)


def test_custom_root_has_aux():
    def solve(f, x0):
        return _newton(f, x0), 7

    def f(a):
        return lax.custom_root(lambda x: x ** 2 - a, 1.0, solve, _scalar_tangent_solve, has_aux=True)
    (x, aux) = f(4.0)
    assert abs(x - 2.0) < 1e-14 and aux == 7
    assert abs(fxad.grad(lambda a: f(a)[0])(4.0) - 0.25) < 1e-13


def test_custom_root_closure_over_values_and_tracers():
    # f closes over c (a constant) and a (a tracer); only a gets a derivative.
    c = np.float64(3.0)

    def cube_root(a):
        return lax.custom_root(lambda x: x ** 3 - c * a, 1.0, _newton, _scalar_tangent_solve)
    x = cube_root(2.0)
    assert abs(x - 6.0 ** (1 / 3)) < 1e-13
    assert abs(fxad.grad(cube_root)(2.0) - c / (3 * x ** 2)) < 1e-12


def test_custom_root_errors():
    with pytest.raises(ValueError, match="solution custom_root's solve returns must have the shape"):
        lax.custom_root(lambda x: x, np.ones(3), lambda f, x: x[:2], lambda g, y: y)
    with pytest.raises(TypeError, match="output of custom_root's f must have the structure"):
        lax.custom_root(lambda x: (x, x), np.ones(3), lambda f, x: x, lambda g, y: y)
    with pytest.raises(ValueError, match="output of custom_root's tangent_solve must have the shape"):
        lax.custom_root(lambda x: x, np.ones(3), lambda f, x: x, lambda g, y: y[:1])
    with pytest.raises(TypeError, match="has_aux=True expects solve to return a pair"):
        lax.custom_root(lambda x: x, 1.0, lambda f, x: x, lambda g, y: y, has_aux=True)


# ---------------------------------------------------------------------------------------------
# The convergence check primitive


def _check(x, ok):
    return check_convergence([x], ok, 0.5, 7, solver='my_solver', measure='|r|', tol=1e-3)[0]


def test_convergence_check_raises_only_when_not_converged():
    assert _check(2.0, True) == 2.0
    with pytest.raises(ConvergenceError, match=r"my_solver did not converge: stopped after 7 "
                                                r"iterations with residual \|r\| = 5\.000e-01"):
        _check(2.0, False)
    with pytest.raises(ConvergenceError):
        fxad.jit(_check)(2.0, False)
    assert issubclass(ConvergenceError, RuntimeError)


def test_convergence_check_is_transparent_to_derivatives():
    assert fxad.grad(lambda x: _check(x, True) ** 2)(3.0) == 6.0
    assert fxad.jvp(lambda x: _check(x, True), (3.0,), (2.0,))[1] == 2.0
    assert 'convergence_check' in str(fxad.make_jaxpr(_check)(1.0, True))


def test_convergence_check_under_vmap_reports_failing_members():
    xs = np.arange(3.0)
    np.testing.assert_array_equal(fxad.vmap(_check)(xs, np.array([True] * 3)), xs)
    with pytest.raises(ConvergenceError, match=r"for 1 of 3 batch members \(vmap\); the worst, "
                                                r"batch member \(1,\)"):
        fxad.vmap(_check)(xs, np.array([True, False, True]))
    with pytest.raises(ConvergenceError, match="for 2 of 3 batch members"):
        fxad.jit(fxad.vmap(_check, (None, 0)))(1.0, np.array([False, False, True]))
