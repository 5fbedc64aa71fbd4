"""The `jit` call primitive: a closed jaxpr run as one equation, with a rule per transformation.

Each rule transforms the sub-jaxpr (jvp_jaxpr, batch_jaxpr, partial_eval_jaxpr,
transpose_jaxpr) and binds `jit` again, so transformed jitted code stays one jit equation.
"""
from .. import core
from ..core import Primitive
from ..interpreters import ad, batching
from ..interpreters import partial_eval as pe
from ..interpreters.ad import Zero

jit_p = Primitive('jit', multiple_results=True)


def _jit_impl(*args, name, jaxpr):
    return core.eval_jaxpr_impl(jaxpr.jaxpr, jaxpr.consts, *args)


def _jit_abstract_eval(*avals, name, jaxpr):
    core.check_operand_avals(f"jit '{name}'", jaxpr.in_avals, avals, 'argument')
    return jaxpr.out_avals


def _jit_jvp(primals, tangents, *, name, jaxpr):
    nonzeros = [type(t) is not Zero for t in tangents]
    jvp_closed, out_nz = ad.jvp_jaxpr(jaxpr, nonzeros)
    nz_tangents = [t for t in tangents if type(t) is not Zero]
    outs = jit_p.bind(*primals, *nz_tangents, name=name, jaxpr=jvp_closed)
    n = len(jaxpr.out_avals)
    primals_out = outs[:n]
    it = iter(outs[n:])
    tangents_out = [next(it) if nz else Zero(ad.tangent_aval(a))
                    for nz, a in zip(out_nz, jaxpr.out_avals)]
    return primals_out, tangents_out


def _jit_batch(vals, dims, *, name, jaxpr):
    size = batching.batch_size(vals, dims)
    batched, out_dims = batching.batch_jaxpr(jaxpr, size, dims, [None] * len(jaxpr.out_avals))
    return jit_p.bind(*vals, name=name, jaxpr=batched), out_dims


def _jit_partial_eval(trace, args, params):
    name, jaxpr = params['name'], params['jaxpr']
    unknowns = [trace.is_own(x) for x in args]
    jaxpr_known, jaxpr_unknown, out_unknowns, num_res = pe.partial_eval_jaxpr(jaxpr, unknowns)
    known_args = [x for x, uk in zip(args, unknowns) if not uk]
    known_outs = core.bind_on(trace.parent, jit_p, known_args, {'name': name, 'jaxpr': jaxpr_known})
    n_known_out = len(known_outs) - num_res
    residuals = known_outs[n_known_out:]
    unknown_args = [x for x, uk in zip(args, unknowns) if uk]
    unknown_outs = trace.stage(jit_p, [trace.to_atom(x) for x in residuals + unknown_args],
                               {'name': name, 'jaxpr': jaxpr_unknown})
    known_it, unknown_it = iter(known_outs[:n_known_out]), iter(unknown_outs)
    return [next(unknown_it) if uk else next(known_it) for uk in out_unknowns]


def _jit_transpose(cts, *args, name, jaxpr):
    return ad.transpose_call(jit_p, cts, args, jaxpr, name=f"transpose({name})")


jit_p.impl = _jit_impl
jit_p.abstract_eval = _jit_abstract_eval
jit_p.jvp = _jit_jvp
jit_p.batch = _jit_batch
jit_p.partial_eval = _jit_partial_eval
jit_p.transpose = _jit_transpose
