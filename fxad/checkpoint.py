"""checkpoint (remat): trade computation for memory in reverse mode.

A checkpointed function is traced into one `checkpoint` equation. Its partial-evaluation rule
(JAX's remat partial eval) stores only the equation's known inputs as residuals and stages the
whole differentiated body as unknown, so the backward pass recomputes the intermediates from
those inputs instead of keeping them from the forward pass. A policy may name equations whose
outputs are worth saving anyway.
"""
import functools

from . import core
from .api import _static_argnums_tuple, trace_call
from .core import ClosedJaxpr, Jaxpr, Primitive, Var
from .interpreters import ad, batching
from .interpreters import partial_eval as pe
from .interpreters.ad import Zero
from .tree_util import tree_unflatten

__all__ = ['checkpoint', 'remat', 'checkpoint_policies']


def checkpoint(fun, prevent_cse=True, policy=None, static_argnums=()):
    """fun, with its intermediate values recomputed in the backward pass instead of stored.

    policy(primitive, *in_avals, **params) -> bool says which equations' outputs may be saved
    (see checkpoint_policies); None saves nothing but the inputs. prevent_cse is kept for JAX
    compatibility (fxad does no common-subexpression elimination).
    """
    static_argnums = _static_argnums_tuple(static_argnums)

    @functools.wraps(fun)
    def checkpointed(*args, **kwargs):
        jaxpr, consts, flat, out_tree = trace_call(fun, args, kwargs, static_argnums, 'checkpoint')
        closed, hoisted = pe.convert_tracer_consts(jaxpr, consts)
        outs = checkpoint_p.bind(*hoisted, *flat, jaxpr=closed, prevent_cse=prevent_cse,
                                 policy=policy)
        return tree_unflatten(out_tree, outs)
    return checkpointed


remat = checkpoint


class checkpoint_policies:
    """Policies for checkpoint: policy(primitive, *in_avals, **params) -> may save its outputs."""

    @staticmethod
    def nothing_saveable(prim, *avals, **params):
        return False

    @staticmethod
    def everything_saveable(prim, *avals, **params):
        return True

    @staticmethod
    def dots_saveable(prim, *avals, **params):
        return prim.name == 'dot_general'

    checkpoint_dots = dots_saveable


# ---------------------------------------------------------------------------------------------
# The checkpoint primitive

checkpoint_p = Primitive('checkpoint', multiple_results=True)


def _checkpoint_impl(*args, jaxpr, prevent_cse, policy):
    return core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *args)


def _checkpoint_abstract_eval(*avals, jaxpr, prevent_cse, policy):
    core.check_operand_avals('checkpoint', jaxpr.in_avals, avals)
    return jaxpr.out_avals


def _checkpoint_jvp(primals, tangents, *, jaxpr, prevent_cse, policy):
    nonzeros = [type(t) is not Zero for t in tangents]
    jvp_closed, out_nz = ad.jvp_jaxpr(jaxpr, nonzeros)
    outs = checkpoint_p.bind(*primals, *[t for t in tangents if type(t) is not Zero],
                             jaxpr=jvp_closed, prevent_cse=prevent_cse, policy=policy)
    n = len(jaxpr.out_avals)
    tangents_out = iter(outs[n:])
    return outs[:n], [next(tangents_out) if nz else Zero(ad.tangent_aval(a))
                      for nz, a in zip(out_nz, jaxpr.out_avals)]


def _checkpoint_batch(vals, dims, *, jaxpr, prevent_cse, policy):
    size = batching.batch_size(vals, dims)
    batched, out_dims = batching.batch_jaxpr(jaxpr, size, dims, [None] * len(jaxpr.out_avals))
    return checkpoint_p.bind(*vals, jaxpr=batched, prevent_cse=prevent_cse, policy=policy), out_dims


def _checkpoint_partial_eval(trace, args, params):
    """Known outputs now; unknown ones by a staged equation that recomputes from the inputs."""
    jaxpr = params['jaxpr']
    unknowns = [trace.is_own(x) for x in args]
    known, recompute, out_unknowns, known_used, num_saved = _remat_split(
        jaxpr.jaxpr, unknowns, params['policy'])
    known_args = [x for x, uk in zip(args, unknowns) if not uk]
    known_outs = core.bind_on(trace.parent, checkpoint_p, known_args,
                              dict(params, jaxpr=ClosedJaxpr(known, jaxpr.consts)))
    n_known = len(known_outs) - num_saved
    saved = known_outs[n_known:]
    residuals = [x for x, used in zip(known_args, known_used) if used] + saved
    unknown_args = [x for x, uk in zip(args, unknowns) if uk]
    unknown_outs = trace.stage(checkpoint_p, [trace.to_atom(x) for x in residuals + unknown_args],
                               dict(params, jaxpr=ClosedJaxpr(recompute, jaxpr.consts)))
    known_it, unknown_it = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_it) if uk else next(known_it) for uk in out_unknowns]


def _remat_split(jaxpr, unknowns, policy):
    """Split a jaxpr by unknown inputs, recomputing known values the unknown part needs.

    Returns (known, recompute, out_unknowns, known_used, num_saved):
      known      (known inputs) -> known outputs + saved values
      recompute  (used known inputs, saved values, unknown inputs) -> unknown outputs
    Saved values are outputs of known equations the policy allows saving and the unknown part
    uses; every other known value it uses is recomputed from the known inputs.
    """
    unknown = {v for v, uk in zip(jaxpr.invars, unknowns) if uk}
    saveable = set()
    for eqn in jaxpr.eqns:
        if any(type(v) is Var and v in unknown for v in eqn.invars):
            unknown.update(eqn.outvars)
        elif policy is not None and policy(eqn.primitive, *[v.aval for v in eqn.invars], **eqn.params):
            saveable.update(eqn.outvars)
    out_unknowns = [type(v) is Var and v in unknown for v in jaxpr.outvars]

    live = {v for v, uk in zip(jaxpr.outvars, out_unknowns) if uk}
    recompute_eqns = []
    for eqn in reversed(jaxpr.eqns):
        if not any(v in live for v in eqn.outvars) or eqn.outvars[0] in saveable:
            continue
        recompute_eqns.append(eqn)
        live.update(v for v in eqn.invars if type(v) is Var)
    recompute_eqns.reverse()
    saved = [v for eqn in jaxpr.eqns for v in eqn.outvars if v in saveable and v in live]
    known_in = [v for v, uk in zip(jaxpr.invars, unknowns) if not uk]
    known_used = [v in live for v in known_in]
    unknown_in = [v for v, uk in zip(jaxpr.invars, unknowns) if uk]
    recompute = Jaxpr(jaxpr.constvars, [v for v in known_in if v in live] + saved + unknown_in,
                      [v for v, uk in zip(jaxpr.outvars, out_unknowns) if uk], recompute_eqns)
    known_eqns = [e for e in jaxpr.eqns if not any(v in unknown for v in e.outvars)]
    known_outs = [v for v, uk in zip(jaxpr.outvars, out_unknowns) if not uk] + saved
    known = pe.dce_jaxpr(Jaxpr(jaxpr.constvars, known_in, known_outs, known_eqns))
    return known, recompute, out_unknowns, known_used, len(saved)


def _checkpoint_transpose(cts, *args, jaxpr, prevent_cse, policy):
    # The transposed body runs the non-linear (recomputation) equations forward first.
    return ad.transpose_call(checkpoint_p, cts, args, jaxpr, prevent_cse=prevent_cse, policy=policy)


checkpoint_p.impl = _checkpoint_impl
checkpoint_p.abstract_eval = _checkpoint_abstract_eval
checkpoint_p.jvp = _checkpoint_jvp
checkpoint_p.batch = _checkpoint_batch
checkpoint_p.partial_eval = _checkpoint_partial_eval
checkpoint_p.transpose = _checkpoint_transpose
