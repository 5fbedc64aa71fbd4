"""Linear algebra primitives: cholesky, triangular_solve, solve, det, slogdet, eigh, qr and svd.

Each takes a matrix or a stack of matrices (leading batch dims) and runs NumPy's stacked
np.linalg routine; batching rules move the vmapped dim to the front. Real float32/float64 only.
"""

__all__ = ['cholesky', 'triangular_solve', 'solve', 'det', 'slogdet', 'eigh', 'qr', 'svd']

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..interpreters import ad, batching
from ..interpreters.ad import Zero, is_undefined_primal
from .dot import dot_general
from .elementwise import add, div, mul, neg, sub
from .reductions import reduce_sum
from .shapes import broadcast_in_dim, transpose
from .utils import shape_str

# ---------------------------------------------------------------------------------------------
# Shape checks and matrix helpers built from other primitives (used by the rules)


def _check_float(name, *avals):
    for a in avals:
        if a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} supports real float32 and float64 matrices, got dtype {a.dtype.name}")
    if len(avals) > 1 and any(a.dtype != avals[0].dtype for a in avals):
        raise TypeError(f"{name} requires operands of the same dtype, got "
                        f"{', '.join(a.dtype.name for a in avals)}")


def _check_matrix(name, a, square=True):
    if a.ndim < 2 or (square and a.shape[-1] != a.shape[-2]):
        kind = 'a square matrix' if square else 'a matrix'
        raise ValueError(f"{name} expects {kind} or a stack of them (shape (..., m, {'m' if square else 'n'})), "
                         f"got shape {shape_str(a.shape)}")


def _check_rhs(name, a, b, left_side=True):
    """a (..., m, m) and b (..., m, n) (left) or (..., n, m) (right) with equal batch dims."""
    _check_matrix(name, a)
    m = a.shape[-1]
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2 if left_side else -1] != m:
        want = '(..., m, n)' if left_side else '(..., n, m)'
        raise ValueError(f"{name}: a of shape {shape_str(a.shape)} needs b of shape {want} with the "
                         f"same batch dims and m = {m}, got b of shape {shape_str(b.shape)}")
    _check_float(name, a, b)


def _swap_last(x):
    """x^T for each matrix of a stack."""
    nd = get_aval(x).ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul(a, b):
    """a @ b for stacks with equal batch dims."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)))


def _const(x, value):
    return np.asarray(value, get_aval(x).dtype)[()]


def _matrix_const(x, matrix):
    """A constant (n, n) matrix broadcast to the stack shape of x."""
    aval = get_aval(x)
    return broadcast_in_dim(np.asarray(matrix, aval.dtype), aval.shape, (aval.ndim - 2, aval.ndim - 1))


def _eye_like(x):
    return _matrix_const(x, np.eye(get_aval(x).shape[-1]))


def _masked(x, mask):
    return mul(x, _matrix_const(x, mask))


def _symmetrize(x):
    return mul(add(x, _swap_last(x)), _const(x, 0.5))


def _triangle_mask(n, lower, k=0):
    ones = np.ones((n, n))
    return np.tril(ones, k) if lower else np.triu(ones, -k)


def _diagonal(x):
    """The diagonals of a stack of square matrices, shape (..., n)."""
    return reduce_sum(mul(x, _eye_like(x)), (get_aval(x).ndim - 1,))


def _trace(x):
    nd = get_aval(x).ndim
    return reduce_sum(mul(x, _eye_like(x)), (nd - 2, nd - 1))


def _rows_of(v, n_rows):
    """v (..., n) -> (..., n_rows, n), every row v: entry (i, j) is v_j."""
    aval = get_aval(v)
    batch = tuple(range(aval.ndim - 1))
    return broadcast_in_dim(v, aval.shape[:-1] + (n_rows, aval.shape[-1]), batch + (aval.ndim,))


def _cols_of(v, n_cols):
    """v (..., n) -> (..., n, n_cols): entry (i, j) is v_i."""
    aval = get_aval(v)
    batch = tuple(range(aval.ndim - 1))
    return broadcast_in_dim(v, aval.shape + (n_cols,), batch + (aval.ndim - 1,))


def _batch_to_front(vals, dims):
    """Every operand with the vmapped dim first (unbatched ones broadcast)."""
    size = batching.batch_size(vals, dims)
    return [batching.matchaxis(size, d, 0, v) for v, d in zip(vals, dims)]


def _front_batcher(prim):
    """The stacked primitive applied to the whole batch at once; outputs batched at dim 0."""
    def rule(vals, dims, **params):
        out = prim.bind(*_batch_to_front(vals, dims), **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)
    return rule


def _np_swap(x):
    return np.swapaxes(x, -1, -2)


# ---------------------------------------------------------------------------------------------
# cholesky: L lower with L L^T = (A + A^T)/2, so the value and its JVP see the same function

cholesky_p = Primitive('cholesky')


def _cholesky_impl(a):
    a = np.asarray(a)
    return np.linalg.cholesky((a + _np_swap(a)) / 2)


def _cholesky_abstract_eval(a):
    _check_matrix('cholesky', a)
    _check_float('cholesky', a)
    return ShapedArray(a.shape, a.dtype)


def _cholesky_jvp(g, L, a):
    # dL = L Phi(L^-1 dA_sym L^-T), Phi: the lower triangle with its diagonal halved.
    n = get_aval(a).shape[-1]
    tmp = triangular_solve(L, _symmetrize(g), left_side=True, lower=True)
    tmp = triangular_solve(L, tmp, left_side=False, lower=True, transpose_a=True)
    return _matmul(L, _masked(tmp, np.tril(np.ones((n, n))) - 0.5 * np.eye(n)))


cholesky_p.impl = _cholesky_impl
cholesky_p.abstract_eval = _cholesky_abstract_eval
ad.defjvp2(cholesky_p, _cholesky_jvp)
cholesky_p.batch = _front_batcher(cholesky_p)


def cholesky(a):
    """The lower Cholesky factor of the symmetric part (A + A^T)/2 of each matrix."""
    return cholesky_p.bind(a)


# ---------------------------------------------------------------------------------------------
# triangular_solve: X with op(A) X = B (left_side) or X op(A) = B; op(A) = A or A^T.
# Only A's lower (or upper) triangle is read, and with unit_diagonal not even its diagonal.

triangular_solve_p = Primitive('triangular_solve')


def _np_triangle(a, lower, unit_diagonal):
    if unit_diagonal:
        return (np.tril(a, -1) if lower else np.triu(a, 1)) + np.eye(a.shape[-1], dtype=a.dtype)
    return np.tril(a) if lower else np.triu(a)


def _triangular_solve_impl(a, b, *, left_side, lower, transpose_a, unit_diagonal):
    a = _np_triangle(np.asarray(a), lower, unit_diagonal)
    b = np.asarray(b)
    if transpose_a:
        a = _np_swap(a)
    if left_side:
        return np.linalg.solve(a, b)
    return _np_swap(np.linalg.solve(_np_swap(a), _np_swap(b)))


def _triangular_solve_abstract_eval(a, b, *, left_side, lower, transpose_a, unit_diagonal):
    _check_rhs('triangular_solve', a, b, left_side)
    return ShapedArray(b.shape, b.dtype)


def _triangular_solve_jvp_a(g, x, a, b, *, left_side, lower, transpose_a, unit_diagonal):
    # op(A) X = B  =>  op(A) dX = -op(dA) X;  X op(A) = B  =>  dX op(A) = -X op(dA).
    n = get_aval(a).shape[-1]
    g = _masked(g, _triangle_mask(n, lower, -1 if unit_diagonal else 0))
    if transpose_a:
        g = _swap_last(g)
    rhs = neg(_matmul(g, x) if left_side else _matmul(x, g))
    return triangular_solve(a, rhs, left_side=left_side, lower=lower, transpose_a=transpose_a,
                            unit_diagonal=unit_diagonal)


def _triangular_solve_jvp_b(g, x, a, b, **params):
    return triangular_solve_p.bind(a, g, **params)


def _triangular_solve_transpose(ct, a, b, *, left_side, lower, transpose_a, unit_diagonal):
    # X = op(A)^-1 B is linear in B; its transpose applies op(A)^-T (on the same side).
    if is_undefined_primal(a):
        raise ad.linear_error('triangular_solve (in its matrix operand)')
    if type(ct) is Zero:
        return [None, Zero(b.aval)]
    return [None, triangular_solve(a, ct, left_side=left_side, lower=lower, transpose_a=not transpose_a,
                                   unit_diagonal=unit_diagonal)]


triangular_solve_p.impl = _triangular_solve_impl
triangular_solve_p.abstract_eval = _triangular_solve_abstract_eval
ad.defjvp2(triangular_solve_p, _triangular_solve_jvp_a, _triangular_solve_jvp_b)
triangular_solve_p.transpose = _triangular_solve_transpose
triangular_solve_p.batch = _front_batcher(triangular_solve_p)


def triangular_solve(a, b, left_side=False, lower=False, transpose_a=False, unit_diagonal=False):
    """Solve op(a) x = b (left_side) or x op(a) = b with a triangular; JAX's defaults."""
    return triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower),
                                   transpose_a=bool(transpose_a), unit_diagonal=bool(unit_diagonal))


# ---------------------------------------------------------------------------------------------
# solve: X = A^-1 B for a general A (LU with partial pivoting); linear in B

solve_p = Primitive('solve')


def _solve_impl(a, b):
    return np.linalg.solve(a, b)


def _solve_abstract_eval(a, b):
    _check_rhs('solve', a, b)
    return ShapedArray(b.shape, b.dtype)


def _solve_transpose(ct, a, b):
    if is_undefined_primal(a):
        raise ad.linear_error('solve (in its matrix operand)')
    if type(ct) is Zero:
        return [None, Zero(b.aval)]
    return [None, solve(_swap_last(a), ct)]


solve_p.impl = _solve_impl
solve_p.abstract_eval = _solve_abstract_eval
# A X = B  =>  A dX = dB - dA X.
ad.defjvp2(solve_p,
           lambda g, x, a, b: solve(a, neg(_matmul(g, x))),
           lambda g, x, a, b: solve(a, g))
solve_p.transpose = _solve_transpose
solve_p.batch = _front_batcher(solve_p)


def solve(a, b):
    """X with a X = b; a (..., m, m) and b (..., m, n) with equal batch dims."""
    return solve_p.bind(a, b)


# ---------------------------------------------------------------------------------------------
# det, with d det(A) = <cof(A), dA>: cof(A) = det(A) A^-T is the cofactor matrix, computed from
# the SVD so that the derivative is defined at every matrix (rank n - 1 included), as in JAX.

det_p = Primitive('det')
cofactor_p = Primitive('cofactor')


def _det_abstract_eval(a):
    _check_matrix('det', a)
    _check_float('det', a)
    return ShapedArray(a.shape[:-2], a.dtype)


def _det_jvp(g, a):
    nd = get_aval(a).ndim
    return reduce_sum(mul(cofactor_p.bind(a), g), (nd - 2, nd - 1))


det_p.impl = np.linalg.det
det_p.abstract_eval = _det_abstract_eval
ad.defjvp(det_p, _det_jvp)
det_p.batch = _front_batcher(det_p)


def det(a):
    """The determinant of each matrix."""
    return det_p.bind(a)


def _cofactor_impl(a):
    # A = U diag(s) Vh: cof(A) = det(U) det(Vh) U diag(p) Vh, p_i the product of the s_j with
    # j != i (no division, so exact zeros stay zeros: rank n - 1 gives a rank-one cofactor).
    u, s, vh = np.linalg.svd(a)
    sign = np.sign(np.linalg.det(u) * np.linalg.det(vh))
    ones = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]
    return sign[..., None, None] * ((u * (before * after)[..., None, :]) @ vh)


def _cofactor_abstract_eval(a):
    _check_matrix('cofactor', a)
    _check_float('cofactor', a)
    return ShapedArray(a.shape, a.dtype)


def _cofactor_jvp(g, cof, a):
    # cof = det A^-T, so with X = A^-1 dA: dcof = tr(X) cof - cof X^T (A must be nonsingular:
    # only second and higher derivatives of det come here).
    x = solve(a, g)
    nd = get_aval(a).ndim
    tr_x = broadcast_in_dim(_trace(x), get_aval(a).shape, tuple(range(nd - 2)))
    return sub(mul(tr_x, cof), _matmul(cof, _swap_last(x)))


cofactor_p.impl = _cofactor_impl
cofactor_p.abstract_eval = _cofactor_abstract_eval
ad.defjvp2(cofactor_p, _cofactor_jvp)
cofactor_p.batch = _front_batcher(cofactor_p)


# ---------------------------------------------------------------------------------------------
# slogdet: (sign, log|det A|); d log|det A| = trace(A^-1 dA), the sign is locally constant

slogdet_p = Primitive('slogdet', multiple_results=True)


def _slogdet_impl(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return [sign, logabsdet]


def _slogdet_abstract_eval(a):
    _check_matrix('slogdet', a)
    _check_float('slogdet', a)
    out = ShapedArray(a.shape[:-2], a.dtype)
    return [out, out]


def _slogdet_jvp(primals, tangents):
    a, = primals
    g, = tangents
    sign, logabsdet = slogdet_p.bind(a)
    sign_dot = Zero(ad.tangent_aval(get_aval(sign)))
    if type(g) is Zero:
        return [sign, logabsdet], [sign_dot, Zero(ad.tangent_aval(get_aval(logabsdet)))]
    return [sign, logabsdet], [sign_dot, _trace(solve(a, g))]


slogdet_p.impl = _slogdet_impl
slogdet_p.abstract_eval = _slogdet_abstract_eval
slogdet_p.jvp = _slogdet_jvp
slogdet_p.batch = _front_batcher(slogdet_p)


def slogdet(a):
    """[sign, log|det a|] of each matrix."""
    return slogdet_p.bind(a)


# ---------------------------------------------------------------------------------------------
# eigh: w ascending and V orthogonal with V diag(w) V^T = (A + A^T)/2

eigh_p = Primitive('eigh', multiple_results=True)


def _eigh_impl(a):
    a = np.asarray(a)
    w, v = np.linalg.eigh((a + _np_swap(a)) / 2)
    return [w, v]


def _eigh_abstract_eval(a):
    _check_matrix('eigh', a)
    _check_float('eigh', a)
    return [ShapedArray(a.shape[:-1], a.dtype), ShapedArray(a.shape, a.dtype)]


def _eigh_jvp(primals, tangents):
    # With C = V^T dA_sym V: dw = diag(C), dV = V (F o C), F_ij = 1/(w_j - w_i) off the diagonal.
    a, = primals
    g, = tangents
    w, v = eigh_p.bind(a)
    if type(g) is Zero:
        return [w, v], [Zero(ad.tangent_aval(get_aval(w))), Zero(ad.tangent_aval(get_aval(v)))]
    n = get_aval(a).shape[-1]
    c = _matmul(_swap_last(v), _matmul(_symmetrize(g), v))
    eye = _eye_like(v)
    f = sub(div(_const(w, 1), add(sub(_rows_of(w, n), _cols_of(w, n)), eye)), eye)
    return [w, v], [_diagonal(c), _matmul(v, mul(f, c))]


eigh_p.impl = _eigh_impl
eigh_p.abstract_eval = _eigh_abstract_eval
eigh_p.jvp = _eigh_jvp
eigh_p.batch = _front_batcher(eigh_p)


def eigh(a):
    """[w, v]: eigenvalues (ascending) and eigenvectors (columns) of (a + a^T)/2."""
    return eigh_p.bind(a)


# ---------------------------------------------------------------------------------------------
# qr: A = Q R, Q with orthonormal columns, R upper triangular (NumPy's sign convention)

qr_p = Primitive('qr', multiple_results=True)


def _qr_impl(a, *, full_matrices):
    q, r = np.linalg.qr(a, mode='complete' if full_matrices else 'reduced')
    return [q, r]


def _qr_abstract_eval(a, *, full_matrices):
    _check_matrix('qr', a, square=False)
    _check_float('qr', a)
    *batch, m, n = a.shape
    k = m if full_matrices else min(m, n)
    return [ShapedArray(tuple(batch) + (m, k), a.dtype), ShapedArray(tuple(batch) + (k, n), a.dtype)]


def _qr_square_jvp(q, r, g):
    # JAX's rule for m >= n: with C = Q^T dA R^-1 and Omega = tril(C, -1) - tril(C, -1)^T
    # (skew), dQ = Q (Omega - C) + dA R^-1 and dR = (C - Omega) R.
    n = get_aval(r).shape[-1]
    g_rinv = triangular_solve(r, g, left_side=False, lower=False)
    c = _matmul(_swap_last(q), g_rinv)
    c_low = _masked(c, np.tril(np.ones((n, n)), -1))
    omega = sub(c_low, _swap_last(c_low))
    return add(_matmul(q, sub(omega, c)), g_rinv), _matmul(sub(c, omega), r)


def _column_selector(x, n, start, stop):
    """The constant (n, stop - start) matrix E with M @ E = M[..., start:stop]."""
    aval = get_aval(x)
    e = np.eye(n, dtype=aval.dtype)[:, start:stop]
    shape = aval.shape[:-2] + e.shape
    return broadcast_in_dim(e, shape, (aval.ndim - 2, aval.ndim - 1))


def _qr_jvp(primals, tangents, *, full_matrices):
    a, = primals
    g, = tangents
    q, r = qr_p.bind(a, full_matrices=full_matrices)
    if type(g) is Zero:
        return [q, r], [Zero(ad.tangent_aval(get_aval(q))), Zero(ad.tangent_aval(get_aval(r)))]
    m, n = get_aval(a).shape[-2:]
    if m >= n:
        if full_matrices and m > n:
            raise NotImplementedError(f"The derivative of a complete QR decomposition of a tall matrix "
                                      f"(shape {shape_str(get_aval(a).shape)}) is not unique; use "
                                      f"mode='reduced'")
        dq, dr = _qr_square_jvp(q, r, g)
        return [q, r], [dq, dr]
    # Wide: A = [X | Y] with X square; Q R_X = X and R = [R_X | Q^T Y].
    left, right = _column_selector(a, n, 0, m), _column_selector(a, n, m, n)
    r_x = _matmul(r, left)
    dq, dr_x = _qr_square_jvp(q, r_x, _matmul(g, left))
    y, dy = _matmul(a, right), _matmul(g, right)
    dr_y = add(_matmul(_swap_last(dq), y), _matmul(_swap_last(q), dy))
    dr = add(_matmul(dr_x, _swap_last(left)), _matmul(dr_y, _swap_last(right)))
    return [q, r], [dq, dr]


qr_p.impl = _qr_impl
qr_p.abstract_eval = _qr_abstract_eval
qr_p.jvp = _qr_jvp
qr_p.batch = _front_batcher(qr_p)


def qr(a, full_matrices=False):
    """[q, r] with a = q r; reduced (k = min(m, n) columns of q) unless full_matrices."""
    return qr_p.bind(a, full_matrices=bool(full_matrices))


# ---------------------------------------------------------------------------------------------
# svd: A = U diag(s) Vh, s descending

svd_p = Primitive('svd', multiple_results=True)


def _svd_impl(a, *, full_matrices):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return [u, s, vh]


def _svd_abstract_eval(a, *, full_matrices):
    _check_matrix('svd', a, square=False)
    _check_float('svd', a)
    *batch, m, n = a.shape
    batch = tuple(batch)
    k = min(m, n)
    u_cols, vh_rows = (m, n) if full_matrices else (k, k)
    return [ShapedArray(batch + (m, u_cols), a.dtype), ShapedArray(batch + (k,), a.dtype),
            ShapedArray(batch + (vh_rows, n), a.dtype)]


def _svd_jvp(primals, tangents, *, full_matrices):
    # JAX's rule (real case). With dS = U^T dA V and F_ij = 1/(s_j^2 - s_i^2) off the diagonal:
    # ds = diag(dS), dU = U (F o (dS S + S dS^T)), dV = V (F o (S dS + dS^T S)), plus the parts
    # of dA outside the span of U (tall) or V (wide).
    a, = primals
    g, = tangents
    u, s, vh = svd_p.bind(a, full_matrices=full_matrices)
    if type(g) is Zero:
        return [u, s, vh], [Zero(ad.tangent_aval(get_aval(x))) for x in (u, s, vh)]
    m, n = get_aval(a).shape[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(f"The derivative of a full-matrices SVD of a non-square matrix (shape "
                                  f"{shape_str(get_aval(a).shape)}) is not unique; use full_matrices=False")
    k = min(m, n)
    v = _swap_last(vh)
    ut = _swap_last(u)
    ds_mat = _matmul(ut, _matmul(g, v))
    s_row = _rows_of(s, k)
    s_col = _swap_last(s_row)
    eye = _eye_like(ds_mat)
    f = sub(div(_const(s, 1), add(mul(add(s_row, s_col), sub(s_row, s_col)), eye)), eye)
    ds_s = mul(s_row, ds_mat)
    s_ds = mul(s_col, ds_mat)
    du = _matmul(u, mul(f, add(ds_s, _swap_last(ds_s))))
    dv = _matmul(v, mul(f, add(s_ds, _swap_last(s_ds))))
    if m > n:
        g_v = _matmul(g, v)
        du = add(du, div(sub(g_v, _matmul(u, _matmul(ut, g_v))), _rows_of(s, m)))
    if n > m:
        gt_u = _matmul(_swap_last(g), u)
        dv = add(dv, div(sub(gt_u, _matmul(v, _matmul(vh, gt_u))), _rows_of(s, n)))
    return [u, s, vh], [du, _diagonal(ds_mat), _swap_last(dv)]


svd_p.impl = _svd_impl
svd_p.abstract_eval = _svd_abstract_eval
svd_p.jvp = _svd_jvp
svd_p.batch = _front_batcher(svd_p)


def svd(a, full_matrices=False):
    """[u, s, vh] with a = u diag(s) vh and s descending."""
    return svd_p.bind(a, full_matrices=bool(full_matrices))
