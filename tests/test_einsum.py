"""fnp.einsum against numpy.einsum, finite differences and a loop over the batch; its jaxprs
against opt_einsum's optimal FLOP count."""
import math

import numpy as np
import opt_einsum
import pytest

import fxad
import fxad.numpy as fnp
from fxad import lax
from helpers import check_jvp_fd, check_transpose, check_vjp_fd, check_vmap_vs_loop

# One row per (subscripts, operand shapes).
EINSUM_CASES = [
    ('ij,jk->ik', [(3, 4), (4, 5)]),                       # matrix product
    ('ij,jk', [(3, 4), (4, 5)]),                           # implicit output
    ('ij,kj', [(3, 4), (5, 4)]),                           # implicit output, A B^T
    ('ij,jk->ki', [(3, 4), (4, 5)]),                       # transposed output
    ('i,i->', [(4,), (4,)]),                               # inner product
    ('i,i', [(4,), (4,)]),
    ('i,j->ij', [(3,), (4,)]),                             # outer product
    ('ij,kl->iljk', [(2, 3), (4, 2)]),
    ('ij->ji', [(3, 4)]),                                  # one operand: transpose
    ('ij->', [(3, 4)]),                                    # sum everything
    ('ij->j', [(3, 4)]),                                   # sum one index
    ('ij,jk->i', [(3, 4), (4, 5)]),                        # index summed in one operand only
    ('ij,jk->', [(3, 4), (4, 5)]),
    ('ii->i', [(4, 4)]),                                   # diagonal
    ('ii', [(4, 4)]),                                      # trace
    ('ii->', [(4, 4)]),
    ('iii->i', [(3, 3, 3)]),                               # index thrice in one operand
    ('iij->ji', [(3, 3, 2)]),
    ('iji->', [(3, 2, 3)]),
    ('ii,ij->j', [(3, 3), (3, 4)]),                        # repeated index beside a shared one
    ('ij,jk,ki->', [(3, 4), (4, 5), (5, 3)]),              # trace of a product
    ('ij,jk,kl->il', [(3, 4), (4, 5), (5, 2)]),
    ('ij,jk,kl,lm->im', [(5, 2), (2, 5), (5, 2), (2, 5)]),
    ('ab,bc,cd,de,ef->af', [(2, 3), (3, 4), (4, 2), (2, 3), (3, 2)]),  # five operands
    ('bij,bjk->bik', [(2, 3, 4), (2, 4, 5)]),              # batched
    ('bij,bjk->kbi', [(2, 3, 4), (2, 4, 5)]),
    ('ij,ij->ij', [(3, 4), (3, 4)]),                       # elementwise: batch dims only
    ('i,i,i->i', [(4,), (4,), (4,)]),
    ('ijk,kji->', [(2, 3, 4), (4, 3, 2)]),
    ('Ab,bA->A', [(3, 4), (4, 3)]),                        # upper-case indices
    ('...ij,...jk->...ik', [(2, 3, 4), (2, 4, 5)]),        # ellipsis
    ('...ij,...jk->...ik', [(2, 1, 3, 4), (5, 4, 2)]),     # ellipsis with broadcasting
    ('...ij,jk', [(2, 3, 4), (4, 5)]),                     # implicit output with ellipsis
    ('i...->...', [(3, 2, 2)]),
    ('...,...->...', [(3, 1), (4)]),
    ('ij,ij->ij', [(1, 4), (3, 4)]),                       # size-1 broadcasting of a label
    ('ij,ij->', [(1, 4), (3, 4)]),
    ('ij,jk->ik', [(3, 1), (4, 5)]),                       # broadcast contracting label
    (',ij->ij', [(), (3, 4)]),                             # a scalar operand
    ('ijk,jl,kl->il', [(2, 3, 4), (3, 5), (4, 5)]),
]
CASE_IDS = [f"{s}:{'x'.join(map(str, shapes))}" for s, shapes in EINSUM_CASES]


def _operands(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize('subscripts, shapes', EINSUM_CASES, ids=CASE_IDS)
@pytest.mark.parametrize('optimize', ['auto', False, 'greedy'])
def test_einsum_value(subscripts, shapes, optimize):
    ops = _operands(shapes)
    expected = np.einsum(subscripts, *ops)
    actual = fnp.einsum(subscripts, *ops, optimize=optimize)
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('subscripts, shapes', EINSUM_CASES, ids=CASE_IDS)
def test_einsum_derivatives(subscripts, shapes):
    ops = _operands(shapes, seed=1)
    f = lambda *xs: fnp.einsum(subscripts, *xs)
    check_jvp_fd(f, ops, atol=1e-7, rtol=1e-7)
    check_vjp_fd(f, ops)


@pytest.mark.parametrize('subscripts, shapes', [EINSUM_CASES[i] for i in (0, 13, 19, 24, 31, 35, 38)])
def test_einsum_vmap(subscripts, shapes):
    n = 3
    rng = np.random.default_rng(2)
    ops = [rng.standard_normal((n,) + tuple(s)) for s in shapes]
    f = lambda *xs: fnp.einsum(subscripts, *xs)
    check_vmap_vs_loop(f, ops, 0, rtol=1e-12, atol=1e-12)
    if len(ops) > 1:  # only the last operand batched, on its last axis
        last = np.moveaxis(ops[-1], 0, -1)
        check_vmap_vs_loop(f, [o[0] for o in ops[:-1]] + [last], (None,) * (len(ops) - 1) + (-1,),
                           rtol=1e-12, atol=1e-12)


def test_einsum_jit_and_grad_through_jit():
    a, b, c = _operands([(3, 4), (4, 5), (5, 3)], seed=3)
    f = fxad.jit(lambda a, b, c: fnp.einsum('ij,jk,ki->', a, b, c))
    np.testing.assert_allclose(f(a, b, c), np.einsum('ij,jk,ki->', a, b, c), rtol=1e-12)
    ga = fxad.grad(f)(a, b, c)
    np.testing.assert_allclose(ga, np.einsum('jk,ki->ij', b, c), rtol=1e-12)  # d tr(ABC)/dA = (BC)^T
    eqn, = fxad.make_jaxpr(f)(a, b, c).eqns
    assert eqn.primitive.name == 'jit'


def test_einsum_interleaved_input():
    a, b = _operands([(3, 4), (4, 5)])
    np.testing.assert_allclose(fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b, rtol=1e-12)


def test_matrix_product_is_one_dot_general():
    a, b = _operands([(3, 4), (4, 5)])
    jaxpr = fxad.make_jaxpr(lambda a, b: fnp.einsum('ij,jk->ik', a, b))(a, b)
    assert [str(e).split(' = ')[1] for e in jaxpr.eqns] == [
        'dot_general[dimension_numbers=(([1], [0]), ([], []))] a b']


# ---------------------------------------------------------------------------------------------
# Costs: the jaxpr follows opt_einsum's optimal path


def _dot_general_flops(eqn):
    (lc, rc), (lb, rb) = eqn.params['dimension_numbers']
    lhs, rhs = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
    batch = math.prod(lhs[i] for i in lb)
    contract = math.prod(lhs[i] for i in lc)
    lhs_free = math.prod(s for i, s in enumerate(lhs) if i not in lc and i not in lb)
    rhs_free = math.prod(s for i, s in enumerate(rhs) if i not in rc and i not in rb)
    return 2 * batch * lhs_free * rhs_free * contract


def _jaxpr_flops(jaxpr):
    return sum(_dot_general_flops(e) for e in jaxpr.eqns if e.primitive.name == 'dot_general')


def _path_flops(terms, output, sizes, path):
    """The same FLOP formula applied to a path, from index sets alone (no fxad involved)."""
    terms, total = [set(t) for t in terms], 0
    for i, j in path:
        x, y = terms[i], terms[j]
        terms = [t for k, t in enumerate(terms) if k not in (i, j)]
        keep = set(output).union(*terms)
        shared = x & y
        total += 2 * math.prod(sizes[c] for c in (x | y) - (shared - keep)) * math.prod(
            sizes[c] for c in shared - keep)
        terms.append((x | y) & keep)
    return total


CHAIN = 'ij,jk,kl,lm->im'
CHAIN_SHAPES = [(256, 8), (8, 256), (256, 8), (8, 256)]
CHAIN_SIZES = dict(i=256, j=8, k=256, l=8, m=256)


def test_chain_costs_the_optimal_path():
    ops = _operands(CHAIN_SHAPES)
    path, _ = fnp.einsum_path(CHAIN, *ops, optimize='optimal')
    optimal = _path_flops(CHAIN.split('->')[0].split(','), 'im', CHAIN_SIZES, path)
    left_to_right = _path_flops(CHAIN.split('->')[0].split(','), 'im', CHAIN_SIZES, [(0, 1), (0, 2), (0, 1)])
    assert left_to_right > 2.5 * optimal
    f = lambda *xs: fnp.einsum(CHAIN, *xs)
    assert _jaxpr_flops(fxad.make_jaxpr(f)(*ops)) == optimal
    f_naive = lambda *xs: fnp.einsum(CHAIN, *xs, optimize=False)
    assert _jaxpr_flops(fxad.make_jaxpr(f_naive)(*ops)) == left_to_right
    loss = lambda *xs: lax.reduce_sum(f(*xs), (0, 1))
    grad_jaxpr = fxad.make_jaxpr(fxad.grad(loss, argnums=(0, 1, 2, 3)))(*ops)
    assert _jaxpr_flops(grad_jaxpr) <= 3 * optimal


def test_paths_are_cached(monkeypatch):
    calls = []
    real = opt_einsum.contract_path
    monkeypatch.setattr(opt_einsum, 'contract_path', lambda *a, **k: calls.append(1) or real(*a, **k))
    ops = _operands([(7, 3), (3, 11), (11, 2)])
    for _ in range(3):
        fnp.einsum('ij,jk,kl->il', *ops)
    assert len(calls) == 1
    fnp.einsum('ij,jk,kl->il', *ops, optimize='greedy')  # another strategy is another plan
    assert len(calls) == 2


def test_einsum_path_matches_opt_einsum():
    ops = _operands(CHAIN_SHAPES)
    path, report = fnp.einsum_path(CHAIN, *ops)
    expected_path, expected_report = opt_einsum.contract_path(CHAIN, *ops, optimize='optimal')
    assert path == expected_path
    assert report.opt_cost == expected_report.opt_cost
    assert 'Optimized FLOP count' in str(report)


# ---------------------------------------------------------------------------------------------
# Gradients of contractions are contractions


def test_gradient_of_einsum_is_contractions():
    a, b = _operands([(3, 4), (4, 5)])
    loss = lambda a, b: lax.reduce_sum(fnp.einsum('ij,jk->ik', a, b) ** 2, (0, 1))
    jaxpr = fxad.make_jaxpr(fxad.grad(loss, argnums=(0, 1)))(a, b)
    names = [e.primitive.name for e in jaxpr.eqns]
    assert names.count('dot_general') == 3
    assert all(len(v.aval.shape) <= 2 for e in jaxpr.eqns for v in e.outvars), str(jaxpr)
    ga, gb = fxad.grad(loss, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, 2 * (a @ b) @ b.T, rtol=1e-12)
    np.testing.assert_allclose(gb, 2 * a.T @ (a @ b), rtol=1e-12)


@pytest.mark.parametrize('subscripts, shapes, ct_of_first', [
    ('ij,jk->ik', [(3, 4), (4, 5)], 'ik,jk->ij'),
    ('bij,bjk->bik', [(2, 3, 4), (2, 4, 5)], 'bik,bjk->bij'),
    ('ii,ij->j', [(3, 3), (3, 4)], 'j,ij->i'),
])
def test_backward_pass_swaps_subscripts(subscripts, shapes, ct_of_first):
    a, b = _operands(shapes)
    out_shape = np.shape(np.einsum(subscripts, a, b))
    ct = np.random.default_rng(4).standard_normal(out_shape)
    ct_a = check_transpose(lambda x: fnp.einsum(subscripts, x, b), a, ct)
    expected = np.einsum(ct_of_first, ct, b)
    if subscripts.startswith('ii'):  # the cotangent of a diagonal lives on the diagonal
        expected = np.diag(expected)
    np.testing.assert_allclose(ct_a, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Errors and dtypes


@pytest.mark.parametrize('subscripts, shapes, message', [
    ('ij,jk->ik', [(3, 4), (5, 6)], "index 'j' has size 4"),
    ('ij,jk->ik', [(3, 4)], 'Number of einsum subscripts'),
    ('ij->ik', [(3, 4)], "Output character 'k'"),
    ('ijk->i', [(3, 4)], 'operand 0 has shape'),
    ('ii->i', [(3, 4)], 'repeats index'),
])
def test_einsum_errors(subscripts, shapes, message):
    with pytest.raises(ValueError, match=message):
        fnp.einsum(subscripts, *_operands(shapes))


def test_einsum_unknown_optimize():
    with pytest.raises(ValueError, match='unknown optimize strategy'):
        fnp.einsum('ij,jk', np.ones((2, 2)), np.ones((2, 2)), optimize='fastest')


def test_einsum_promotes_dtypes():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = np.ones((3, 2), np.float32)
    out = fnp.einsum('ij,jk->ik', a, b)
    expected = np.einsum('ij,jk->ik', a, b)
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected)
    assert fnp.einsum('ij,jk->ik', a, a.T).dtype == np.einsum('ij,jk->ik', a, a.T).dtype


def test_einsum_explicit_path():
    ops = _operands([(2, 3), (3, 4), (4, 5)])
    path, _ = fnp.einsum_path('ij,jk,kl->il', *ops, optimize='greedy')
    np.testing.assert_allclose(fnp.einsum('ij,jk,kl->il', *ops, optimize=path),
                               np.einsum('ij,jk,kl->il', *ops), rtol=1e-12)
    np.testing.assert_allclose(fnp.einsum('ij,jk,kl->il', *ops, optimize=['einsum_path', (1, 2), (0, 1)]),
                               np.einsum('ij,jk,kl->il', *ops), rtol=1e-12)
    with pytest.raises(ValueError, match='invalid contraction path'):
        fnp.einsum('ij,jk,kl->il', *ops, optimize=[(0, 1), (0, 2)])
