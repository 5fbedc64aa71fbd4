"""Structured control flow: cond/switch, while_loop, fori_loop and scan as primitives that carry
closed sub-jaxprs, each with a rule for every transformation.

Branches and bodies are traced to closed jaxprs; the tracers of enclosing transformations they
close over become explicit leading operands (closure conversion), so jvp, grad and vmap reach
them. Which loop carries acquire a tangent, become unknown or become batched is a fixpoint
over the body.
"""

__all__ = ['cond', 'switch', 'while_loop', 'fori_loop', 'scan', 'map']

import collections

import numpy as np

from .. import core, dtypes
from ..core import ClosedJaxpr, Jaxpr, Primitive, Var, get_aval
from ..interpreters import ad, batching
from ..interpreters import partial_eval as pe
from ..interpreters.ad import Zero
from ..tree_util import tree_flatten, tree_unflatten, treedef_tuple
from .elementwise import add, clamp, convert_element_type, lt, ne, select_n
from .reductions import reduce_or
from .shapes import broadcast_in_dim, moveaxis

_INDEX_DTYPE = np.dtype(np.int32)
_PYTHON_SCALAR_OF_KIND = {'b': bool, 'i': int, 'u': int, 'f': float, 'c': complex}

# ---------------------------------------------------------------------------------------------
# Helpers: tracing user functions, carry and branch types, reordering jaxpr binders


def _split(xs, sizes):
    """xs cut into consecutive pieces of the given sizes, the remainder last."""
    out, i = [], 0
    for n in sizes:
        out.append(list(xs[i:i + n]))
        i += n
    out.append(list(xs[i:]))
    return out


def _leaf_paths(treedef):
    """Access paths of a treedef's leaves ("[0]", "['w']", ".field"), for error messages."""
    paths = []
    stack = [(treedef, '')]
    while stack:
        node, path = stack.pop()
        data = node.node_data()
        if data is None:
            paths.append(path)
            continue
        kind, aux = data
        kids = node.children()
        if issubclass(kind, dict):
            keys = aux[1] if issubclass(kind, collections.defaultdict) else aux
            names = [f"[{k!r}]" for k in keys]
        elif hasattr(kind, '_fields'):
            names = [f".{f}" for f in kind._fields]
        else:
            names = [f"[{i}]" for i in range(len(kids))]
        stack.extend(reversed([(c, path + n) for c, n in zip(kids, names)]))
    return paths


def _avals_of(values, what):
    avals = []
    for i, x in enumerate(values):
        try:
            avals.append(get_aval(x))
        except TypeError:
            raise TypeError(f"{what}: leaf {i} has type {type(x).__name__}, which is not a valid "
                            f"fxad type (expected arrays or numbers, or pytrees of them)") from None
    return avals


def _flatten_fun(fun, in_tree, out_trees):
    """fun on pytrees as a function of flat leaves; the output tree is appended to out_trees."""
    def flat(*leaves):
        out = fun(*tree_unflatten(in_tree, list(leaves)))
        out_leaves, out_tree = tree_flatten(out)
        out_trees.append(out_tree)
        return out_leaves
    return flat


def _trace(fun, in_avals):
    """(ClosedJaxpr, consts): tracer constants become leading invars (closure conversion)."""
    return pe.trace_to_closed_jaxpr(fun, in_avals)


def _to_aval(x, aval):
    """An initial carry converted to the carry's type; a concrete one stays a constant."""
    a = get_aval(x)
    if a.dtype == aval.dtype and a.weak_type == aval.weak_type:
        return x
    if isinstance(x, core.Tracer):
        return convert_element_type(x, aval.dtype, aval.weak_type)
    if aval.weak_type:     # only a Python scalar is weak: it stays one, of the new kind
        return _PYTHON_SCALAR_OF_KIND[aval.dtype.kind](x)
    return np.asarray(x, aval.dtype)[()]


def _coerce_weak(x, aval):
    """A weakly typed x (a Python scalar result) cast to aval's dtype when that loses no category."""
    a = get_aval(x)
    if a.weak_type and a.dtype != aval.dtype and a.shape == aval.shape:
        if dtypes.result_type((aval.dtype, False), (a.dtype, True))[0] == aval.dtype:
            return _to_aval(x, aval)
    return x


def _coerce_weak_carry(x, aval):
    """A weakly typed carry output cast to the carry's dtype within its category only (a Python
    float may become a float32 carry; a weak int never becomes a float one: JAX's carry rule)."""
    a = get_aval(x)
    # A lone weak dtype's result type is its category's default dtype.
    if a.weak_type and dtypes.result_type((a.dtype, True))[0] != dtypes.result_type((aval.dtype, True))[0]:
        return x
    return _coerce_weak(x, aval)


def _unify_carry(in_avals, out_avals):
    """Carry avals with every weakly typed init taking the type the body gives it."""
    new = []
    for a, b in zip(in_avals, out_avals):
        if a.weak_type and a.shape == b.shape and (a.dtype != b.dtype or not b.weak_type):
            dtype, weak = dtypes.result_type((a.dtype, True), (b.dtype, b.weak_type))
            new.append(a.update(dtype=dtype, weak_type=weak))
        else:
            new.append(a)
    return new


def _type_mismatch(a, b):
    if a.shape != b.shape:
        return f"the shapes differ ({a.shape} and {b.shape})"
    if a.dtype != b.dtype:
        return f"the dtypes differ ({a.dtype.name} and {b.dtype.name})"
    return None


def _trace_loop_body(flat_body, carry_avals, extra_avals, names, what):
    """Trace flat_body(*carry, *extra) -> [*carry_out, *rest] with consistent carry types.

    A weakly typed initial carry (a Python scalar) takes the type the body gives it when that is
    of the same or a higher category, and a weakly typed carry output takes the carry's dtype of its
    own category; any other disagreement is a TypeError naming the carry. Returns (closed_jaxpr,
    tracer_consts, carry_avals).
    """
    n = len(carry_avals)
    box = [carry_avals]

    def body(*args):
        outs = flat_body(*args)
        return [_coerce_weak_carry(o, a) for o, a in zip(outs[:n], box[0])] + list(outs[n:])

    for _ in range(3):
        closed, consts = _trace(body, box[0] + list(extra_avals))
        new = _unify_carry(box[0], closed.out_avals[:n])
        if new == box[0]:
            break
        box[0] = new
    for name, a, b in zip(names, box[0], closed.out_avals[:n]):
        reason = _type_mismatch(a, b)
        if reason:
            raise TypeError(f"{what} must return a carry of the same type as its input, but the "
                            f"carry component {name} has type {a.str_short()} as input and "
                            f"{b.str_short()} as output: {reason}")
    return closed, consts, box[0]


def _reorder(closed, in_order=None, out_order=None):
    """The same jaxpr with its invars / outvars permuted (a free relabelling of binders)."""
    j = closed.jaxpr
    invars = j.invars if in_order is None else [j.invars[i] for i in in_order]
    outvars = j.outvars if out_order is None else [j.outvars[i] for i in out_order]
    return ClosedJaxpr(Jaxpr(j.constvars, invars, outvars, j.eqns), closed.consts)


def _group_order(sizes, order):
    """Indices laying out consecutive groups of the given sizes in the given group order."""
    starts = np.cumsum([0] + list(sizes[:-1])).tolist()
    return [starts[g] + k for g in order for k in range(sizes[g])]


def _eval(closed, *args):
    return core.eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _numpy_out(x):
    """Eager results are NumPy values (a jaxpr output may be a Python-scalar literal)."""
    return np.asarray(x)[()] if type(x) in (bool, int, float, complex) else x


def _or(xs, ys):
    return [x or y for x, y in zip(xs, ys)]


def _zeros(aval):
    return ad.zeros_maker(aval.shape, aval.dtype)


def _bcast_pred(pred, shape):
    """A predicate batched along dim 0 broadcast to a batched value's shape."""
    return pred if len(shape) <= 1 else broadcast_in_dim(pred, shape, (0,))


# ---------------------------------------------------------------------------------------------
# cond: operands (index, *ops); `branches` is a tuple of closed jaxprs over the same ops.
# switch shares the primitive; cond's index is 0 for false_fun and 1 for true_fun.

cond_p = Primitive('cond', multiple_results=True)


def _cond_impl(index, *ops, branches):
    branch = branches[int(np.clip(index, 0, len(branches) - 1))]
    return [_numpy_out(x) for x in _eval(branch, *ops)]


def _cond_abstract_eval(index, *ops, branches):
    if index.shape != () or index.dtype.kind not in 'iu':
        raise TypeError(f"cond's index must be an integer scalar, got {index.str_short()}")
    for i, b in enumerate(branches):
        core.check_operand_avals(f"cond branch {i}", b.in_avals, ops)
    first = branches[0].out_avals
    for i, b in enumerate(branches[1:], 1):
        for k, (a, c) in enumerate(zip(first, b.out_avals)):
            if _type_mismatch(a, c) or len(first) != len(b.out_avals):
                raise TypeError(f"cond branches 0 and {i} disagree on output {k}: "
                                f"{a.str_short()} and {c.str_short()}")
    return [a.update(weak_type=all(b.out_avals[k].weak_type for b in branches))
            for k, a in enumerate(first)]


def _cond_jvp(primals, tangents, *, branches):
    index, *ops = primals
    nonzeros = [type(t) is not Zero for t in tangents[1:]]
    out_nz = [False] * len(branches[0].out_avals)
    for b in branches:
        out_nz = _or(out_nz, ad.jvp_jaxpr(b, nonzeros)[1])
    jvp_branches = tuple(ad.jvp_jaxpr(b, nonzeros, instantiate=out_nz)[0] for b in branches)
    nz_tangents = [t for t in tangents[1:] if type(t) is not Zero]
    outs = cond_p.bind(index, *ops, *nz_tangents, branches=jvp_branches)
    n = len(out_nz)
    it = iter(outs[n:])
    out_avals = _cond_abstract_eval(get_aval(index), *[get_aval(x) for x in ops], branches=branches)
    return outs[:n], [next(it) if nz else Zero(ad.tangent_aval(a)) for nz, a in zip(out_nz, out_avals)]


def _cond_batch(vals, dims, *, branches):
    index, *ops = vals
    index_dim, *op_dims = dims
    size = batching.batch_size(vals, dims)
    n = len(branches[0].out_avals)
    if index_dim is None:
        out_batched = [False] * n
        for b in branches:
            _, out_dims = batching.batch_jaxpr(b, size, op_dims, [None] * n)
            out_batched = _or(out_batched, [d is not None for d in out_dims])
        wanted = [0 if b else None for b in out_batched]
        batched = tuple(batching.batch_jaxpr(b, size, op_dims, wanted)[0] for b in branches)
        return cond_p.bind(index, *ops, branches=batched), wanted
    # A batched index: every branch runs on the whole batch and each member picks its result.
    index = moveaxis(index, index_dim, 0)
    results = [_eval(batching.batch_jaxpr(b, size, op_dims, [0] * n)[0], *ops) for b in branches]
    outs = [select_n(_bcast_pred(index, get_aval(cases[0]).shape), *cases) for cases in zip(*results)]
    return outs, [0] * n


def _cond_partial_eval(trace, args, params):
    branches = params['branches']
    index, *ops = args
    if trace.is_own(index):
        return trace.stage(cond_p, [trace.to_atom(x) for x in args], params)
    unknowns = [trace.is_own(x) for x in ops]
    out_uk = [False] * len(branches[0].out_avals)
    for b in branches:
        out_uk = _or(out_uk, pe.partial_eval_jaxpr(b, unknowns)[2])
    splits = [pe.partial_eval_jaxpr(b, unknowns, instantiate=out_uk) for b in branches]
    # Every branch outputs every branch's residuals: its own, and zeros in the others' places.
    res_avals = [jk.out_avals[len(jk.out_avals) - num_res:] for jk, _, _, num_res in splits]
    known_branches = tuple(_known_branch(jk, num_res, i, res_avals)
                           for i, (jk, _, _, num_res) in enumerate(splits))
    unknown_branches = tuple(_unknown_branch(ju, i, res_avals) for i, (_, ju, _, _) in enumerate(splits))
    known_ops = [x for x, uk in zip(ops, unknowns) if not uk]
    known_outs = []
    if known_branches[0].out_avals:
        known_outs = core.bind_on(trace.parent, cond_p, [index] + known_ops, {'branches': known_branches})
    n_known = len(out_uk) - sum(out_uk)
    residuals = known_outs[n_known:]
    unknown_outs = []
    if any(out_uk):
        unknown_ops = [x for x, uk in zip(ops, unknowns) if uk]
        unknown_outs = trace.stage(cond_p, [trace.to_atom(x) for x in [index] + residuals + unknown_ops],
                                   {'branches': unknown_branches})
    known_it, unknown_it = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_it) if uk else next(known_it) for uk in out_uk]


def _known_branch(jaxpr_known, num_res, i, res_avals):
    n_out = len(jaxpr_known.out_avals) - num_res

    def fun(*args):
        outs = _eval(jaxpr_known, *args)
        res = []
        for j, avals in enumerate(res_avals):
            res += outs[n_out:] if j == i else [_zeros(a) for a in avals]
        return outs[:n_out] + res
    return _trace(fun, jaxpr_known.in_avals)[0]


def _unknown_branch(jaxpr_unknown, i, res_avals):
    j = jaxpr_unknown.jaxpr
    own_res, rest = _split(j.invars, [len(res_avals[i])])
    invars = []
    for k, avals in enumerate(res_avals):
        invars += own_res if k == i else [Var(a) for a in avals]
    return ClosedJaxpr(Jaxpr(j.constvars, invars + rest, j.outvars, j.eqns), jaxpr_unknown.consts)


def _cond_transpose(cts, index, *ops, branches):
    if ad.is_undefined_primal(index):
        raise ad.linear_error('cond index')
    linear = [ad.is_undefined_primal(x) for x in ops]
    cts = [ad.instantiate_zeros(ct) for ct in cts]
    transposed = tuple(ad.transpose_jaxpr(b, linear) for b in branches)
    nonlinear = [x for x, lin in zip(ops, linear) if not lin]
    cts_in = iter(cond_p.bind(index, *nonlinear, *cts, branches=transposed))
    return [None] + [next(cts_in) if lin else None for lin in linear]


cond_p.impl = _cond_impl
cond_p.abstract_eval = _cond_abstract_eval
cond_p.jvp = _cond_jvp
cond_p.batch = _cond_batch
cond_p.partial_eval = _cond_partial_eval
cond_p.transpose = _cond_transpose


def _check_scalar_index(x, what, kinds):
    aval = get_aval(x)
    if aval.shape != ():
        raise TypeError(f"{what} must be a scalar, got a value of shape {aval.shape}")
    if aval.dtype.kind not in kinds:
        raise TypeError(f"{what} must be {'boolean or a number' if 'b' in kinds else 'an integer'}, "
                        f"got dtype {aval.dtype.name}")
    return aval


def cond(pred, true_fun, false_fun, *operands):
    """true_fun(*operands) if pred else false_fun(*operands), with both branches traced.

    pred is a boolean (or numeric, nonzero meaning True) scalar that may be traced; the branches
    must return the same tree structure, shapes and dtypes.
    """
    if pred is None or isinstance(pred, (list, tuple)):
        raise TypeError(f"cond's predicate must be a boolean scalar, got {pred!r}")
    aval = _check_scalar_index(pred, "cond's predicate", 'biuf')
    if aval.dtype.kind != 'b':
        pred = ne(pred, np.zeros((), aval.dtype)[()])
    index = convert_element_type(pred, _INDEX_DTYPE)
    return _switch(index, (false_fun, true_fun), operands, ('false_fun', 'true_fun'))


def switch(index, branches, *operands):
    """branches[index](*operands), with every branch traced; the index is clamped to range."""
    branches = tuple(branches)
    if not branches:
        raise ValueError("switch needs at least one branch, got an empty sequence")
    for i, b in enumerate(branches):
        if not callable(b):
            raise TypeError(f"switch branches must be callables, but branch {i} is {b!r}")
    _check_scalar_index(index, "switch's index", 'iu')
    if len(branches) == 1:
        return branches[0](*operands)
    index = convert_element_type(index, _INDEX_DTYPE)
    index = clamp(np.int32(0), index, np.int32(len(branches) - 1))
    return _switch(index, branches, operands, tuple(f"branch {i}" for i in range(len(branches))))


def _switch(index, funs, operands, names):
    ops, in_tree = tree_flatten(operands)
    in_avals = _avals_of(ops, 'cond operands')
    traced = []
    for fun in funs:
        out_trees = []
        closed, consts = _trace(_flatten_fun(fun, in_tree, out_trees), in_avals)
        traced.append([closed, consts, out_trees[-1]])
    out_tree = traced[0][2]
    for name, (_, _, tree) in zip(names[1:], traced[1:]):
        if tree != out_tree:
            raise TypeError(f"cond branches must return the same tree structure, but {names[0]} "
                            f"returns {out_tree} and {name} returns {tree}")
    targets = _branch_output_types(traced, names, out_tree)
    for entry, fun in zip(traced, funs):
        if [a.dtype for a in entry[0].out_avals] != [a.dtype for a in targets]:
            coerced = _coerced_outputs(_flatten_fun(fun, in_tree, []), targets)
            entry[0], entry[1] = _trace(coerced, in_avals)
    consts, branches = _common_consts([(c, k) for c, k, _ in traced])
    outs = cond_p.bind(index, *consts, *ops, branches=branches)
    return tree_unflatten(out_tree, outs)


def _branch_output_types(traced, names, out_tree):
    """Per output the common type of the branches; weakly typed outputs adopt the others' dtype."""
    paths = _leaf_paths(out_tree)
    targets = []
    for k, path in enumerate(paths):
        avals = [closed.out_avals[k] for closed, _, _ in traced]
        dtype, weak = dtypes.result_type(*[(a.dtype, a.weak_type) for a in avals])
        for name, a in zip(names, avals):
            bad = a.shape != avals[0].shape or (a.dtype != dtype and not a.weak_type)
            if bad:
                other = next(b for b in avals if b.shape != a.shape or b.dtype != a.dtype)
                other_name = names[avals.index(other)]
                raise TypeError(f"cond branches must return the same types, but output{path or ''} "
                                f"has type {a.str_short()} in {name} and {other.str_short()} in "
                                f"{other_name}: {_type_mismatch(a, other)}")
        targets.append(avals[0].update(dtype=dtype, weak_type=weak))
    return targets


def _coerced_outputs(flat_fun, targets):
    def fun(*args):
        return [_coerce_weak(o, a) for o, a in zip(flat_fun(*args), targets)]
    return fun


def _common_consts(traced):
    """Branches rewritten to take the union of all branches' tracer consts as leading operands."""
    consts, index = [], {}
    for _, cs in traced:
        for c in cs:
            if id(c) not in index:
                index[id(c)] = len(consts)
                consts.append(c)
    branches = []
    for closed, cs in traced:
        j = closed.jaxpr
        own = {index[id(c)]: v for c, v in zip(cs, j.invars[:len(cs)])}
        lead = [own.get(k) or Var(get_aval(c)) for k, c in enumerate(consts)]
        jaxpr = Jaxpr(j.constvars, lead + j.invars[len(cs):], j.outvars, j.eqns)
        branches.append(ClosedJaxpr(jaxpr, closed.consts))
    return consts, tuple(branches)


# ---------------------------------------------------------------------------------------------
# while: operands (*cond_consts, *body_consts, *carry). Forward mode and batching only; reverse
# mode needs the trip count, which a while loop does not know in advance.

while_p = Primitive('while', multiple_results=True)


def _while_impl(*args, body_jaxpr, body_nconsts, cond_jaxpr, cond_nconsts):
    cond_consts, body_consts, carry = _split(args, [cond_nconsts, body_nconsts])
    while _eval(cond_jaxpr, *cond_consts, *carry)[0]:
        carry = _eval(body_jaxpr, *body_consts, *carry)
    return [_numpy_out(x) for x in carry]


def _while_abstract_eval(*avals, body_jaxpr, body_nconsts, cond_jaxpr, cond_nconsts):
    cond_consts, body_consts, carry = _split(avals, [cond_nconsts, body_nconsts])
    core.check_operand_avals('while cond_jaxpr', cond_jaxpr.in_avals, cond_consts + carry)
    core.check_operand_avals('while body_jaxpr', body_jaxpr.in_avals, body_consts + carry)
    pred, = cond_jaxpr.out_avals
    if pred.shape != () or pred.dtype != dtypes.bool_:
        raise TypeError(f"while cond_jaxpr must return a boolean scalar, got {pred.str_short()}")
    for k, (a, b) in enumerate(zip(carry, body_jaxpr.out_avals)):
        if _type_mismatch(a, b):
            raise TypeError(f"while body_jaxpr maps carry {k} of type {a.str_short()} to {b.str_short()}")
    return carry


def _while_jvp(primals, tangents, *, body_jaxpr, body_nconsts, cond_jaxpr, cond_nconsts):
    cond_consts, body_consts, carry = _split(primals, [cond_nconsts, body_nconsts])
    _, body_t, carry_t = _split(tangents, [cond_nconsts, body_nconsts])
    body_nz = [type(t) is not Zero for t in body_t]
    carry_nz = [type(t) is not Zero for t in carry_t]
    while True:  # carries with a nonzero tangent: a fixpoint over the body
        body_jvp, out_nz = ad.jvp_jaxpr(body_jaxpr, body_nz + carry_nz, instantiate=carry_nz)
        if out_nz == carry_nz:
            break
        carry_nz = _or(carry_nz, out_nz)
    nb, nk = len(body_consts), len(carry)
    n_bt, n_kt = sum(body_nz), sum(carry_nz)
    body_jvp = _reorder(body_jvp, _group_order([nb, nk, n_bt, n_kt], [0, 2, 1, 3]))
    cj = cond_jaxpr.jaxpr
    tangent_binders = [Var(ad.tangent_aval(a)) for a, nz in zip(cond_jaxpr.in_avals[cond_nconsts:], carry_nz) if nz]
    cond_jvp = ClosedJaxpr(Jaxpr(cj.constvars, cj.invars + tangent_binders, cj.outvars, cj.eqns),
                           cond_jaxpr.consts)
    body_t = [t for t in body_t if type(t) is not Zero]
    carry_t = [ad.instantiate_zeros(t) for t, nz in zip(carry_t, carry_nz) if nz]
    outs = while_p.bind(*cond_consts, *body_consts, *body_t, *carry, *carry_t,
                        body_jaxpr=body_jvp, body_nconsts=nb + n_bt,
                        cond_jaxpr=cond_jvp, cond_nconsts=cond_nconsts)
    it = iter(outs[nk:])
    return outs[:nk], [next(it) if nz else Zero(ad.tangent_aval(get_aval(x)))
                       for nz, x in zip(carry_nz, carry)]


def _while_batch(vals, dims, *, body_jaxpr, body_nconsts, cond_jaxpr, cond_nconsts):
    size = batching.batch_size(vals, dims)
    cond_consts, body_consts, carry = _split(vals, [cond_nconsts, body_nconsts])
    cond_dims, body_dims, init_dims = _split(dims, [cond_nconsts, body_nconsts])
    carry_batched = [d is not None for d in init_dims]
    while True:  # carries that become batched: a fixpoint over the body
        carry_dims = [0 if b else None for b in carry_batched]
        body_b, out_dims = batching.batch_jaxpr(body_jaxpr, size, body_dims + carry_dims, carry_dims)
        new = _or(carry_batched, [d is not None for d in out_dims])
        if new == carry_batched:
            break
        carry_batched = new
    cond_b, (pred_dim,) = batching.batch_jaxpr(cond_jaxpr, size, cond_dims + carry_dims, [None])
    if pred_dim is not None and not all(carry_batched):
        # Members stop at different iterations, so every carry is per-member.
        carry_dims = [0] * len(carry)
        body_b, _ = batching.batch_jaxpr(body_jaxpr, size, body_dims + carry_dims, carry_dims)
        cond_b, _ = batching.batch_jaxpr(cond_jaxpr, size, cond_dims + carry_dims, [0])
    carry = [batching.matchaxis(size, d, cd, x) for x, d, cd in zip(carry, init_dims, carry_dims)]
    if pred_dim is None:
        outs = while_p.bind(*cond_consts, *body_consts, *carry, body_jaxpr=body_b,
                            body_nconsts=body_nconsts, cond_jaxpr=cond_b, cond_nconsts=cond_nconsts)
        return outs, carry_dims
    cond_any, body_frozen = _freeze_finished(cond_b, body_b, cond_nconsts, body_nconsts)
    outs = while_p.bind(*cond_consts, *cond_consts, *body_consts, *carry, body_jaxpr=body_frozen,
                        body_nconsts=cond_nconsts + body_nconsts, cond_jaxpr=cond_any,
                        cond_nconsts=cond_nconsts)
    return outs, carry_dims


def _freeze_finished(cond_b, body_b, nc, nb):
    """A batched predicate: loop while any member runs; finished members keep their carry."""
    def cond_fun(*args):
        pred, = _eval(cond_b, *args)
        return [reduce_or(pred, (0,))]

    def body_fun(*args):
        cond_consts, body_consts, carry = _split(args, [nc, nb])
        pred, = _eval(cond_b, *cond_consts, *carry)
        new = _eval(body_b, *body_consts, *carry)
        return [select_n(_bcast_pred(pred, get_aval(x).shape), x, y) for x, y in zip(carry, new)]
    cond_j, _ = _trace(cond_fun, cond_b.in_avals)
    body_j, _ = _trace(body_fun, cond_b.in_avals[:nc] + body_b.in_avals)
    return cond_j, body_j


def _while_partial_eval(trace, args, params):
    nc, nb = params['cond_nconsts'], params['body_nconsts']
    unknowns = [trace.is_own(x) for x in args]
    cond_uk, body_uk, carry_uk = _split(unknowns, [nc, nb])
    body_jaxpr, cond_jaxpr = params['body_jaxpr'], params['cond_jaxpr']
    while True:  # unknown carries: a fixpoint over the body
        body_known, _, out_uk, num_res = pe.partial_eval_jaxpr(body_jaxpr, body_uk + carry_uk,
                                                                instantiate=carry_uk)
        if out_uk == carry_uk:
            break
        carry_uk = _or(carry_uk, out_uk)
    cond_known, _, (pred_uk,), cond_res = pe.partial_eval_jaxpr(cond_jaxpr, cond_uk + carry_uk)
    if pred_uk or all(carry_uk):
        return trace.stage(while_p, [trace.to_atom(x) for x in args], params)
    # Known carries come from a loop over the known part of the body, run now; the unknown ones
    # from the staged loop, which recomputes the known part (the trip count is not known ahead).
    known_args = [x for x, uk in zip(args, cond_uk + body_uk + carry_uk) if not uk]
    known_outs = core.bind_on(trace.parent, while_p, known_args, dict(
        params, body_jaxpr=_drop_outputs(body_known, num_res), body_nconsts=nb - sum(body_uk),
        cond_jaxpr=_drop_outputs(cond_known, cond_res), cond_nconsts=nc - sum(cond_uk)))
    if not any(carry_uk):
        return known_outs
    staged = trace.stage(while_p, [trace.to_atom(x) for x in args], params)
    known_it = iter(known_outs)
    return [x if uk else next(known_it) for x, uk in zip(staged, carry_uk)]


def _drop_outputs(closed, n):
    j = closed.jaxpr
    return ClosedJaxpr(pe.dce_jaxpr(Jaxpr(j.constvars, j.invars, j.outvars[:len(j.outvars) - n], j.eqns)),
                       closed.consts)


def _while_transpose(cts, *args, **params):
    raise ValueError(
        "Reverse-mode differentiation of while_loop is not supported: the number of iterations "
        "is not known before the loop runs, so the residuals of every iteration cannot be "
        "stored. Use fxad.lax.scan, or fxad.lax.fori_loop with a static trip count (Python int "
        "bounds), which lowers to scan. Forward mode (jvp, jacfwd) works through while_loop.")


while_p.impl = _while_impl
while_p.abstract_eval = _while_abstract_eval
while_p.jvp = _while_jvp
while_p.batch = _while_batch
while_p.partial_eval = _while_partial_eval
while_p.transpose = _while_transpose


def while_loop(cond_fun, body_fun, init_val):
    """Run `val = body_fun(val)` while cond_fun(val) is True; return the final val.

    body_fun must return the same tree structure, shapes and dtypes as init_val (a weakly typed
    Python scalar init takes the type the body gives it). Differentiable in forward mode only.
    """
    return _while_loop(cond_fun, body_fun, init_val, 'while_loop', 'init_val')


def _while_loop(cond_fun, body_fun, init_val, what, carry_name, carry_names=None):
    init, tree = tree_flatten(init_val)
    avals = _avals_of(init, f"{what} {carry_name}")
    names = carry_names or [carry_name + p for p in _leaf_paths(tree)]

    def body(*carry):
        out = body_fun(tree_unflatten(tree, list(carry)))
        leaves, out_tree = tree_flatten(out)
        if out_tree != tree:
            raise TypeError(f"{what} body_fun must return a value of the same tree structure as "
                            f"{carry_name}, but {carry_name} is {tree} and body_fun returned {out_tree}")
        return leaves
    body_jaxpr, body_consts, avals = _trace_loop_body(body, avals, [], names, f"{what} body_fun")
    init = [_to_aval(x, a) for x, a in zip(init, avals)]
    out_trees = []
    cond_jaxpr, cond_consts = _trace(_flatten_fun(cond_fun, treedef_tuple([tree]), out_trees), avals)
    pred_avals = cond_jaxpr.out_avals
    if (out_trees[-1].num_leaves != 1 or out_trees[-1].children() or pred_avals[0].shape != ()
            or pred_avals[0].dtype != dtypes.bool_):
        got = ', '.join(a.str_short() for a in pred_avals) or 'no value'
        raise TypeError(f"{what} cond_fun must return a boolean scalar, got {got}")
    outs = while_p.bind(*cond_consts, *body_consts, *init, body_jaxpr=body_jaxpr,
                        body_nconsts=len(body_consts), cond_jaxpr=cond_jaxpr,
                        cond_nconsts=len(cond_consts))
    return tree_unflatten(tree, outs)


# ---------------------------------------------------------------------------------------------
# scan: operands (*consts, *init, *xs); jaxpr maps (consts, carry, x slices) to (carry, y slices).

scan_p = Primitive('scan', multiple_results=True)


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry):
    consts, carry, xs = _split(args, [num_consts, num_carry])
    xs = [np.asarray(x) for x in xs]
    ys = [np.empty((length,) + a.shape, a.dtype) for a in jaxpr.out_avals[num_carry:]]
    body, body_consts = jaxpr.jaxpr, jaxpr.consts
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        out = core.eval_jaxpr(body, body_consts, *consts, *carry, *[x[i] for x in xs])
        carry = out[:num_carry]
        for y, value in zip(ys, out[num_carry:]):
            y[i] = value
    return [_numpy_out(x) for x in carry] + ys


def _scan_abstract_eval(*avals, jaxpr, length, reverse, num_consts, num_carry):
    consts, carry, xs = _split(avals, [num_consts, num_carry])
    x_avals = []
    for k, a in enumerate(xs):
        if not a.shape or a.shape[0] != length:
            raise TypeError(f"scan of length {length}: xs operand {k} has shape {a.shape}, "
                            f"expected a leading axis of size {length}")
        x_avals.append(a.update(shape=a.shape[1:]))
    core.check_operand_avals('scan jaxpr', jaxpr.in_avals, consts + carry + x_avals)
    out = jaxpr.out_avals
    for k, (a, b) in enumerate(zip(carry, out)):
        if _type_mismatch(a, b):
            raise TypeError(f"scan jaxpr maps carry {k} of type {a.str_short()} to {b.str_short()}")
    return carry + [a.update(shape=(length,) + a.shape) for a in out[num_carry:]]


def _scan_jvp(primals, tangents, *, jaxpr, length, reverse, num_consts, num_carry):
    consts, carry, xs = _split(primals, [num_consts, num_carry])
    consts_t, carry_t, xs_t = _split(tangents, [num_consts, num_carry])
    consts_nz = [type(t) is not Zero for t in consts_t]
    carry_nz = [type(t) is not Zero for t in carry_t]
    xs_nz = [type(t) is not Zero for t in xs_t]
    n_ys = len(jaxpr.out_avals) - num_carry
    while True:  # carries with a nonzero tangent: a fixpoint over the body
        jvp, out_nz = ad.jvp_jaxpr(jaxpr, consts_nz + carry_nz + xs_nz,
                                   instantiate=carry_nz + [False] * n_ys)
        if out_nz[:num_carry] == carry_nz:
            break
        carry_nz = _or(carry_nz, out_nz[:num_carry])
    ys_nz = out_nz[num_carry:]
    nc, nk, nx = len(consts), len(carry), len(xs)
    n_ct, n_kt, n_xt, n_yt = sum(consts_nz), sum(carry_nz), sum(xs_nz), sum(ys_nz)
    jvp = _reorder(jvp, _group_order([nc, nk, nx, n_ct, n_kt, n_xt], [0, 3, 1, 4, 2, 5]),
                   _group_order([nk, n_ys, n_kt, n_yt], [0, 2, 1, 3]))
    consts_t = [t for t in consts_t if type(t) is not Zero]
    carry_t = [ad.instantiate_zeros(t) for t, nz in zip(carry_t, carry_nz) if nz]
    xs_t = [t for t in xs_t if type(t) is not Zero]
    outs = scan_p.bind(*consts, *consts_t, *carry, *carry_t, *xs, *xs_t, jaxpr=jvp, length=length,
                       reverse=reverse, num_consts=nc + n_ct, num_carry=nk + n_kt)
    carry_out, carry_t_out, ys, ys_t = _split(outs, [nk, n_kt, n_ys])
    out_avals = [get_aval(x) for x in carry_out + ys]
    it = iter(carry_t_out + ys_t)
    return carry_out + ys, [next(it) if nz else Zero(ad.tangent_aval(a))
                            for nz, a in zip(carry_nz + ys_nz, out_avals)]


def _scan_batch(vals, dims, *, jaxpr, length, reverse, num_consts, num_carry):
    size = batching.batch_size(vals, dims)
    consts, carry, xs = _split(vals, [num_consts, num_carry])
    consts_dims, init_dims, xs_dims = _split(dims, [num_consts, num_carry])
    # A batched xs keeps its batch dim off axis 0, the scanned axis: slice dim = dim - 1.
    xs = [moveaxis(x, 0, 1) if d == 0 else x for x, d in zip(xs, xs_dims)]
    slice_dims = [None if d is None else max(d - 1, 0) for d in xs_dims]
    n_ys = len(jaxpr.out_avals) - num_carry
    carry_batched = [d is not None for d in init_dims]
    while True:  # carries that become batched: a fixpoint over the body
        carry_dims = [0 if b else None for b in carry_batched]
        batched, out_dims = batching.batch_jaxpr(jaxpr, size, consts_dims + carry_dims + slice_dims,
                                                 carry_dims + [None] * n_ys)
        new = _or(carry_batched, [d is not None for d in out_dims[:num_carry]])
        if new == carry_batched:
            break
        carry_batched = new
    carry = [batching.matchaxis(size, d, cd, x) for x, d, cd in zip(carry, init_dims, carry_dims)]
    outs = scan_p.bind(*consts, *carry, *xs, jaxpr=batched, length=length, reverse=reverse,
                       num_consts=num_consts, num_carry=num_carry)
    ys_dims = [None if d is None else d + 1 for d in out_dims[num_carry:]]
    return outs, carry_dims + ys_dims


def _scan_partial_eval(trace, args, params):
    jaxpr, num_consts, num_carry = params['jaxpr'], params['num_consts'], params['num_carry']
    unknowns = [trace.is_own(x) for x in args]
    consts_uk, carry_uk, xs_uk = _split(unknowns, [num_consts, num_carry])
    n_ys = len(jaxpr.out_avals) - num_carry
    while True:  # unknown carries: a fixpoint over the body
        jaxpr_known, jaxpr_unknown, out_uk, num_res = pe.partial_eval_jaxpr(
            jaxpr, consts_uk + carry_uk + xs_uk, instantiate=carry_uk + [False] * n_ys)
        if out_uk[:num_carry] == carry_uk:
            break
        carry_uk = _or(carry_uk, out_uk[:num_carry])
    ys_uk = out_uk[num_carry:]
    consts, carry, xs = _split(args, [num_consts, num_carry])
    known_consts = [x for x, uk in zip(consts, consts_uk) if not uk]
    # Residuals computed from the known consts alone are loop-invariant: computed once, outside
    # the loop, and passed to the unknown scan as consts. The others are stacked per iteration.
    invariant = _loop_invariant_outputs(jaxpr_known, len(known_consts), num_res)
    jk = jaxpr_known.jaxpr
    n_known_out = len(jk.outvars) - num_res
    res_vars = jk.outvars[n_known_out:]
    hoisted = Jaxpr(jk.constvars, jk.invars[:len(known_consts)],
                    [v for v, inv in zip(res_vars, invariant) if inv], jk.eqns)
    invariant_res = core.call_on(trace.parent, core.eval_jaxpr, pe.dce_jaxpr(hoisted),
                                 jaxpr_known.consts, *known_consts)
    body_known = ClosedJaxpr(pe.dce_jaxpr(Jaxpr(
        jk.constvars, jk.invars, jk.outvars[:n_known_out] + [v for v, inv in zip(res_vars, invariant) if not inv],
        jk.eqns)), jaxpr_known.consts)
    known_carry = [x for x, uk in zip(carry, carry_uk) if not uk]
    known_xs = [x for x, uk in zip(xs, xs_uk) if not uk]
    n_known_carry = num_carry - sum(carry_uk)
    known_outs = core.bind_on(trace.parent, scan_p, known_consts + known_carry + known_xs, dict(
        params, jaxpr=body_known, num_consts=len(known_consts), num_carry=n_known_carry))
    n_known_ys = n_ys - sum(ys_uk)
    known_carry_out, known_ys, stacked_res = _split(known_outs, [n_known_carry, n_known_ys])
    unknown_outs = []
    if any(out_uk):
        n_inv = len(invariant_res)
        n_uc, n_uk = sum(consts_uk), sum(carry_uk)
        # jaxpr_unknown takes (residuals, unknown consts, carries, xs); its invariant residuals
        # move among the consts and the stacked ones among the xs.
        n_res = len(invariant)
        order = ([i for i, inv in enumerate(invariant) if inv] + list(range(n_res, n_res + n_uc + n_uk))
                 + [i for i, inv in enumerate(invariant) if not inv]
                 + list(range(n_res + n_uc + n_uk, len(jaxpr_unknown.in_avals))))
        body_unknown = _reorder(jaxpr_unknown, order)
        unknown_args = (list(invariant_res) + [x for x, uk in zip(consts, consts_uk) if uk]
                        + [x for x, uk in zip(carry, carry_uk) if uk] + list(stacked_res)
                        + [x for x, uk in zip(xs, xs_uk) if uk])
        unknown_outs = trace.stage(scan_p, [trace.to_atom(x) for x in unknown_args], dict(
            params, jaxpr=body_unknown, num_consts=n_inv + n_uc, num_carry=n_uk))
    known_it = iter(known_carry_out + known_ys)
    unknown_it = iter(unknown_outs)
    return [next(unknown_it) if uk else next(known_it) for uk in carry_uk + ys_uk]


def _loop_invariant_outputs(closed, n_consts, num_res):
    """For each of the last num_res outputs: does it depend only on the first n_consts inputs?"""
    j = closed.jaxpr
    variant = set(j.invars[n_consts:])
    for eqn in j.eqns:
        if any(type(v) is Var and v in variant for v in eqn.invars):
            variant.update(eqn.outvars)
    return [not (type(v) is Var and v in variant) for v in j.outvars[len(j.outvars) - num_res:]]


def _scan_transpose(cts, *args, jaxpr, length, reverse, num_consts, num_carry):
    consts, init, xs = _split(args, [num_consts, num_carry])
    # Carries are linear (an init given as a value is a known zero tangent, as in JAX).
    consts_lin = [ad.is_undefined_primal(x) for x in consts]
    xs_lin = [ad.is_undefined_primal(x) for x in xs]
    res_consts = [x for x, lin in zip(consts, consts_lin) if not lin]
    res_xs = [x for x, lin in zip(xs, xs_lin) if not lin]
    ct_carry, ct_ys = _split([ad.instantiate_zeros(ct) for ct in cts], [num_carry])
    body_t = _transposed_scan_body(jaxpr, consts_lin, xs_lin, num_carry)
    lin_avals = [x.aval for x, lin in zip(consts, consts_lin) if lin]
    outs = scan_p.bind(*res_consts, *[_zeros(a) for a in lin_avals], *ct_carry, *res_xs, *ct_ys,
                       jaxpr=body_t, length=length, reverse=not reverse, num_consts=len(res_consts),
                       num_carry=len(lin_avals) + num_carry)
    ct_consts, ct_init, ct_xs = _split(outs, [len(lin_avals), num_carry])
    ct_consts, ct_xs = iter(ct_consts), iter(ct_xs)
    return ([next(ct_consts) if lin else None for lin in consts_lin]
            + [ct if ad.is_undefined_primal(x) else None for x, ct in zip(init, ct_init)]
            + [next(ct_xs) if lin else None for lin in xs_lin])


def _transposed_scan_body(jaxpr, consts_lin, xs_lin, num_carry):
    """(res consts; ct accumulators of linear consts, ct carry; res xs, ct ys) -> the same carries
    and the cts of the linear xs: one step of the backward loop."""
    transposed = ad.transpose_jaxpr(jaxpr, consts_lin + [True] * num_carry + xs_lin)
    consts_avals, carry_avals, xs_avals = _split(jaxpr.in_avals, [len(consts_lin), num_carry])
    res_consts_avals = [a for a, lin in zip(consts_avals, consts_lin) if not lin]
    lin_consts_avals = [ad.tangent_aval(a) for a, lin in zip(consts_avals, consts_lin) if lin]
    res_xs_avals = [a for a, lin in zip(xs_avals, xs_lin) if not lin]
    ys_avals = [ad.tangent_aval(a) for a in jaxpr.out_avals[num_carry:]]
    n_rc, n_lc, n_rx = len(res_consts_avals), len(lin_consts_avals), len(res_xs_avals)

    def step(*args):
        res_c, acc, ct_carry, res_x, ct_y = _split(args, [n_rc, n_lc, num_carry, n_rx])
        ct_consts, ct_carry_in, ct_xs = _split(_eval(transposed, *res_c, *res_x, *ct_carry, *ct_y),
                                               [n_lc, num_carry])
        return [ad.add_tangents(a, c) for a, c in zip(acc, ct_consts)] + ct_carry_in + ct_xs
    in_avals = (res_consts_avals + lin_consts_avals + [ad.tangent_aval(a) for a in carry_avals]
                + res_xs_avals + ys_avals)
    return _trace(step, in_avals)[0]


scan_p.impl = _scan_impl
scan_p.abstract_eval = _scan_abstract_eval
scan_p.jvp = _scan_jvp
scan_p.batch = _scan_batch
scan_p.partial_eval = _scan_partial_eval
scan_p.transpose = _scan_transpose


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop f(carry, x) -> (carry, y) over the leading axis of xs; return (carry, stacked ys).

    Like `for x in xs: carry, y = f(carry, x)` with the ys stacked, as one primitive: it is
    differentiable in both modes, batches under vmap and stages as one equation under jit.
    `unroll` is accepted for JAX compatibility; a positive int or bool changes nothing here
    (there is no compiler to unroll for).
    """
    _check_unroll(unroll, 'scan')
    return _scan(f, init, xs, length, reverse, 'scan', 'carry')


def _check_unroll(unroll, what):
    if unroll is not None and not (isinstance(unroll, (bool, int)) and unroll >= 0):
        raise TypeError(f"{what}: unroll must be a non-negative int or a bool, got {unroll!r}")


def _scan(f, init, xs, length, reverse, what, carry_name, carry_names=None):
    init_leaves, carry_tree = tree_flatten(init)
    xs_leaves, xs_tree = tree_flatten(xs)
    carry_avals = _avals_of(init_leaves, f"{what} init")
    xs_avals = _avals_of(xs_leaves, f"{what} xs")
    length = _scan_length(xs_avals, xs_tree, length, what)
    names = carry_names or [carry_name + p for p in _leaf_paths(carry_tree)]
    n = len(init_leaves)
    y_trees = []

    def body(*args):
        out = f(tree_unflatten(carry_tree, list(args[:n])), tree_unflatten(xs_tree, list(args[n:])))
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"{what} body function must return a pair (carry, y), got "
                            f"{type(out).__name__}")
        carry_leaves, out_tree = tree_flatten(out[0])
        if out_tree != carry_tree:
            raise TypeError(f"{what} body function must return a carry of the same tree structure "
                            f"as its input, but the input {carry_name} is {carry_tree} and the "
                            f"output carry is {out_tree}")
        y_leaves, y_tree = tree_flatten(out[1])
        y_trees.append(y_tree)
        return carry_leaves + y_leaves
    slice_avals = [a.update(shape=a.shape[1:]) for a in xs_avals]
    jaxpr, consts, carry_avals = _trace_loop_body(body, carry_avals, slice_avals, names,
                                                  f"{what} body function")
    init_leaves = [_to_aval(x, a) for x, a in zip(init_leaves, carry_avals)]
    outs = scan_p.bind(*consts, *init_leaves, *xs_leaves, jaxpr=jaxpr, length=length,
                       reverse=bool(reverse), num_consts=len(consts), num_carry=n)
    return tree_unflatten(carry_tree, outs[:n]), tree_unflatten(y_trees[-1], outs[n:])


def _scan_length(xs_avals, xs_tree, length, what):
    paths = _leaf_paths(xs_tree)
    for p, a in zip(paths, xs_avals):
        if not a.shape:
            raise ValueError(f"{what}: xs{p} is a scalar, but every leaf of xs must have a leading "
                             f"axis to scan over")
    sizes = sorted(set(a.shape[0] for a in xs_avals))
    if len(sizes) > 1:
        raise ValueError(f"{what} got values with different leading axis sizes: "
                         + ', '.join(f"xs{p} has {a.shape[0]}" for p, a in zip(paths, xs_avals)))
    if length is not None:
        length = core.concrete_or_none(length)
        if length is None or int(length) != length or length < 0:
            raise TypeError(f"{what}: length must be a concrete non-negative integer, got {length!r}")
        length = int(length)
        if sizes and sizes[0] != length:
            raise ValueError(f"{what} got length={length}, which disagrees with the leading axis "
                             f"size {sizes[0]} of xs")
        return length
    if not sizes:
        raise ValueError(f"{what} needs xs with a leading axis or an explicit length")
    return sizes[0]


# ---------------------------------------------------------------------------------------------
# fori_loop: a scan when the trip count is static (so it is reverse-differentiable), else a while.


def fori_loop(lower, upper, body_fun, init_val, unroll=None):
    """val = body_fun(i, val) for i in range(lower, upper); returns the final val.

    With concrete bounds (Python ints, or values known at trace time) this is a scan, and
    differentiable in both modes; with traced bounds it is a while_loop (forward mode only).
    `unroll` is accepted for JAX compatibility and changes nothing.
    """
    _check_unroll(unroll, 'fori_loop')
    lo_aval = _check_scalar_index(lower, "fori_loop's lower bound", 'iu')
    hi_aval = _check_scalar_index(upper, "fori_loop's upper bound", 'iu')
    dtype, weak = dtypes.result_type((lo_aval.dtype, lo_aval.weak_type), (hi_aval.dtype, hi_aval.weak_type))
    one = 1 if weak else np.ones((), dtype)[()]
    init_leaves, tree = tree_flatten(init_val)
    names = ['the loop index'] + ['init_val' + p for p in _leaf_paths(tree)]

    def step(i, x):
        out = body_fun(i, x)
        out_tree = tree_flatten(out)[1]
        if out_tree != tree:
            raise TypeError(f"fori_loop body_fun must return a value of the same tree structure "
                            f"as init_val, but init_val is {tree} and body_fun returned {out_tree}")
        return add(i, one), out

    lo, hi = core.concrete_or_none(lower), core.concrete_or_none(upper)
    lower = convert_element_type(lower, dtype, weak)
    if lo is not None and hi is not None:
        length = max(int(hi) - int(lo), 0)
        (_, val), _ = _scan(lambda c, _: (step(*c), None), (lower, init_val), None, length, False,
                            'fori_loop', 'init_val', names)
        return val
    upper = convert_element_type(upper, dtype, weak)

    def while_body(c):
        i, val = step(c[0], c[2])
        return i, c[1], val
    _, _, val = _while_loop(lambda c: lt(c[0], c[1]), while_body, (lower, upper, init_val), 'fori_loop',
                            'init_val', names[:1] + ['the upper bound'] + names[1:])
    return val


def map(f, xs):
    """f applied to each slice of xs along its leading axis (a scan without a carry), stacked."""
    _, ys = scan(lambda carry, x: (carry, f(x)), (), xs)
    return ys
