"""Staging Python into jaxprs: the jaxpr builder trace, and partial evaluation.

`DynamicJaxprTrace` records every primitive it sees as an equation (make_jaxpr, jit).
`PartialEvalTrace` is the same builder except that an operation whose inputs are all known
(not its own tracers) runs now on the parent trace; only the unknown work is recorded. That is
how linearize splits the primal computation from the linear tangent jaxpr.
"""
from .. import core
from ..core import (ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Trace, Tracer, Var,
                    get_aval, is_literalable)


class JaxprBuilder:
    """Equations, arguments and captured constants of the jaxpr being built."""
    __slots__ = ('eqns', 'invars', 'const_vars', 'const_vals')

    def __init__(self):
        self.eqns = []
        self.invars = []
        self.const_vars = {}   # id(value) -> Var
        self.const_vals = []   # (Var, value), keeps the values alive while their ids are keys

    def const(self, value):
        var = self.const_vars.get(id(value))
        if var is None:
            var = self.const_vars[id(value)] = Var(get_aval(value))
            self.const_vals.append((var, value))
        return var

    def to_jaxpr(self, trace, outs):
        outvars = [trace.to_atom(x) for x in outs]
        constvars = [v for v, _ in self.const_vals]
        consts = [x for _, x in self.const_vals]
        return Jaxpr(constvars, self.invars, outvars, self.eqns), consts


class DynamicJaxprTracer(Tracer):
    # The slot is not named `var`: that name is the array method x.var() on every tracer.
    __slots__ = ('jaxpr_var',)

    def __init__(self, trace, var):
        self._trace = trace
        self.jaxpr_var = var

    @property
    def aval(self):
        return self.jaxpr_var.aval


class DynamicJaxprTrace(Trace):
    """Stage every primitive into the builder's jaxpr."""
    __slots__ = ('builder',)

    def __init__(self, parent, builder=None):
        super().__init__(parent)
        self.builder = JaxprBuilder() if builder is None else builder

    def new_arg(self, aval):
        var = Var(aval)
        self.builder.invars.append(var)
        return DynamicJaxprTracer(self, var)

    def to_atom(self, x):
        if type(x) is DynamicJaxprTracer and x._trace is self:
            return x.jaxpr_var
        if is_literalable(x) and type(self) is DynamicJaxprTrace:
            return Literal(x, get_aval(x))
        if isinstance(x, Tracer):
            self._check_foreign_tracer(x)
        return self.builder.const(x)

    def _check_foreign_tracer(self, x):
        """A tracer of an enclosing transformation may be captured; any other may not (it
        escaped a finished transformation, or belongs to another thread's trace)."""
        trace = self.parent
        while trace is not None:
            if x._trace is trace:
                return
            trace = trace.parent
        core.escaped_tracer_check(x)
        raise core.UnexpectedTracerError(x, "a trace that does not enclose it (another thread's "
                                         "transformation, or one that has ended)")

    def process_primitive(self, primitive, args, params):
        return self.stage(primitive, [self.to_atom(x) for x in args], params)

    def stage(self, primitive, invars, params):
        out_avals = primitive.abstract_eval(*[v.aval for v in invars], **params)
        if primitive.multiple_results:
            outvars = [Var(a) for a in out_avals]
            self.builder.eqns.append(JaxprEqn(primitive, invars, outvars, params))
            return [DynamicJaxprTracer(self, v) for v in outvars]
        outvar = Var(out_avals)
        self.builder.eqns.append(JaxprEqn(primitive, invars, [outvar], params))
        return DynamicJaxprTracer(self, outvar)

    def is_own(self, x):
        return type(x) is DynamicJaxprTracer and x._trace is self


def trace_to_jaxpr(fun, in_avals, parent=None):
    """Trace fun(*tracers) on a fresh builder. Returns (jaxpr, consts, outs-as-given).

    `fun` takes and returns flat lists. Constants are the values it closed over, which may
    include tracers of enclosing transformations.
    """
    trace = DynamicJaxprTrace(core.current_trace() if parent is None else parent)
    in_tracers = [trace.new_arg(a) for a in in_avals]
    try:
        with core.set_current_trace(trace):
            outs = fun(*in_tracers)
        jaxpr, consts = trace.builder.to_jaxpr(trace, outs)
    finally:
        trace.invalidate()
    return jaxpr, consts


def trace_to_closed_jaxpr(fun, in_avals):
    """Trace into a ClosedJaxpr whose consts hold no tracers.

    Constants that are tracers of enclosing transformations are returned separately: they
    become leading invars of the jaxpr, to be passed as arguments (closure conversion).
    Returns (closed_jaxpr, tracer_consts).
    """
    jaxpr, consts = trace_to_jaxpr(fun, in_avals)
    return convert_tracer_consts(jaxpr, consts)


def convert_tracer_consts(jaxpr, consts):
    keep_vars, keep_vals, hoist_vars, hoist_vals = [], [], [], []
    for v, c in zip(jaxpr.constvars, consts):
        if isinstance(c, Tracer):
            hoist_vars.append(v)
            hoist_vals.append(c)
        else:
            keep_vars.append(v)
            keep_vals.append(c)
    new = Jaxpr(keep_vars, hoist_vars + jaxpr.invars, jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(new, keep_vals), hoist_vals


# ---------------------------------------------------------------------------------------------
# Partial evaluation


_PYTHON_SCALARS = (bool, int, float, complex)


class PartialEvalTrace(DynamicJaxprTrace):
    """Known values are anything that is not this trace's tracer; known work runs now."""
    __slots__ = ()

    def process_primitive(self, primitive, args, params):
        for x in args:
            if type(x) is DynamicJaxprTracer and x._trace is self:
                break
        else:
            # All known: computed now by the parent (which, like every trace, treats values
            # that are not its own tracers as constants).
            return self.parent.process_primitive(primitive, args, params)
        rule = primitive.partial_eval
        if rule is not None:
            return rule(self, args, params)
        return self.stage(primitive, [self.to_atom(x) for x in args], params)

    def to_atom(self, x):
        # Known NumPy values are residuals (constvars); only Python scalars become literals.
        if type(x) in _PYTHON_SCALARS:
            return Literal(x, get_aval(x))
        return DynamicJaxprTrace.to_atom(self, x)

    def instantiate(self, x):
        """A known value forced to be unknown: a constant (residual) of the unknown jaxpr."""
        var = Var(get_aval(x))
        self.builder.const_vals.append((var, x))
        return DynamicJaxprTracer(self, var)


def partial_eval_jaxpr(closed, unknowns, instantiate=False):
    """Split a closed jaxpr by which inputs are unknown.

    Returns (jaxpr_known, jaxpr_unknown, out_unknowns, num_res):
      jaxpr_known   (known inputs) -> known outputs + residuals
      jaxpr_unknown (residuals, unknown inputs) -> unknown outputs
    `instantiate` (bool or list per output) forces outputs to be unknown.
    """
    n_out = len(closed.out_avals)
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * n_out
    known_trace = DynamicJaxprTrace(core.current_trace())
    pe_trace = PartialEvalTrace(known_trace)
    args = [pe_trace.new_arg(a) if uk else known_trace.new_arg(a)
            for a, uk in zip(closed.in_avals, unknowns)]
    try:
        with core.set_current_trace(pe_trace):
            outs = core.eval_jaxpr(closed.jaxpr, closed.consts, *args)
            outs = [pe_trace.instantiate(x) if inst and not pe_trace.is_own(x) else x
                    for x, inst in zip(outs, instantiate)]
        out_unknowns = [pe_trace.is_own(x) for x in outs]
        unknown_outs = [x for x, uk in zip(outs, out_unknowns) if uk]
        jaxpr_uk, residuals = pe_trace.builder.to_jaxpr(pe_trace, unknown_outs)
    finally:
        pe_trace.invalidate()
    # Residuals known at trace time of the known jaxpr become its extra outputs.
    res_vars = jaxpr_uk.constvars
    jaxpr_unknown = Jaxpr([], res_vars + jaxpr_uk.invars, jaxpr_uk.outvars, jaxpr_uk.eqns)
    known_outs = [x for x, uk in zip(outs, out_unknowns) if not uk] + list(residuals)
    try:
        jaxpr_k, consts_k = known_trace.builder.to_jaxpr(known_trace, known_outs)
    finally:
        known_trace.invalidate()
    closed_k, hoisted = convert_tracer_consts(jaxpr_k, consts_k)
    if hoisted:
        raise NotImplementedError("partial_eval_jaxpr of a jaxpr closing over tracers")
    return closed_k, ClosedJaxpr(jaxpr_unknown, []), out_unknowns, len(res_vars)


def dce_jaxpr(jaxpr, used_outputs=None):
    """Drop equations whose outputs are unused (primitives here have no side effects)."""
    outvars = jaxpr.outvars if used_outputs is None else [
        v for v, u in zip(jaxpr.outvars, used_outputs) if u]
    live = set(v for v in outvars if type(v) is Var)
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(v for v in eqn.invars if type(v) is Var)
    kept.reverse()
    return Jaxpr(jaxpr.constvars, jaxpr.invars, outvars, kept)
