"""Implicitly differentiated solves: custom_linear_solve, custom_root, and the run-time check
that an iterative solver converged.

A solver's iterations are never differentiated. custom_linear_solve differentiates x = A^-1 b
by solving again (dx = A^-1 (db - dA x); transpose: ct_b = A^-T ct_x); custom_root
differentiates f(x*, theta) = 0 by the implicit function theorem
(dx* = -(df/dx)^-1 (df/dtheta) dtheta). Values closed over by matvec and f, tracers included,
become operands (closure conversion), so derivatives reach them; the closures of the solvers
themselves are not differentiated, as in JAX.
"""

__all__ = ['custom_root', 'custom_linear_solve']

import functools
from collections import namedtuple

import numpy as np

from .. import dtypes
from ..api import linearize
from ..core import Primitive, get_aval
from ..custom_derivatives import custom_jvp
from ..interpreters import ad, batching
from ..interpreters import partial_eval as pe
from ..interpreters.ad import Zero
from ..tree_util import tree_flatten, tree_unflatten
from .control_flow import _eval, _leaf_paths, _numpy_out, _split
from .elementwise import convert_element_type, neg

# ---------------------------------------------------------------------------------------------
# Tracing user functions on flat lists of leaves, with their outputs checked


def _avals(leaves, what):
    avals = []
    for path, x in zip(_leaf_paths(tree_flatten(leaves)[1]), leaves):
        try:
            avals.append(get_aval(x))
        except TypeError:
            raise TypeError(f"{what}{path} has type {type(x).__name__}, which is not a valid fxad "
                            f"type (expected arrays or numbers, or pytrees of them)") from None
    return avals


def conform_tree(out, tree, avals, what, expected):
    """out's leaves, checked to have `tree` and the shapes and dtypes of `avals` (a weakly typed
    leaf takes its dtype). Errors name `what` (the value checked) and `expected` (the reference)."""
    leaves, out_tree = tree_flatten(out)
    if out_tree != tree:
        raise TypeError(f"{what} must have the structure of {expected}, {tree}, but has "
                        f"{out_tree}")
    conformed = []
    for path, x, a in zip(_leaf_paths(tree), leaves, avals):
        xa = get_aval(x)
        where = f" (leaf {path})" if path else ""
        if xa.shape != a.shape:
            raise ValueError(f"{what} must have the shape of {expected}: it has shape "
                             f"{xa.shape}{where} where {expected} has shape {a.shape}")
        if xa.dtype != a.dtype:
            if not xa.weak_type:
                raise TypeError(f"{what} must have the dtype of {expected}: it has dtype "
                                f"{xa.dtype.name}{where} where {expected} has dtype {a.dtype.name}")
            x = convert_element_type(x, a.dtype)
        conformed.append(x)
    return conformed


def _trace_checked(fun, in_tree, in_avals, out_tree, out_avals, what, expected):
    """(closed_jaxpr, tracer_consts) of fun(x) on x's flat leaves, its output checked."""
    def flat(*leaves):
        out = fun(tree_unflatten(in_tree, list(leaves)))
        return conform_tree(out, out_tree, out_avals, what, expected)
    return pe.trace_to_closed_jaxpr(flat, in_avals)


# ---------------------------------------------------------------------------------------------
# custom_linear_solve: operands (*matvec_consts, *vecmat_consts, *solve_consts,
# *transpose_solve_consts, *b). vecmat is matvec's transpose; it and transpose_solve are None
# when no transpose_solve was given (then reverse mode is an error).

_JAXPR_NAMES = ('matvec', 'vecmat', 'solve', 'transpose_solve')
_Groups = namedtuple('_Groups', _JAXPR_NAMES)

linear_solve_p = Primitive('custom_linear_solve', multiple_results=True)


def _split_groups(args, const_lengths):
    *groups, rest = _split(args, const_lengths)
    return _Groups(*groups), rest


def _transposed(groups):
    """The problem A^T x = b: the roles of matvec/vecmat and of the two solves swap."""
    return _Groups(groups.vecmat, groups.matvec, groups.transpose_solve, groups.solve)


def _linear_solve_impl(*args, const_lengths, **jaxprs):
    jaxprs = _Groups(**jaxprs)
    consts, b = _split_groups(args, const_lengths)
    return [_numpy_out(x) for x in _eval(jaxprs.solve, *consts.solve, *b)]


def _linear_solve_abstract_eval(*avals, const_lengths, **jaxprs):
    jaxprs = _Groups(**jaxprs)
    consts, b = _split_groups(avals, const_lengths)
    for name, jaxpr, cs in zip(_JAXPR_NAMES, jaxprs, consts):
        if jaxpr is None:
            continue
        expected = jaxpr.in_avals
        got = list(cs) + list(b)
        if len(expected) != len(got) or any(e.shape != a.shape or e.dtype != a.dtype
                                            for e, a in zip(expected, got)):
            raise TypeError(f"custom_linear_solve {name} takes ({', '.join(a.str_short() for a in expected)}), "
                            f"got ({', '.join(a.str_short() for a in got)})")
        if [(a.shape, a.dtype) for a in jaxpr.out_avals] != [(a.shape, a.dtype) for a in b]:
            raise TypeError(f"custom_linear_solve {name} must map b's type to itself, got "
                            f"{[a.str_short() for a in jaxpr.out_avals]} for b of type "
                            f"{[a.str_short() for a in b]}")
    return [a.strip_weak_type() for a in b]


def _linear_solve_jvp(primals, tangents, *, const_lengths, **jaxprs):
    jaxprs = _Groups(**jaxprs)
    # A x = b  =>  dA x + A dx = db  =>  dx = A^-1 (db - dA x). Tangents of the solvers'
    # closures are ignored: a solver's output is A^-1 b whatever it closes over.
    x = linear_solve_p.bind(*primals, const_lengths=const_lengths, **jaxprs._asdict())
    consts, _ = _split_groups(primals, const_lengths)
    consts_dot, b_dot = _split_groups(tangents, const_lengths)
    rhs = list(b_dot)
    if any(type(t) is not Zero for t in consts_dot.matvec):
        _, dA_x = ad.jvp_flat(lambda *cs: _eval(jaxprs.matvec, *cs, *x), consts.matvec,
                              consts_dot.matvec)
        rhs = [ad.add_tangents(r, neg(t) if type(t) is not Zero else t) for r, t in zip(rhs, dA_x)]
    if all(type(t) is Zero for t in rhs):
        return x, [Zero(ad.tangent_aval(get_aval(v))) for v in x]
    rhs = [ad.instantiate_zeros(t) for t in rhs]
    x_dot = linear_solve_p.bind(*primals[:len(primals) - len(rhs)], *rhs,
                                const_lengths=const_lengths, **jaxprs._asdict())
    return x, x_dot


def _linear_solve_transpose(cts, *args, const_lengths, **jaxprs):
    jaxprs = _Groups(**jaxprs)
    if jaxprs.transpose_solve is None:
        raise TypeError("transpose_solve is required for reverse-mode differentiation (grad, vjp, "
                        "jacrev) of custom_linear_solve: pass transpose_solve, or symmetric=True "
                        "if the linear map is symmetric")
    consts, b = _split_groups(args, const_lengths)
    if any(ad.is_undefined_primal(c) for group in consts for c in group):
        raise ad.NonLinearError("custom_linear_solve is linear in b only; it cannot be "
                                "transposed with respect to the values its functions close over")
    if all(type(ct) is Zero for ct in cts):
        return [None] * sum(const_lengths) + [Zero(x.aval) for x in b]
    cts = [ad.instantiate_zeros(ct) for ct in cts]
    t_consts = _transposed(consts)
    ct_b = linear_solve_p.bind(*[c for group in t_consts for c in group], *cts,
                               const_lengths=tuple(len(g) for g in t_consts),
                               **_transposed(jaxprs)._asdict())
    return [None] * sum(const_lengths) + list(ct_b)


def _linear_solve_batch(vals, dims, *, const_lengths, **jaxprs):
    jaxprs = _Groups(**jaxprs)
    # b and x are batched at 0 (a solution depends on everything batched); each jaxpr is
    # batched with its consts where they are.
    size = batching.batch_size(vals, dims)
    consts, b = _split_groups(vals, const_lengths)
    const_dims, b_dims = _split_groups(dims, const_lengths)
    b = [batching.matchaxis(size, d, 0, x) for x, d in zip(b, b_dims)]
    n = len(b)
    batched = _Groups(*[None if j is None else
                        batching.batch_jaxpr(j, size, list(cd) + [0] * n, [0] * n)[0]
                        for j, cd in zip(jaxprs, const_dims)])
    outs = linear_solve_p.bind(*vals[:len(vals) - n], *b, const_lengths=const_lengths,
                               **batched._asdict())
    return outs, [0] * n


linear_solve_p.impl = _linear_solve_impl
linear_solve_p.abstract_eval = _linear_solve_abstract_eval
linear_solve_p.jvp = _linear_solve_jvp
linear_solve_p.transpose = _linear_solve_transpose
linear_solve_p.batch = _linear_solve_batch


def _transpose_matvec(matvec_jaxpr, matvec_consts, tree, b_avals):
    """vecmat(y) = A^T y, by transposing the traced matvec (which must be linear)."""
    def vecmat(y):
        cts = conform_tree(y, tree, b_avals, "the argument of vecmat", "b")
        args = list(matvec_consts) + [ad.UndefinedPrimal(a) for a in b_avals]
        try:
            out = ad.backward_pass(matvec_jaxpr.jaxpr, matvec_jaxpr.consts, args, cts)
        except ad.NonLinearError as e:
            raise TypeError(f"custom_linear_solve: matvec must be linear in its argument to be "
                            f"transposed: {e}") from None
        return tree_unflatten(tree, [ad.instantiate_zeros(ct) for ct in out[len(matvec_consts):]])
    return vecmat


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False):
    """x = solve(matvec, b), a solution of matvec(x) = b, differentiated implicitly.

    matvec is linear; b and x are pytrees of arrays of the same structure. The derivative never
    differentiates `solve`: a tangent solves A dx = db - dA x with `solve`, and reverse mode
    solves A^T with `transpose_solve(vecmat, ct)` (vecmat = A^T, the transpose of matvec). With
    symmetric=True, A^T = A and transpose_solve defaults to solve. Values matvec closes over,
    tracers included, are differentiated; those `solve` closes over are not.
    """
    b_leaves, tree = tree_flatten(b)
    b_avals = [a.strip_weak_type() for a in _avals(b_leaves, 'custom_linear_solve: b')]
    b_leaves = [convert_element_type(x, a.dtype) if get_aval(x).weak_type else x
                for x, a in zip(b_leaves, b_avals)]

    def traced(fun, name):
        return _trace_checked(fun, tree, b_avals, tree, b_avals,
                              f"the output of custom_linear_solve's {name}", "b")

    matvec_jaxpr, matvec_consts = traced(matvec, "matvec")
    solve_jaxpr, solve_consts = traced(functools.partial(solve, matvec), "solve")
    if transpose_solve is None and symmetric:
        transpose_solve = solve
    vecmat_jaxpr, vecmat_consts = None, []
    tr_solve_jaxpr, tr_solve_consts = None, []
    if transpose_solve is not None:
        if symmetric:
            vecmat, vecmat_jaxpr, vecmat_consts = matvec, matvec_jaxpr, matvec_consts
        else:
            vecmat = _transpose_matvec(matvec_jaxpr, matvec_consts, tree, b_avals)
            vecmat_jaxpr, vecmat_consts = traced(vecmat, "vecmat")
        tr_solve_jaxpr, tr_solve_consts = traced(functools.partial(transpose_solve, vecmat),
                                                 "transpose_solve")
    consts = _Groups(matvec_consts, vecmat_consts, solve_consts, tr_solve_consts)
    jaxprs = _Groups(matvec_jaxpr, vecmat_jaxpr, solve_jaxpr, tr_solve_jaxpr)
    x = linear_solve_p.bind(*[c for group in consts for c in group], *b_leaves,
                            const_lengths=tuple(len(g) for g in consts), **jaxprs._asdict())
    return tree_unflatten(tree, x)


# ---------------------------------------------------------------------------------------------
# custom_root: a custom_jvp function of (*f_consts, *solve_consts, *tangent_solve_consts,
# *initial_guess) whose static arguments are the three traced jaxprs.

_RootJaxprs = namedtuple('_RootJaxprs', ['f', 'solve', 'linearize_and_solve'])


def _split_root_args(args, const_lengths):
    *groups, rest = _split(args, const_lengths)
    return _RootJaxprs(*groups), rest


def _root_solution(const_lengths, jaxprs, *args):
    consts, guess = _split_root_args(args, const_lengths)
    return _eval(jaxprs.solve, *consts.solve, *guess)


_custom_root = custom_jvp(_root_solution, nondiff_argnums=(0, 1))


@_custom_root.defjvp
def _custom_root_jvp(const_lengths, jaxprs, primals, tangents):
    # f(theta, x*(theta)) = 0  =>  d_theta f + d_x f dx* = 0  =>  dx* = -(d_x f)^-1 d_theta f.
    consts, _ = _split_root_args(primals, const_lengths)
    consts_dot, _ = _split_root_args(tangents, const_lengths)
    out = _custom_root(const_lengths, jaxprs, *primals)
    n_x = len(jaxprs.f.out_avals)
    x, aux = out[:n_x], out[n_x:]
    theta_dot = [t if dtypes.is_float(get_aval(c).dtype) else Zero(ad.tangent_aval(get_aval(c)))
                 for c, t in zip(consts.f, consts_dot.f)]
    _, rhs = ad.jvp_flat(lambda *cs: _eval(jaxprs.f, *cs, *x), consts.f, theta_dot)
    if all(type(t) is Zero for t in rhs):
        x_dot = [ad.zeros_like_aval(ad.tangent_aval(get_aval(v))) for v in x]
    else:
        rhs = [ad.instantiate_zeros(t) for t in rhs]
        x_dot = [neg(t) for t in _eval(jaxprs.linearize_and_solve, *consts.linearize_and_solve,
                                       *x, *rhs)]
    aux_dot = [ad.zeros_like_aval(ad.tangent_aval(get_aval(a))) for a in aux]
    return out, x_dot + aux_dot


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """x* = solve(f, initial_guess), a root of f, differentiated by the implicit function theorem.

    f maps a pytree x to a pytree of the same structure. tangent_solve(g, y) solves the linear
    system g(x) = y, where g is the linearization of f at the root; reverse mode transposes it,
    so it must be linear in y with a transpose (fnp.linalg.solve, custom_linear_solve and
    fxad.solvers.cg are). The derivative of x* with respect to values f closes over, tracers
    included, is -tangent_solve(g, df/dtheta . dtheta); `solve` itself is never differentiated.
    With has_aux=True, solve returns (x*, aux), and aux gets zero derivatives.
    """
    guess, tree = tree_flatten(initial_guess)
    avals = _avals(guess, 'custom_root: initial_guess')
    f_jaxpr, f_consts = _trace_checked(f, tree, avals, tree, avals, "the output of custom_root's f",
                                       "initial_guess")
    aux_trees = []

    def solve_flat(*leaves):
        out = solve(f, tree_unflatten(tree, list(leaves)))
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"custom_root with has_aux=True expects solve to return a pair "
                                f"(solution, aux), got {type(out).__name__}")
            out, aux = out
        x = conform_tree(out, tree, avals, "the solution custom_root's solve returns",
                         "initial_guess")
        aux_leaves, aux_tree = tree_flatten(aux) if has_aux else ([], None)
        aux_trees.append(aux_tree)
        return x + aux_leaves

    solve_jaxpr, solve_consts = pe.trace_to_closed_jaxpr(solve_flat, avals)

    def linearize_and_solve(x, y):
        _, f_lin = linearize(f, x)
        return tangent_solve(f_lin, y)

    pair = tree_flatten((initial_guess, initial_guess))[1]
    ls_jaxpr, ls_consts = _trace_checked(lambda xy: linearize_and_solve(*xy), pair, avals + avals, tree, avals,
                                         "the output of custom_root's tangent_solve", "initial_guess")
    consts = _RootJaxprs(f_consts, solve_consts, ls_consts)
    jaxprs = _RootJaxprs(f_jaxpr, solve_jaxpr, ls_jaxpr)
    out = _custom_root(tuple(len(c) for c in consts), jaxprs, *f_consts, *solve_consts,
                       *ls_consts, *guess)
    out = [_numpy_out(v) for v in out]     # eagerly, NumPy values (never Python numbers)
    x = tree_unflatten(tree, list(out[:len(guess)]))
    return (x, tree_unflatten(aux_trees[-1], list(out[len(guess):]))) if has_aux else x


# ---------------------------------------------------------------------------------------------
# The convergence check: operands (*xs, converged, residual, iterations) -> xs. Its impl raises
# ConvergenceError when `converged` is false anywhere, so the check runs whenever the solution
# is computed: eagerly, inside a jit, and under vmap (where the flags carry the batch dims and
# any failing member raises). Its outputs are its inputs xs, so it is never dead code while
# the solution is used.


class ConvergenceError(RuntimeError):
    """An iterative solver stopped without meeting its tolerance."""


convergence_check_p = Primitive('convergence_check', multiple_results=True)


def _convergence_message(converged, residual, iterations, solver, measure, tol):
    ok = np.asarray(converged)
    residual = np.broadcast_to(np.asarray(residual, np.float64), ok.shape)
    iterations = np.broadcast_to(np.asarray(iterations), ok.shape)
    failed = ~ok
    worst = np.argmax(np.where(failed, np.nan_to_num(residual, nan=np.inf), -np.inf))
    worst = np.unravel_index(worst, ok.shape) if ok.shape else ()
    where = f"{solver} did not converge:"
    if ok.shape:
        where = (f"{solver} did not converge for {int(failed.sum())} of {ok.size} batch members "
                 f"(vmap); the worst, batch member {tuple(int(i) for i in worst)},")
    k = int(iterations[worst])
    return (f"{where} stopped after {k} iteration{'' if k == 1 else 's'} with residual {measure} "
            f"= {float(residual[worst]):.3e}, above the tolerance {tol:g}. Increase the iteration "
            f"limit, loosen the tolerance, or check that the problem has a solution the method "
            f"can reach from the initial guess.")


def _convergence_check_impl(*args, solver, measure, tol):
    *xs, converged, residual, iterations = args
    if not np.all(converged):
        raise ConvergenceError(_convergence_message(converged, residual, iterations, solver,
                                                    measure, tol))
    return list(xs)


def _convergence_check_abstract_eval(*avals, solver, measure, tol):
    *xs, converged, residual, iterations = avals
    if converged.dtype != dtypes.bool_:
        raise TypeError(f"convergence_check: the converged flag must be boolean, got "
                        f"{converged.str_short()}")
    if not residual.shape == iterations.shape == converged.shape:
        raise TypeError(f"convergence_check: the flags must have one shape, got "
                        f"{converged.str_short()}, {residual.str_short()} and "
                        f"{iterations.str_short()}")
    return list(xs)


def _convergence_check_jvp(primals, tangents, **params):
    # The identity on xs: the check changes no value.
    return convergence_check_p.bind(*primals, **params), list(tangents[:-3])


def _convergence_check_transpose(cts, *args, **params):
    return list(cts) + [None] * 3


def _convergence_check_batch(vals, dims, **params):
    # The flags take the batch dim at 0 (the impl reports which members failed).
    size = batching.batch_size(vals, dims)
    n = len(vals) - 3
    flags = vals[n:]
    if any(d is not None for d in dims[n:]):
        flags = [batching.matchaxis(size, d, 0, f) for f, d in zip(flags, dims[n:])]
    return convergence_check_p.bind(*vals[:n], *flags, **params), list(dims[:n])


convergence_check_p.impl = _convergence_check_impl
convergence_check_p.abstract_eval = _convergence_check_abstract_eval
convergence_check_p.jvp = _convergence_check_jvp
convergence_check_p.transpose = _convergence_check_transpose
convergence_check_p.batch = _convergence_check_batch


def check_convergence(xs, converged, residual, iterations, *, solver, measure, tol):
    """xs (a list) unchanged, once the solver's run-time flags say it converged."""
    return convergence_check_p.bind(*xs, converged, residual, iterations, solver=solver,
                                    measure=measure, tol=float(tol))
