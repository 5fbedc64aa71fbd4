"""fxad.numpy.linalg and fxad.lax.linalg, one table row per function: values against
numpy.linalg, jvp and Jacobians (both modes) against central differences, vmap against a Python
loop, jit, the dot-product test for the solves' transposes in b, and shape errors."""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import lax
from fxad.tree_util import tree_flatten, tree_map

from helpers import check_jvp_fd, check_transpose, check_vmap_vs_loop


# ---------------------------------------------------------------------------------------------
# Well-conditioned random inputs (float64)

def _general(rng, shape):
    n = shape[-1]
    return rng.standard_normal(shape) + 2 * np.sqrt(n) * np.eye(n)


def _spd(rng, shape):
    x = rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def _distinct_spectrum(rng, shape):
    """Symmetric, eigenvalues 1, 2.5, 4, ... (well separated) with random eigenvectors."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return (q * (1 + 1.5 * np.arange(n))) @ np.swapaxes(q, -1, -2)


def _normal(rng, shape):
    return rng.standard_normal(shape)


# Sign-invariant views of factors whose columns are defined up to sign, so finite differences
# never see a sign flip: d(v o v) = 2 v o dv still pins down dv.

def _eigh_view(a):
    w, v = fnp.linalg.eigh(a)
    return w, v * v


def _qr_view(mode):
    def view(a):
        q, r = fnp.linalg.qr(a, mode=mode)
        return q * q, r * r
    return view


def _svd_view(a):
    u, s, vh = fnp.linalg.svd(a, full_matrices=False)
    return u * u, s, vh * vh


class Row:
    """A linalg function: fxad's version, NumPy's, input generators and shapes, and a smooth
    view of the output for derivative checks (the function itself unless given)."""

    def __init__(self, name, fun, ref, gens, shapes, view=None):
        self.name = name
        self.fun = fun
        self.ref = ref
        self.gens = gens
        self.shapes = shapes
        self.view = fun if view is None else view

    def args(self, seed=0, batch=()):
        rng = np.random.default_rng(seed)
        return tuple(g(rng, tuple(batch) + s) for g, s in zip(self.gens, self.shapes))

    def __repr__(self):
        return self.name


def _tri(lower, left_side=True, transpose_a=False, unit_diagonal=False):
    def fun(a, b):
        return lax.linalg.triangular_solve(a, b, left_side=left_side, lower=lower, transpose_a=transpose_a,
                                           unit_diagonal=unit_diagonal)

    def ref(a, b):
        t = np.tril(a) if lower else np.triu(a)
        if unit_diagonal:
            t = t - np.diag(np.diag(t)) + np.eye(t.shape[-1])
        if transpose_a:
            t = t.T
        return np.linalg.solve(t, b) if left_side else np.linalg.solve(t.T, b.T).T
    name = (f"triangular_solve-{'lower' if lower else 'upper'}-{'left' if left_side else 'right'}"
            f"{'-T' if transpose_a else ''}{'-unit' if unit_diagonal else ''}")
    return Row(name, fun, ref, (_general, _normal), ((3, 3), (3, 2) if left_side else (2, 3)))


ROWS = [
    Row('solve-vector', fnp.linalg.solve, np.linalg.solve, (_general, _normal), ((3, 3), (3,))),
    Row('solve-matrix', fnp.linalg.solve, np.linalg.solve, (_general, _normal), ((3, 3), (3, 2))),
    Row('solve-stacked', fnp.linalg.solve, np.linalg.solve, (_general, _normal), ((2, 3, 3), (2, 3, 2))),
    Row('solve-stacked-vector', fnp.linalg.solve, np.linalg.solve, (_general, _normal), ((2, 3, 3), (3,))),
    Row('solve-broadcast', fnp.linalg.solve, np.linalg.solve, (_general, _normal), ((3, 3), (2, 3, 1))),
    Row('inv', fnp.linalg.inv, np.linalg.inv, (_general,), ((3, 3),)),
    Row('inv-stacked', fnp.linalg.inv, np.linalg.inv, (_general,), ((2, 3, 3),)),
    Row('det', fnp.linalg.det, np.linalg.det, (_general,), ((3, 3),)),
    Row('det-stacked', fnp.linalg.det, np.linalg.det, (_general,), ((2, 3, 3),)),
    Row('slogdet', fnp.linalg.slogdet, np.linalg.slogdet, (_general,), ((3, 3),)),
    Row('cholesky', fnp.linalg.cholesky, np.linalg.cholesky, (_spd,), ((3, 3),)),
    Row('cholesky-upper', lambda a: fnp.linalg.cholesky(a, upper=True),
        lambda a: np.linalg.cholesky(a, upper=True), (_spd,), ((2, 3, 3),)),
    Row('eigh', fnp.linalg.eigh, np.linalg.eigh, (_distinct_spectrum,), ((3, 3),), _eigh_view),
    Row('eigvalsh', fnp.linalg.eigvalsh, np.linalg.eigvalsh, (_distinct_spectrum,), ((2, 4, 4),)),
    Row('qr-square', fnp.linalg.qr, np.linalg.qr, (_normal,), ((3, 3),), _qr_view('reduced')),
    Row('qr-tall', fnp.linalg.qr, np.linalg.qr, (_normal,), ((4, 3),), _qr_view('reduced')),
    Row('qr-wide', fnp.linalg.qr, np.linalg.qr, (_normal,), ((2, 3, 5),), _qr_view('reduced')),
    Row('qr-r', lambda a: fnp.linalg.qr(a, mode='r'), lambda a: np.linalg.qr(a, mode='r'), (_normal,),
        ((4, 3),), lambda a: fnp.linalg.qr(a, mode='r') ** 2),
    Row('svd-square', lambda a: fnp.linalg.svd(a, full_matrices=False),
        lambda a: np.linalg.svd(a, full_matrices=False), (_normal,), ((3, 3),), _svd_view),
    Row('svd-tall', lambda a: fnp.linalg.svd(a, full_matrices=False),
        lambda a: np.linalg.svd(a, full_matrices=False), (_normal,), ((4, 2),), _svd_view),
    Row('svd-wide', lambda a: fnp.linalg.svd(a, full_matrices=False),
        lambda a: np.linalg.svd(a, full_matrices=False), (_normal,), ((2, 2, 4),), _svd_view),
    Row('svdvals', fnp.linalg.svdvals, np.linalg.svdvals, (_normal,), ((3, 4),)),
    Row('matrix_power-3', lambda a: fnp.linalg.matrix_power(a, 3), lambda a: np.linalg.matrix_power(a, 3),
        (_normal,), ((3, 3),)),
    Row('matrix_power-neg2', lambda a: fnp.linalg.matrix_power(a, -2), lambda a: np.linalg.matrix_power(a, -2),
        (_general,), ((3, 3),)),
    _tri(lower=True),
    _tri(lower=False),
    _tri(lower=True, transpose_a=True),
    _tri(lower=False, left_side=False),
    _tri(lower=True, left_side=False, transpose_a=True, unit_diagonal=True),
    _tri(lower=False, unit_diagonal=True),
]


def _leaves(tree):
    return [np.asarray(x) for x in tree_flatten(tree)[0]]


def _assert_trees_close(actual, expected, rtol, atol):
    a, e = _leaves(actual), _leaves(expected)
    assert len(a) == len(e)
    for x, y in zip(a, e):
        assert x.shape == y.shape, f"shape {x.shape} vs {y.shape}"
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def _fd_jacobian(f, args, argnum, eps=1e-6):
    """d f / d args[argnum] by central differences: per output leaf, shape out + in."""
    x = np.asarray(args[argnum], np.float64)
    columns = []
    for i in range(x.size):
        t = np.zeros(x.size)
        t[i] = eps
        t = t.reshape(x.shape)
        plus = f(*args[:argnum], x + t, *args[argnum + 1:])
        minus = f(*args[:argnum], x - t, *args[argnum + 1:])
        columns.append(tree_map(lambda p, m: (np.asarray(p) - np.asarray(m)) / (2 * eps), plus, minus))
    return tree_map(lambda *cols: np.moveaxis(np.stack(cols), 0, -1).reshape(np.shape(cols[0]) + x.shape),
                    *columns)


# ---------------------------------------------------------------------------------------------
# Table-driven checks

@pytest.mark.parametrize('row', ROWS, ids=repr)
def test_value_matches_numpy(row):
    args = row.args()
    _assert_trees_close(row.fun(*args), row.ref(*args), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('row', ROWS, ids=repr)
def test_jvp_matches_finite_differences(row):
    check_jvp_fd(row.view, row.args(), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize('row', ROWS, ids=repr)
def test_jacfwd_and_jacrev_match_finite_differences(row):
    args = row.args(seed=1)
    for argnum in range(len(args)):
        expected = _fd_jacobian(row.view, args, argnum)
        _assert_trees_close(fxad.jacfwd(row.view, argnums=argnum)(*args), expected, rtol=1e-6, atol=1e-7)
        _assert_trees_close(fxad.jacrev(row.view, argnums=argnum)(*args), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('row', ROWS, ids=repr)
def test_forward_over_reverse_matches_finite_differences_of_the_vjp(row):
    # Second order: the rules are built from differentiable operations.
    args = row.args(seed=5)
    rng = np.random.default_rng(6)
    ct = tree_map(lambda y: rng.standard_normal(np.shape(y)), row.view(*args))
    pullback = lambda *xs: fxad.vjp(row.view, *xs)[1](ct)
    check_jvp_fd(pullback, args, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize('row', ROWS, ids=repr)
def test_vmap_matches_loop(row):
    check_vmap_vs_loop(row.fun, row.args(seed=2, batch=(3,)), in_axes=0, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('row', ROWS, ids=repr)
def test_vmap_of_jvp_and_vjp_matches_loop(row):
    # Batched primals, tangents and cotangents (per-example derivatives).
    args = row.args(seed=3, batch=(2,))
    rng = np.random.default_rng(7)
    tangents = tree_map(lambda x: rng.standard_normal(np.shape(x)), args)
    cts = tree_map(lambda y: rng.standard_normal(np.shape(y)), fxad.vmap(row.view)(*args))
    n = len(args)
    check_vmap_vs_loop(lambda *xs: fxad.jvp(row.view, xs[:n], xs[n:]), args + tangents, in_axes=0,
                       rtol=1e-9, atol=1e-11)
    check_vmap_vs_loop(lambda ct, *xs: fxad.vjp(row.view, *xs)[1](ct), (cts,) + args, in_axes=0,
                       rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize('row', ROWS, ids=repr)
def test_jit(row):
    args = row.args(seed=4)
    _assert_trees_close(fxad.jit(row.fun)(*args), row.ref(*args), rtol=1e-10, atol=1e-12)
    expected = _fd_jacobian(row.view, args, 0)
    _assert_trees_close(fxad.jacrev(fxad.jit(row.view))(*args), expected, rtol=1e-6, atol=1e-7)
    _assert_trees_close(fxad.jit(fxad.jacfwd(row.view))(*args), expected, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Transposes of the solves in b: the dot-product test

@pytest.mark.parametrize('b_shape', [(3,), (3, 2)])
def test_solve_transpose_in_b(b_shape):
    rng = np.random.default_rng(5)
    a = _general(rng, (3, 3))
    b, y = rng.standard_normal(b_shape), rng.standard_normal(b_shape)
    ct = check_transpose(lambda b: fnp.linalg.solve(a, b), b, y)
    np.testing.assert_allclose(ct, np.linalg.solve(a.T, y), rtol=1e-12)


def test_solve_transpose_in_b_stacked_and_broadcast():
    rng = np.random.default_rng(6)
    a = _general(rng, (2, 3, 3))
    check_transpose(lambda b: fnp.linalg.solve(a, b), rng.standard_normal((3, 4)),
                    rng.standard_normal((2, 3, 4)))


@pytest.mark.parametrize('row', [r for r in ROWS if r.name.startswith('triangular_solve')], ids=repr)
def test_triangular_solve_transpose_in_b(row):
    a, b = row.args(seed=7)
    y = np.random.default_rng(8).standard_normal(b.shape)
    check_transpose(lambda b: row.fun(a, b), b, y)


def test_solve_in_a_is_not_transposable():
    b = np.ones(3)
    with pytest.raises(TypeError, match="not linear"):
        fxad.linear_transpose(lambda a: fnp.linalg.solve(a, b), np.eye(3))(np.ones(3))


# ---------------------------------------------------------------------------------------------
# Closed forms and the symmetrizing factorizations

def test_det_and_logdet_gradients_closed_form():
    a = _general(np.random.default_rng(9), (4, 4))
    inv_t = np.linalg.inv(a).T
    np.testing.assert_allclose(fxad.grad(fnp.linalg.det)(a), np.linalg.det(a) * inv_t, rtol=1e-10)
    np.testing.assert_allclose(fxad.grad(lambda a: fnp.linalg.slogdet(a).logabsdet)(a), inv_t, rtol=1e-10)


def test_logdet_hessian_matches_finite_differences_of_inverse():
    # d/dA of inv(A)^T, the gradient of log|det A|, by finite differences of NumPy's inverse.
    a = _general(np.random.default_rng(10), (3, 3))
    hess = fxad.jacfwd(fxad.grad(lambda a: fnp.linalg.slogdet(a).logabsdet))(a)
    expected = _fd_jacobian(lambda a: np.linalg.inv(a).T, (a,), 0)
    np.testing.assert_allclose(hess, expected, rtol=1e-6, atol=1e-8)


def test_det_of_singular_matrix_is_zero():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert fnp.linalg.det(a) == 0.0
    assert fxad.jit(fnp.linalg.det)(a) == 0.0


def _cofactors_by_minors(a):
    """The cofactor matrix, entry (i, j) = (-1)^(i+j) det(a without row i and column j)."""
    n = a.shape[-1]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


def _rank_deficient(rng, n, rank):
    return rng.standard_normal((n, rank)) @ rng.standard_normal((rank, n))


def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix():
    # d det(A) = <cof(A), dA> everywhere; for [[1, 2], [2, 4]] the cofactor matrix is [[4, -2], [-2, 1]].
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    for derivative in (fxad.grad(fnp.linalg.det), fxad.jacfwd(fnp.linalg.det), fxad.jit(fxad.jacrev(fnp.linalg.det))):
        np.testing.assert_allclose(derivative(a), [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-14, atol=1e-14)
    rng = np.random.default_rng(20)
    for rank in (3, 2):     # rank n - 1: a rank-one gradient; rank n - 2: zero
        b = _rank_deficient(rng, 4, rank)
        g = fxad.grad(fnp.linalg.det)(b)
        np.testing.assert_allclose(g, _cofactors_by_minors(b), atol=1e-12)
        np.testing.assert_allclose(g, _fd_jacobian(np.linalg.det, (b,), 0), atol=1e-8)
    assert np.linalg.matrix_rank(fxad.grad(fnp.linalg.det)(_rank_deficient(rng, 4, 3))) == 1
    stack = np.stack([a, np.eye(2), np.zeros((2, 2))])
    check_vmap_vs_loop(fxad.grad(fnp.linalg.det), (stack,), in_axes=(0,), rtol=1e-12, atol=0)


def test_det_gradient_near_a_singular_matrix():
    rng = np.random.default_rng(21)
    a = _rank_deficient(rng, 3, 2) + 1e-9 * rng.standard_normal((3, 3))
    g = fxad.grad(fnp.linalg.det)(a)
    np.testing.assert_allclose(g, _cofactors_by_minors(a), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(g, _fd_jacobian(np.linalg.det, (a,), 0), rtol=1e-6, atol=1e-9)


def test_det_hessian_matches_finite_differences_of_the_cofactor_matrix():
    rng = np.random.default_rng(22)
    for a in (np.eye(3), _general(rng, (3, 3))):
        hess = fxad.hessian(fnp.linalg.det)(a)
        np.testing.assert_allclose(hess, _fd_jacobian(_cofactors_by_minors, (a,), 0), rtol=1e-7, atol=1e-8)


def test_cholesky_gradient_matches_finite_differences_of_nonsymmetric_perturbations():
    # fxad's cholesky reads (A + A^T)/2, so a non-symmetric perturbation moves it by its
    # symmetric part; reverse mode must agree with finite differences of fxad's own cholesky.
    rng = np.random.default_rng(11)
    a = _spd(rng, (3, 3))
    w = rng.standard_normal((3, 3))
    loss = lambda a: lax.reduce_sum(lax.mul(fnp.linalg.cholesky(a), w), (0, 1))
    g = fxad.grad(loss)(a)
    np.testing.assert_allclose(g, g.T, rtol=1e-12, atol=1e-14)
    for _ in range(3):
        t = rng.standard_normal((3, 3))
        eps = 1e-6
        fd = (loss(a + eps * t) - loss(a - eps * t)) / (2 * eps)
        np.testing.assert_allclose(np.sum(g * t), fd, rtol=1e-7, atol=1e-9)


def test_cholesky_of_nonsymmetric_input_is_cholesky_of_symmetric_part():
    rng = np.random.default_rng(12)
    s = _spd(rng, (3, 3))
    k = rng.standard_normal((3, 3))
    a = s + (k - k.T)
    np.testing.assert_allclose(fnp.linalg.cholesky(a), np.linalg.cholesky(s), rtol=1e-12)
    np.testing.assert_allclose(fnp.linalg.eigvalsh(a), np.linalg.eigvalsh(s), rtol=1e-12)


def test_eigh_reads_one_triangle_without_symmetrizing():
    a = _distinct_spectrum(np.random.default_rng(13), (3, 3)) + np.triu(np.ones((3, 3)), 1)
    for uplo in ('L', 'U'):
        w, v = fnp.linalg.eigh(a, UPLO=uplo, symmetrize_input=False)
        np.testing.assert_allclose(w, np.linalg.eigvalsh(a, UPLO=uplo), rtol=1e-12)


def test_slogdet_sign_has_zero_derivative():
    a = _general(np.random.default_rng(14), (3, 3))
    t = np.random.default_rng(15).standard_normal((3, 3))
    (sign, _), (sign_dot, _) = fxad.jvp(fnp.linalg.slogdet, (a,), (t,))
    assert sign == np.linalg.slogdet(a).sign
    assert sign_dot == 0.0


# ---------------------------------------------------------------------------------------------
# vmap with other in_axes

@pytest.mark.parametrize('in_axes', [(0, None), (None, 0), (1, 0), (2, 1)])
def test_solve_vmap_in_axes(in_axes):
    rng = np.random.default_rng(16)
    n, k, size = 3, 2, 4
    a = _general(rng, (n, n)) if in_axes[0] is None else np.moveaxis(_general(rng, (size, n, n)), 0, in_axes[0])
    b = rng.standard_normal((n, k)) if in_axes[1] is None else np.moveaxis(
        rng.standard_normal((size, n, k)), 0, in_axes[1])
    check_vmap_vs_loop(fnp.linalg.solve, (a, b), in_axes=in_axes, rtol=1e-10, atol=1e-12)
    check_vmap_vs_loop(fxad.grad(lambda a, b: lax.reduce_sum(fnp.linalg.solve(a, b), (0, 1)), argnums=(0, 1)),
                       (a, b), in_axes=in_axes, rtol=1e-9, atol=1e-12)


def test_vmap_over_the_last_axis_of_a_stack():
    a = np.moveaxis(_spd(np.random.default_rng(17), (3, 2, 3, 3)), 0, -1)
    check_vmap_vs_loop(fnp.linalg.cholesky, (a,), in_axes=(3,), rtol=1e-10, atol=1e-12)
    check_vmap_vs_loop(fnp.linalg.det, (a,), in_axes=(3,), rtol=1e-10, atol=1e-12)


def test_vmap_stages_one_stacked_call():
    # The batch stays an array dimension: one solve on a (4, 3, 3) stack, not four solves.
    rng = np.random.default_rng(19)
    jaxpr = fxad.make_jaxpr(fxad.vmap(fnp.linalg.solve))(_general(rng, (4, 3, 3)), rng.standard_normal((4, 3)))
    solves = [e for e in jaxpr.eqns if e.primitive is lax.linalg.solve_p]
    assert len(solves) == 1 and solves[0].invars[0].aval.shape == (4, 3, 3)


def test_jaxpr_shows_the_primitives():
    a = np.eye(3)
    text = str(fxad.make_jaxpr(lambda a: (fnp.linalg.solve(a, a), fnp.linalg.cholesky(a), fnp.linalg.det(a),
                                          fnp.linalg.slogdet(a)))(a))
    assert all(f"= {name} a" in text for name in ('solve', 'cholesky', 'det', 'slogdet'))


# ---------------------------------------------------------------------------------------------
# Errors

@pytest.mark.parametrize('fun, args, match', [
    (fnp.linalg.solve, (np.eye(3), np.ones(4)), r"\(3, 3\).*\(4,\)"),
    (fnp.linalg.solve, (np.eye(3), np.ones((4, 2))), r"\(3, 3\).*\(4, 2\)"),
    (fnp.linalg.solve, (np.ones((3, 4)), np.ones(3)), r"\(3, 4\)"),
    (fnp.linalg.solve, (np.ones((2, 3, 3)), np.ones((4, 3, 1))), r"\(2,\).*\(4,\)"),
    (fnp.linalg.inv, (np.ones((3, 4)),), r"\(3, 4\)"),
    (fnp.linalg.det, (np.ones(3),), r"\(3,\)"),
    (fnp.linalg.cholesky, (np.ones((2, 3)),), r"\(2, 3\)"),
    (fnp.linalg.eigh, (np.ones((2, 3)),), r"\(2, 3\)"),
    (fnp.linalg.qr, (np.ones(3),), r"\(3,\)"),
    (lambda a, b: lax.linalg.triangular_solve(a, b, left_side=True), (np.eye(3), np.ones((2, 3))),
     r"\(3, 3\).*\(2, 3\)"),
    (lax.linalg.solve, (np.eye(3), np.ones(3)), r"\(3, 3\).*\(3,\)"),
    (lambda a: fnp.linalg.matrix_power(a, 2), (np.ones((2, 3)),), r"\(2, 3\)"),
])
def test_shape_errors_name_the_shapes(fun, args, match):
    with pytest.raises(ValueError, match=match):
        fun(*args)
    with pytest.raises(ValueError, match=match):
        fxad.jit(fun)(*args)


def test_dtype_and_argument_errors():
    with pytest.raises(TypeError, match="complex128"):
        fnp.linalg.inv(np.eye(2) * 1j)
    with pytest.raises(TypeError, match="float32"):
        lax.linalg.solve(np.eye(2), np.ones((2, 1), np.float32))
    with pytest.raises(TypeError, match="integer"):
        fnp.linalg.matrix_power(np.eye(2), 1.5)
    with pytest.raises(ValueError, match="mode"):
        fnp.linalg.qr(np.eye(2), mode='raw')
    np.testing.assert_allclose(fnp.linalg.inv(np.array([[2, 0], [0, 4]])), [[0.5, 0], [0, 0.25]])


def test_numerical_failures_raise():
    with pytest.raises(np.linalg.LinAlgError):
        fnp.linalg.cholesky(-np.eye(2))
    with pytest.raises(np.linalg.LinAlgError):
        fnp.linalg.solve(np.zeros((2, 2)), np.ones(2))


def test_nonunique_derivatives_are_refused():
    a = np.random.default_rng(18).standard_normal((4, 2))
    q, r = fnp.linalg.qr(a, mode='complete')
    np.testing.assert_allclose(q @ r, a, atol=1e-12)
    with pytest.raises(NotImplementedError, match="reduced"):
        fxad.jvp(lambda a: fnp.linalg.qr(a, mode='complete'), (a,), (a,))
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        fxad.jvp(lambda a: fnp.linalg.svd(a, full_matrices=True), (a,), (a,))
