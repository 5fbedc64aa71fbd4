"""Automatic differentiation: forward mode (the JVP trace) and transposition (the backward pass).

Reverse mode is JAX's: jvp, partial evaluation of the tangent part (`linearize`), then a
backward pass over the linear jaxpr with a transpose rule per linear primitive. No tape.
Symbolic zeros (`Zero`) stand for tangents and cotangents that are known to be zero.
"""
import numpy as np

from .. import core, dtypes
from ..core import Primitive, ShapedArray, Trace, Tracer, get_aval
from . import partial_eval as pe

# ---------------------------------------------------------------------------------------------
# Symbolic zeros and tangent arithmetic


class Zero:
    """A tangent or cotangent known to be zero, with the aval it stands for."""
    __slots__ = ('aval',)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


def zeros_like_aval(aval):
    """Materialized zeros of an aval (float0 for integer and boolean values)."""
    dtype = aval.dtype if dtypes.is_float(aval.dtype) else dtypes.float0
    return zeros_maker(aval.shape, dtype)


def _numpy_zeros(shape, dtype):
    return np.zeros(shape, dtype)


# fxad.lax replaces this with a broadcast of a scalar literal, as JAX stages zeros.
zeros_maker = _numpy_zeros


def instantiate_zeros(t):
    return zeros_like_aval(t.aval) if type(t) is Zero else t


def tangent_aval(aval):
    """Tangents of float values share their dtype; integers and booleans have none (float0)."""
    if dtypes.is_float(aval.dtype):
        return ShapedArray(aval.shape, aval.dtype, aval.weak_type)
    return ShapedArray(aval.shape, dtypes.float0)


def _add_any_abstract_eval(x, y):
    # Batching may pair a rank-0 operand with an array (the elementwise scalar rule).
    return y if not x.shape and y.shape else x


add_any_p = Primitive('add_any')
add_any_p.impl = np.add
add_any_p.abstract_eval = _add_any_abstract_eval


def add_tangents(x, y):
    if type(x) is Zero:
        return y
    if type(y) is Zero:
        return x
    return add_any_p.bind(x, y)


# ---------------------------------------------------------------------------------------------
# The JVP trace


class JVPTracer(Tracer):
    __slots__ = ('primal', 'tangent')

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    def to_concrete_value(self):
        p = self.primal
        return p.to_concrete_value() if isinstance(p, Tracer) else p


class JVPTrace(Trace):
    """Carries (primal, tangent) pairs; rules run on the parent trace."""
    __slots__ = ()

    def process_primitive(self, primitive, args, params):
        primals = []
        tangents = []
        own = False
        for x in args:
            if type(x) is JVPTracer and x._trace is self:
                primals.append(x.primal)
                tangents.append(x.tangent)
                own = True
            else:
                primals.append(x)
                tangents.append(None)
        if not own:
            return self.parent.process_primitive(primitive, args, params)
        for i, t in enumerate(tangents):
            if t is None:
                tangents[i] = Zero(get_aval(args[i]))
        rule = primitive.jvp
        if rule is None:
            if primitive.nondifferentiable:
                return core.bind_on(self.parent, primitive, primals, params)
            raise NotImplementedError(f"Differentiation rule for '{primitive.name}' not implemented")
        prev = core._state.trace
        core._state.trace = self.parent
        try:
            primal_out, tangent_out = rule(primals, tangents, **params)
        finally:
            core._state.trace = prev
        if primitive.multiple_results:
            return [p if type(t) is Zero else JVPTracer(self, p, t)
                    for p, t in zip(primal_out, tangent_out)]
        return primal_out if type(tangent_out) is Zero else JVPTracer(self, primal_out, tangent_out)

    def unpack(self, x):
        """(primal, tangent) of a value seen from this trace."""
        if type(x) is JVPTracer and x._trace is self:
            return x.primal, x.tangent
        return x, Zero(tangent_aval(get_aval(x)))


def jvp_flat(fun, primals, tangents):
    """fun on flat lists; tangents may be Zero. Returns (primals_out, tangents_out) with Zeros."""
    trace = JVPTrace(core.current_trace())
    in_tracers = [p if type(t) is Zero else JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
    try:
        with core.set_current_trace(trace):
            outs = fun(*in_tracers)
        pairs = [trace.unpack(x) for x in outs]
    finally:
        trace.invalidate()
    return [p for p, _ in pairs], [t for _, t in pairs]


# ---------------------------------------------------------------------------------------------
# Rule helpers for primitive families


def defjvp(primitive, *jvp_fns):
    """One function per operand: jvp_fn(tangent, *primals, **params) -> output tangent."""
    def rule(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        tangent_out = None
        for fn, t in zip(jvp_fns, tangents):
            if fn is None or type(t) is Zero:
                continue
            contribution = fn(t, *primals, **params)
            tangent_out = contribution if tangent_out is None else add_tangents(tangent_out, contribution)
        if tangent_out is None:
            tangent_out = Zero(tangent_aval(get_aval(out)))
        return out, tangent_out
    primitive.jvp = rule


def defjvp2(primitive, *jvp_fns):
    """Like defjvp, but each fn also sees the output: jvp_fn(tangent, ans, *primals, **params)."""
    def rule(primals, tangents, **params):
        ans = primitive.bind(*primals, **params)
        tangent_out = None
        for fn, t in zip(jvp_fns, tangents):
            if fn is None or type(t) is Zero:
                continue
            contribution = fn(t, ans, *primals, **params)
            tangent_out = contribution if tangent_out is None else add_tangents(tangent_out, contribution)
        if tangent_out is None:
            tangent_out = Zero(tangent_aval(get_aval(ans)))
        return ans, tangent_out
    primitive.jvp = rule


def defjvp_zero(primitive):
    """A primitive whose output does not depend differentiably on its inputs."""
    primitive.nondifferentiable = True
    primitive.jvp = None


def deflinear(primitive, transpose_rule):
    """A primitive linear in all its operands: its JVP is itself applied to the tangents."""
    def rule(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            if primitive.multiple_results:
                return out, [Zero(tangent_aval(get_aval(o))) for o in out]
            return out, Zero(tangent_aval(get_aval(out)))
        return out, primitive.bind(*[instantiate_zeros(t) for t in tangents], **params)
    primitive.jvp = rule
    primitive.transpose = transpose_rule


# ---------------------------------------------------------------------------------------------
# Transposition


class UndefinedPrimal:
    """Marks a linear input of a linear jaxpr during the backward pass."""
    __slots__ = ('aval',)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined_primal(x):
    return type(x) is UndefinedPrimal


class NonLinearError(TypeError):
    """Raised when a jaxpr to transpose uses a linear value non-linearly."""


def backward_pass(jaxpr, consts, args, cotangents_out):
    """Transpose a jaxpr linear in the inputs given as UndefinedPrimal.

    `args` are values (non-linear inputs) or UndefinedPrimal (linear inputs); `cotangents_out`
    may hold Zero. Returns one cotangent (possibly Zero) per arg, None for non-linear ones.
    Non-linear equations run forward first; linear ones are transposed in reverse order.
    """
    env = dict(zip(jaxpr.constvars, consts))
    linear_vars = set()
    for v, x in zip(jaxpr.invars, args):
        if type(x) is UndefinedPrimal:
            linear_vars.add(v)
        else:
            env[v] = x
    Literal = core.Literal
    linear_eqns = []
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            if type(v) is not Literal and v in linear_vars:
                outs = eqn.outvars
                if outs and outs[0].aval.dtype.kind not in 'fc' and not any(
                        dtypes.is_float(o.aval.dtype) for o in outs):
                    raise NonLinearError(
                        f"Cannot transpose: primitive '{eqn.primitive.name}' turns a linear input "
                        f"into a {eqn.outvars[0].aval.str_short()} value, which no linear "
                        f"function does. The function is not linear in the inputs being "
                        f"transposed.")
                linear_eqns.append(eqn)
                linear_vars.update(eqn.outvars)
                break
        else:
            invals = [v.val if type(v) is Literal else env[v] for v in eqn.invars]
            out = eqn.primitive.bind(*invals, **eqn.params)
            if eqn.primitive.multiple_results:
                env.update(zip(eqn.outvars, out))
            else:
                env[eqn.outvars[0]] = out

    ct_env = {}
    for v, ct in zip(jaxpr.outvars, cotangents_out):
        _write_ct(ct_env, linear_vars, v, ct)
    for eqn in reversed(linear_eqns):
        prim = eqn.primitive
        if prim.multiple_results:
            cts = [ct_env.pop(v, None) for v in eqn.outvars]
            if all(ct is None for ct in cts):
                continue
            cts = [Zero(tangent_aval(v.aval)) if ct is None else ct for v, ct in zip(eqn.outvars, cts)]
        else:
            cts = ct_env.pop(eqn.outvars[0], None)
            if cts is None:
                continue
        invals = []
        for v in eqn.invars:
            if type(v) is Literal:
                invals.append(v.val)
            elif v in linear_vars:
                invals.append(UndefinedPrimal(v.aval))
            else:
                invals.append(env[v])
        rule = prim.transpose
        if rule is None:
            raise NonLinearError(
                f"Cannot transpose: primitive '{prim.name}' is applied to a linear input, but it "
                f"is not linear (it has no transpose rule). The function is not linear in the "
                f"inputs being transposed.")
        cts_in = rule(cts, *invals, **eqn.params)
        for v, ct in zip(eqn.invars, cts_in):
            if ct is not None and type(ct) is not Zero and type(v) is not Literal and v in linear_vars:
                prev = ct_env.get(v)
                ct_env[v] = ct if prev is None else add_tangents(prev, ct)
    results = []
    for v, x in zip(jaxpr.invars, args):
        if type(x) is UndefinedPrimal:
            ct = ct_env.get(v)
            results.append(Zero(x.aval) if ct is None else ct)
        else:
            results.append(None)
    return results


def _write_ct(ct_env, linear_vars, v, ct):
    if type(v) is core.Literal or v not in linear_vars or ct is None or type(ct) is Zero:
        return
    prev = ct_env.get(v)
    ct_env[v] = ct if prev is None else add_tangents(prev, ct)


def linear_error(primitive_name):
    return NonLinearError(
        f"Cannot transpose '{primitive_name}': it multiplies two linear values. The function is "
        f"not linear in the inputs being transposed.")


# ---------------------------------------------------------------------------------------------
# Linearize: jvp with unknown tangents under partial evaluation


def linearize_flat(fun, primals):
    """Run fun's primal computation now and stage its tangent computation.

    Returns (primals_out, linear_jaxpr, residuals, out_tangent_is_zero). The linear jaxpr takes
    one tangent per primal and returns the nonzero output tangents.
    """
    pe_trace = pe.PartialEvalTrace(core.current_trace())
    tangent_in = [pe_trace.new_arg(tangent_aval(get_aval(p))) for p in primals]
    jvp_trace = JVPTrace(pe_trace)
    in_tracers = [p if not dtypes.is_float(get_aval(p).dtype) else JVPTracer(jvp_trace, p, t)
                  for p, t in zip(primals, tangent_in)]
    try:
        with core.set_current_trace(jvp_trace):
            outs = fun(*in_tracers)
        pairs = [jvp_trace.unpack(x) for x in outs]
    finally:
        jvp_trace.invalidate()
    primals_out = [p for p, _ in pairs]
    tangents_out = [t for _, t in pairs]
    zero_out = [type(t) is Zero for t in tangents_out]
    try:
        jaxpr, residuals = pe_trace.builder.to_jaxpr(
            pe_trace, [t for t, z in zip(tangents_out, zero_out) if not z])
    finally:
        pe_trace.invalidate()
    return primals_out, jaxpr, residuals, zero_out


# ---------------------------------------------------------------------------------------------
# Jaxpr-to-jaxpr transformations used by higher-order primitives (jit, control flow)


def jvp_jaxpr(closed, nonzeros, instantiate=False):
    """The JVP of a closed jaxpr: (primals, nonzero tangents) -> (primals_out, tangents_out).

    Returns (closed_jvp_jaxpr, out_nonzeros). With instantiate=True every output tangent is
    materialized (out_nonzeros all True).
    """
    in_avals = closed.in_avals
    tangent_avals = [tangent_aval(a) for a, nz in zip(in_avals, nonzeros) if nz]
    n = len(in_avals)
    out_nz_box = []

    def fun(*args):
        primals = list(args[:n])
        it = iter(args[n:])
        tangents = [next(it) if nz else Zero(tangent_aval(a)) for a, nz in zip(in_avals, nonzeros)]
        primals_out, tangents_out = jvp_flat(core.jaxpr_as_fun(closed), primals, tangents)
        inst = instantiate if isinstance(instantiate, (list, tuple)) else [instantiate] * len(tangents_out)
        tangents_out = [instantiate_zeros(t) if i and type(t) is Zero else t
                        for t, i in zip(tangents_out, inst)]
        out_nz_box.append([type(t) is not Zero for t in tangents_out])
        return primals_out + [t for t in tangents_out if type(t) is not Zero]

    jaxpr, consts = pe.trace_to_jaxpr(fun, list(in_avals) + tangent_avals)
    closed_jvp, hoisted = pe.convert_tracer_consts(jaxpr, consts)
    assert not hoisted, "closed jaxprs hold no tracers"
    return closed_jvp, out_nz_box[0]


def transpose_jaxpr(closed, linear_flags):
    """(non-linear inputs, output cotangents) -> cotangents of the linear inputs."""
    in_avals = closed.in_avals
    nonlin_avals = [a for a, lin in zip(in_avals, linear_flags) if not lin]
    out_avals = closed.out_avals
    k = len(nonlin_avals)

    def fun(*args):
        nonlin = iter(args[:k])
        cts_out = list(args[k:])
        primal_args = [UndefinedPrimal(a) if lin else next(nonlin)
                       for a, lin in zip(in_avals, linear_flags)]
        cts = backward_pass(closed.jaxpr, closed.consts, primal_args, cts_out)
        return [instantiate_zeros(ct) for ct, lin in zip(cts, linear_flags) if lin]

    jaxpr, consts = pe.trace_to_jaxpr(fun, nonlin_avals + [tangent_aval(a) for a in out_avals])
    closed_t, hoisted = pe.convert_tracer_consts(jaxpr, consts)
    assert not hoisted, "closed jaxprs hold no tracers"
    return closed_t


def transpose_call(primitive, cts, args, jaxpr, **params):
    """The transpose rule of a call-like primitive (jit, checkpoint): bind it again on the
    non-linear operands and the cotangents, with its sub-jaxpr transposed."""
    linear = [is_undefined_primal(x) for x in args]
    transposed = transpose_jaxpr(jaxpr, linear)
    cts_in = iter(primitive.bind(*[x for x, lin in zip(args, linear) if not lin],
                                 *[instantiate_zeros(ct) for ct in cts], jaxpr=transposed, **params))
    return [next(cts_in) if lin else None for lin in linear]
