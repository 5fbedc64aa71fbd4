"""custom_jvp and custom_vjp: derivative rules written by the user for a Python function.

A call of a custom function is handled by the current trace, as JAX's process_custom_jvp_call
and process_custom_vjp_call do:
- Outside any transformation the function just runs.
- A JVPTrace that owns an argument never runs the function: it runs the user's rule on its
  parent trace, on the arguments' primals and tangents, and wraps the rule's outputs as its
  tracers. Primals are concrete when the differentiation is not under jit, so the function
  and its rules may branch on them with Python control flow. A custom_jvp rule's own
  operations are differentiated again (higher order) or transposed (reverse mode); a
  custom_vjp call runs `fwd` and applies `custom_lin` to the tangents: a primitive standing
  for the (unknown) linear map, whose transpose calls `bwd` with the residuals. Only
  linearize/vjp/grad ever transpose it; evaluating it (forward mode) is an error.
- A JVPTrace, or linearize's PartialEvalTrace, that owns no operand hands the call to its
  parent, so that nested differentiation finds the level that differentiates it (and a rule's
  own call f(x) under grad runs on concrete values).
- Otherwise (jit and make_jaxpr, vmap, partial evaluation with an unknown operand) the
  function is traced into a jaxpr and one higher-order primitive, `custom_jvp_call` or
  `custom_vjp_call`, is bound, holding the jaxpr (how to evaluate the function) and the flat
  rule (how to differentiate it). Tracers the function closes over become operands. jit and
  vmap transform the jaxpr; the JVP rules of these primitives do what the JVPTrace does above.
  If tracing needs a concrete value and the trace owns no operand (a vmap around a grad),
  the call is handed to the parent.

Calling conventions of the rules held in the equations' params (flat lists throughout):
  jvp(consts, primals, tangents) -> (primals_out, tangents_out)   tangents are materialized;
                                                                   tangents_out is Zero for
                                                                   non-float outputs
  fwd(primals) -> (primals_out, residuals, res_info)
  bwd(res_info, residuals, cotangents_out) -> one cotangent (maybe Zero) per differentiable input
`consts` are the leading operands that are not differentiated: values the function closes over
(closure-converted into operands) and traced nondiff_argnums of a custom_jvp. `res_info` is
static data that fwd hands to bwd (the residuals' tree structure; batch dims under vmap).
These flat rules close over static data only (the user's functions, tree structures, untraced
nondiff arguments); traced values reach them as operands, so an equation stays valid after the
tracing that made it has ended.
"""
import functools
import inspect

import numpy as np

from . import core, dtypes
from .api import _check_outputs, _fun_name
from .core import Primitive, ShapedArray, Tracer, get_aval
from .errors import ConcretizationTypeError, NonConcreteBooleanIndexError, UnexpectedTracerError
from .interpreters import ad, batching
from .interpreters import partial_eval as pe
from .interpreters.ad import Zero
from .lax.elementwise import convert_element_type, stop_gradient
from .lax.reductions import reduce_sum
from .tree_util import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten

__all__ = ['custom_jvp', 'custom_vjp']


# ---------------------------------------------------------------------------------------------
# Arguments of a call: positions, nondiff_argnums, pytrees


def _signature(fun):
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def _resolve_kwargs(signature, args, kwargs, kind, name):
    """Positional arguments only, defaults applied (nondiff_argnums count positions)."""
    if signature is None:
        if kwargs:
            raise TypeError(f"{kind} function {name} was called with keyword arguments, but its "
                            f"signature cannot be inspected to map them to positions; pass all "
                            f"arguments positionally.")
        return args
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{kind} function {name} has keyword-only parameters "
                        f"{sorted(bound.kwargs)}; a {kind} function takes positional arguments "
                        f"(with defaults) only.")
    return bound.args


def _normalize_argnums(nondiff_argnums, nargs, kind, name):
    out = set()
    for i in nondiff_argnums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{kind} function {name}: nondiff_argnums entry {i} is out of range "
                             f"for a call with {nargs} positional arguments")
        out.add(i % nargs)
    return tuple(sorted(out))


class _CallArgs:
    """The static description of a call's positional arguments, held by the rules.

    Differentiable arguments are flattened to leaves (operands). Nondiff arguments are static
    values closed over by the traced function, except their leaves that are tracers: those are
    operands too (`traced_nondiff`), so every transformation sees them, and rules get them
    from the equation's operands. `split` returns the operands apart: no tracer is kept here.
    """

    @classmethod
    def split(cls, args, nondiff_argnums, kind, name):
        """(call, traced_nondiff, diff_leaves)."""
        self = cls()
        self.nargs = len(args)
        self.nondiff_argnums = _normalize_argnums(nondiff_argnums, self.nargs, kind, name)
        nondiff = set(self.nondiff_argnums)
        self.diff_argnums = tuple(i for i in range(self.nargs) if i not in nondiff)
        leaves, self.nondiff_tree = tree_flatten(tuple(args[i] for i in self.nondiff_argnums))
        self.traced_positions = [j for j, x in enumerate(leaves) if isinstance(x, Tracer)]
        traced_nondiff = [leaves[j] for j in self.traced_positions]
        for j in self.traced_positions:
            leaves[j] = None
        self.nondiff_leaves = leaves
        diff_leaves, self.diff_tree = tree_flatten(tuple(args[i] for i in self.diff_argnums))
        self.diff_avals = []
        for i in self.diff_argnums:
            for x in tree_leaves(args[i]):
                try:
                    self.diff_avals.append(get_aval(x))
                except TypeError:
                    raise TypeError(f"{kind} function {name}: argument {i} has a leaf of type "
                                    f"{type(x).__name__} ({x!r:.60}), which is not a valid fxad "
                                    f"type: differentiable arguments must be arrays or Python "
                                    f"numbers (or pytrees of them); list other arguments in "
                                    f"nondiff_argnums.") from None
        return self, traced_nondiff, diff_leaves

    def nondiff_args(self, traced_vals):
        leaves = list(self.nondiff_leaves)
        for j, v in zip(self.traced_positions, traced_vals):
            leaves[j] = v
        return tree_unflatten(self.nondiff_tree, leaves)

    def full_args(self, traced_vals, diff_leaves):
        args = [None] * self.nargs
        for i, a in zip(self.nondiff_argnums, self.nondiff_args(traced_vals)):
            args[i] = a
        for i, a in zip(self.diff_argnums, tree_unflatten(self.diff_tree, diff_leaves)):
            args[i] = a
        return args


def _trace_call(fun, call, in_avals):
    """fun's jaxpr on (traced nondiff leaves, diff leaves), closure-converted.

    Returns (closed_jaxpr, hoisted, out_tree): `hoisted` are the tracers fun closes over,
    which become the jaxpr's leading inputs.
    """
    k = len(call.traced_positions)
    out_box = []

    def flat_fun(*operands):
        out = fun(*call.full_args(operands[:k], operands[k:]))
        flat_out, out_tree = tree_flatten(out)
        _check_outputs(flat_out, 'custom function', fun)
        out_box.append(out_tree)
        return flat_out

    jaxpr, consts = pe.trace_to_jaxpr(flat_fun, in_avals)
    closed, hoisted = pe.convert_tracer_consts(jaxpr, consts)
    return closed, hoisted, out_box[0]


def _rule_output(out, what, second, out_tree=None, out_avals=None):
    """A rule's pair (primal output, `second`): (flat primal output, its tree, second).

    The primal output is checked against the function's output tree and avals when the
    function was traced (a rule run directly by a JVPTrace has no traced function to compare
    with, as in JAX)."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{what} must produce a pair (list or tuple of length two) of the "
                        f"primal output and {second}, got {out!r:.80}.")
    flat, tree = tree_flatten(out[0])
    if out_tree is not None and tree != out_tree:
        raise TypeError(f"{what} must produce a primal output with the same container (pytree) "
                        f"structure as the function's output: expected {out_tree}, got {tree}.")
    for i, x in enumerate(flat):
        try:
            xa = get_aval(x)
        except TypeError:
            raise TypeError(f"{what}: primal output leaf {i} has type {type(x).__name__}, which "
                            f"is not a valid fxad type") from None
        if out_avals is None:
            continue
        a = out_avals[i]
        if xa.shape != a.shape or xa.dtype != a.dtype:
            raise TypeError(f"{what}: primal output leaf {i} has shape {xa.shape} and dtype "
                            f"{xa.dtype.name}, but the function's output has shape {a.shape} and "
                            f"dtype {a.dtype.name}.")
    return flat, tree, out[1]


def _instantiate(t):
    """Materialized zeros for a symbolic Zero (float0 zeros, a constant, for non-floats)."""
    if type(t) is not Zero:
        return t
    if dtypes.is_float(t.aval.dtype):
        return ad.zeros_like_aval(t.aval)
    return np.zeros(t.aval.shape, dtypes.float0)


def _closure_error(kind, name):
    return TypeError(
        f"Detected differentiation of the {kind} function {name} with respect to a "
        f"closed-over value (a value that {name} or its rules use without receiving it as an "
        f"argument). That isn't supported because the custom rule only specifies how to "
        f"differentiate {name} with respect to its explicit arguments: pass the value as an "
        f"argument instead.")


def _check_closure_tangents(tangents, kind, name):
    if any(type(t) is not Zero for t in tangents):
        raise _closure_error(kind, name)


def _owns_any(trace, values):
    return any(isinstance(x, Tracer) and x._trace is trace for x in values)


def _run_on_parent(trace, kind, name, fun, *args):
    """fun(*args) with the parent of `trace` as the current trace.

    A tracer of `trace` met there was not an argument: the function or a rule closes over a
    value that `trace` differentiates.
    """
    try:
        return core.call_on(trace.parent, fun, *args)
    except UnexpectedTracerError as e:
        if not _is_own_tracer_error(e, trace):
            raise
        raise _closure_error(kind, name) from e


def _is_own_tracer_error(e, trace):
    """Whether an UnexpectedTracerError is about a tracer of `trace` (met by a trace that
    does not enclose it, after `trace` handed a call to its parent)."""
    tracer = getattr(e, 'tracer', None)
    return tracer is not None and tracer._trace is trace


# ---------------------------------------------------------------------------------------------
# custom_jvp and custom_vjp


class _CustomFunction:
    """What custom_jvp and custom_vjp share: arguments, and the choice of how the current
    trace handles a call (see the module docstring)."""
    kind = rule_name = define_with = None

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        # Private storage: update_wrapper copies __dict__ into wrappers of this object (jit's
        # included), where a public `fun` attribute would shadow theirs.
        self._fun = fun
        self._nondiff_argnums = tuple(nondiff_argnums)
        self._sig = _signature(fun)

    fun = property(lambda self: self._fun)
    nondiff_argnums = property(lambda self: self._nondiff_argnums)

    def __call__(self, *args, **kwargs):
        name = _fun_name(self._fun)
        if not self._has_rule():
            raise AttributeError(f"No {self.rule_name} defined for {self.kind} function {name} "
                                 f"using {self.define_with}.")
        args = _resolve_kwargs(self._sig, args, kwargs, self.kind, name)
        trace = core.current_trace()
        if type(trace) is core.EvalTrace:
            # No transformation: the rule is never needed (as in JAX).
            _normalize_argnums(self._nondiff_argnums, len(args), self.kind, name)
            return self._fun(*args)
        call, traced_nondiff, diff_leaves = _CallArgs.split(
            args, self._nondiff_argnums, self.kind, name)
        self._check_nondiff(name, call, traced_nondiff)
        if type(trace) is ad.JVPTrace:
            return self._process_jvp(trace, name, call, traced_nondiff, diff_leaves)
        return self._process_other(trace, name, args, call, traced_nondiff, diff_leaves)

    def _process_other(self, trace, name, args, call, traced_nondiff, diff_leaves):
        """Any trace but eval and JVP: trace the function and bind the call primitive; when no
        operand is the trace's own, the call may be handed to the parent instead."""
        owns_operand = _owns_any(trace, traced_nondiff + diff_leaves)
        if type(trace) is pe.PartialEvalTrace and not owns_operand:
            # All operands known: the call is the parent's, as in JAX (concrete under grad).
            try:
                return core.call_on(trace.parent, self, *args)
            except UnexpectedTracerError as e:
                if not _is_own_tracer_error(e, trace):
                    raise
                # It closes over an unknown value (a tangent, in a rule): trace it here, where
                # the closure becomes an operand.
        in_avals = [get_aval(x) for x in traced_nondiff] + call.diff_avals
        try:
            closed, hoisted, out_tree = _trace_call(self._fun, call, in_avals)
        except (ConcretizationTypeError, NonConcreteBooleanIndexError) as needs_values:
            # The function branches on a value this trace does not know. If no operand is this
            # trace's (vmap of something else, around a grad or jacfwd), the call is its
            # parent's, where the values may be concrete. Tracing first keeps closures over
            # this trace's tracers working: they become operands.
            if type(trace) is pe.DynamicJaxprTrace or owns_operand:
                raise
            try:
                return core.call_on(trace.parent, self, *args)
            except UnexpectedTracerError as e:
                if not _is_own_tracer_error(e, trace):
                    raise
                # It also closes over a value of this trace: neither way works.
                raise needs_values from e
        return self._bind(name, call, traced_nondiff, diff_leaves, closed, hoisted, out_tree)

    def _check_nondiff(self, name, call, traced_nondiff):
        """custom_vjp refuses traced nondiff arguments; custom_jvp takes them."""

    def _process_jvp(self, trace, name, call, traced_nondiff, diff_leaves):
        """JAX's JVPTrace.process_custom_jvp_call / process_custom_vjp_call: the rule runs on
        the parent trace on primals and tangents; the function itself is not traced."""
        # nondiff arguments are not differentiated (JAX applies stop_gradient to them).
        traced_nondiff = [trace.unpack(x)[0] for x in traced_nondiff]
        if not _owns_any(trace, diff_leaves):
            return _run_on_parent(trace, self.kind, name, self,
                                  *call.full_args(traced_nondiff, diff_leaves))
        pairs = [trace.unpack(x) for x in diff_leaves]
        out_tree, primals_out, tangents_out = _run_on_parent(
            trace, self.kind, name, self._rule_on_parent, name, call, traced_nondiff,
            [p for p, _ in pairs], [t for _, t in pairs])
        if _owns_any(trace, primals_out) or _owns_any(trace, tangents_out):
            raise _closure_error(self.kind, name)
        return tree_unflatten(out_tree, [p if type(t) is Zero else ad.JVPTracer(trace, p, t)
                                         for p, t in zip(primals_out, tangents_out)])


class custom_jvp(_CustomFunction):
    """A function with a custom JVP rule (JAX's jax.custom_jvp), usable as a decorator.

        @custom_jvp
        def f(x): ...
        @f.defjvp
        def f_jvp(primals, tangents): return f(*primals), tangent_out

    With nondiff_argnums the rule is called rule(*nondiff_args, primals, tangents), primals
    and tangents holding the other arguments. The rule is written with fxad operations, so it is
    itself differentiable (higher-order derivatives) and reverse mode transposes it. Derivatives
    with respect to nondiff arguments are zero; with respect to values the function closes over
    they are an error. The rule should take traced values as arguments rather than close over
    them: a rule closing over a tracer of an enclosing jit, or of a vmap inside the
    differentiation, raises an error when it runs.
    """
    kind, rule_name, define_with = 'custom_jvp', 'JVP', 'defjvp'

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self._jvp = None

    jvp = property(lambda self: self._jvp)

    def _has_rule(self):
        return self._jvp is not None

    def defjvp(self, jvp):
        """Set the rule jvp(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)."""
        self._jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """One function per argument, fn(tangent, primal_out, *primals) -> its contribution
        to the output tangent (None: the output does not depend on that argument)."""
        name = _fun_name(self._fun)
        if self._nondiff_argnums:
            raise TypeError(f"custom_jvp function {name}: defjvps cannot be used with "
                            f"nondiff_argnums; use defjvp.")

        def jvp(primals, tangents):
            if len(jvps) != len(primals):
                raise TypeError(f"custom_jvp function {name}: defjvps was given {len(jvps)} "
                                f"functions but the function was called with {len(primals)} "
                                f"arguments; give one per argument (None for no dependence).")
            primal_out = self(*primals)
            parts = [fn(t, primal_out, *primals) for fn, t in zip(jvps, tangents) if fn is not None]
            if not parts:
                return primal_out, tree_map(
                    lambda p: _instantiate(Zero(ad.tangent_aval(get_aval(p)))), primal_out)
            return primal_out, functools.reduce(
                lambda a, b: tree_map(ad.add_tangents, a, b), parts)

        jvp.__name__ = f"{name}_jvps"
        self.defjvp(jvp)

    def _rule_on_parent(self, name, call, traced_nondiff, primals, tangents):
        tangents = [_instantiate(t) for t in tangents]
        return _run_jvp_rule(self._jvp, name, call, traced_nondiff, primals, tangents)

    def _bind(self, name, call, traced_nondiff, diff_leaves, closed, hoisted, out_tree):
        consts = list(hoisted) + [stop_gradient(x) for x in traced_nondiff]
        jvp = _flat_jvp_rule(self._jvp, call, len(hoisted), out_tree, closed.out_avals, name)
        outs = custom_jvp_call_p.bind(*consts, *diff_leaves, name=name, call_jaxpr=closed,
                                      jvp=jvp, num_consts=len(consts))
        return tree_unflatten(out_tree, outs)


def _run_jvp_rule(rule, name, call, traced_nondiff, primals, tangents, out_tree=None,
                  out_avals=None):
    """The user's rule on flat lists: (primal tree, primals_out, tangents_out), checked.

    The primal output is compared with the function's (out_tree, out_avals) when it was
    traced; the tangents always with the primal output.
    """
    what = f"Custom JVP rule {_fun_name(rule)} for function {name}"
    out = rule(*call.nondiff_args(traced_nondiff), tree_unflatten(call.diff_tree, primals),
               tree_unflatten(call.diff_tree, tangents))
    primal_flat, primal_tree, tangent_out = _rule_output(out, what, "the tangent output",
                                                         out_tree, out_avals)
    tangent_flat, tangent_tree = tree_flatten(tangent_out)
    if tangent_tree != primal_tree:
        raise TypeError(f"{what} must produce primal and tangent outputs with equal "
                        f"container (pytree) structures, but got {primal_tree} and "
                        f"{tangent_tree}.")
    if out_avals is None:
        out_avals = [get_aval(p) for p in primal_flat]
    tangents_out = [_conform(t, a, what, f"the tangent of primal output leaf {i}",
                             "the primal output", TypeError)
                    for i, (t, a) in enumerate(zip(tangent_flat, out_avals))]
    return primal_tree, primal_flat, tangents_out


def _flat_jvp_rule(rule, call, num_hoisted, out_tree, out_avals, name):
    """The user's rule in an equation's flat convention, its output checked against the
    function's."""
    def jvp(consts, primals, tangents):
        _, primals_out, tangents_out = _run_jvp_rule(
            rule, name, call, consts[num_hoisted:], primals, tangents, out_tree, out_avals)
        return primals_out, tangents_out

    jvp.__name__ = _fun_name(rule)
    return jvp


def _conform(x, aval, what, whose, ref, error):
    """x as the (co)tangent of a value typed `aval`: Zero if that value is not a float, a
    Python scalar cast to its dtype; `error` for a wrong shape or dtype. Messages name `whose`
    (x) and `ref` (the value)."""
    try:
        xa = get_aval(x)
    except TypeError:
        raise TypeError(f"{what}: {whose} has type {type(x).__name__}, which is not a valid "
                        f"fxad type") from None
    if not dtypes.is_float(aval.dtype):
        return Zero(ad.tangent_aval(aval))
    if xa.shape != aval.shape:
        raise error(f"{what}: {whose} has shape {xa.shape} but {ref} has shape {aval.shape}.")
    if xa.dtype != aval.dtype:
        if not xa.weak_type:
            raise error(f"{what}: {whose} has dtype {xa.dtype.name} but {ref} has dtype "
                        f"{aval.dtype.name}.")
        x = convert_element_type(x, aval.dtype)
    return x


# ---------------------------------------------------------------------------------------------
# Rules shared by custom_jvp_call and custom_vjp_call


def _call_impl(*args, call_jaxpr, **_):
    return core.eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)


def _call_abstract_eval(*avals, name, call_jaxpr, **_):
    core.check_operand_avals(f"custom function '{name}'", call_jaxpr.in_avals, avals)
    return call_jaxpr.out_avals


def _call_partial_eval(trace, args, params):
    # Unknown operands only arise while building a linear function (linearize), which needs
    # no custom rule any more: inline the call (as JAX does), so it can be transposed.
    call_jaxpr = params['call_jaxpr']
    return core.call_on(trace, core.eval_jaxpr, call_jaxpr.jaxpr, call_jaxpr.consts, *args)


def _call_transpose(cts, *args, call_jaxpr, **_):
    # A custom function applied linearly (e.g. under linear_transpose) transposes its body.
    return ad.backward_pass(call_jaxpr.jaxpr, call_jaxpr.consts, list(args), list(cts))


def _with_batch_dim(aval, size, dim):
    return ShapedArray(aval.shape[:dim] + (size,) + aval.shape[dim:], aval.dtype, aval.weak_type)


def _batch_rule(fun, args, dims, size, rule):
    """batch_flat of a user rule run by a batched equation, with a hint on the likely error."""
    try:
        return batching.batch_flat(fun, args, dims, size)
    except UnexpectedTracerError as e:
        raise TypeError(
            f"The custom rule {rule} was run batched (vmap inside a differentiation) and met a "
            f"value of another transformation; it probably closes over a value that vmap "
            f"batches. Pass such values to the custom function as arguments (nondiff_argnums "
            f"for custom_jvp) instead of closing over them.") from e


def _at_dim0(x, d, size):
    """x with its batch dim at 0 (broadcast if unbatched); a Zero gets the batched aval."""
    if type(x) is Zero:
        return Zero(_with_batch_dim(x.aval, size, 0))
    return batching.matchaxis(size, d, 0, x)


# ---------------------------------------------------------------------------------------------
# The custom_jvp_call primitive

custom_jvp_call_p = Primitive('custom_jvp_call', multiple_results=True)


def _custom_jvp_call_jvp(primals, tangents, *, name, call_jaxpr, jvp, num_consts):
    _check_closure_tangents(tangents[:num_consts], 'custom_jvp', name)
    diff_tangents = [_instantiate(t) for t in tangents[num_consts:]]
    return jvp(list(primals[:num_consts]), list(primals[num_consts:]), diff_tangents)


def _custom_jvp_call_batch(vals, dims, *, name, call_jaxpr, jvp, num_consts):
    size = batching.batch_size(vals, dims)
    n_out = len(call_jaxpr.out_avals)
    # Outputs are all batched at 0, so that the batched rule's outputs match them.
    batched_call, out_dims = batching.batch_jaxpr(call_jaxpr, size, dims, [0] * n_out)
    batched_jvp = _batch_jvp_rule(jvp, size, list(dims), num_consts, n_out)
    outs = custom_jvp_call_p.bind(*vals, name=name, call_jaxpr=batched_call, jvp=batched_jvp,
                                  num_consts=num_consts)
    return outs, out_dims


def _batch_jvp_rule(jvp, size, dims, num_consts, n_out):
    """vmap of a flat JVP rule: a tangent is batched like its primal; outputs batched at 0."""
    diff_dims = dims[num_consts:]

    def batched_jvp(consts, primals, tangents):
        def rule(*args):
            nc, n = num_consts, num_consts + len(primals)
            primals_out, tangents_out = jvp(list(args[:nc]), list(args[nc:n]), list(args[n:]))
            return list(primals_out) + list(tangents_out)

        outs, out_dims = _batch_rule(rule, list(consts) + list(primals) + list(tangents),
                                     dims + diff_dims, size, jvp.__name__)
        outs = [_at_dim0(x, d, size) for x, d in zip(outs, out_dims)]
        return outs[:n_out], outs[n_out:]

    batched_jvp.__name__ = jvp.__name__
    return batched_jvp


custom_jvp_call_p.impl = _call_impl
custom_jvp_call_p.abstract_eval = _call_abstract_eval
custom_jvp_call_p.jvp = _custom_jvp_call_jvp
custom_jvp_call_p.batch = _custom_jvp_call_batch
custom_jvp_call_p.partial_eval = _call_partial_eval
custom_jvp_call_p.transpose = _call_transpose


class custom_vjp(_CustomFunction):
    """A function with a custom VJP rule (JAX's jax.custom_vjp), usable as a decorator.

        @custom_vjp
        def f(x, y): ...
        def f_fwd(x, y): return f(x, y), residuals
        def f_bwd(residuals, ct): return (ct_x, ct_y)
        f.defvjp(f_fwd, f_bwd)

    fwd takes the function's arguments; bwd(*nondiff_args, residuals, ct) returns a tuple with
    one cotangent per differentiable argument, shaped like it (None: zero). Reverse mode only:
    forward mode (jvp, jacfwd) raises TypeError. nondiff_argnums are for non-array values
    (callables, shapes, strings); pass arrays as ordinary arguments.
    """

    kind, rule_name, define_with = 'custom_vjp', 'VJP', 'defvjp'

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self._fwd = None
        self._bwd = None

    fwd = property(lambda self: self._fwd)
    bwd = property(lambda self: self._bwd)

    def _has_rule(self):
        return self._fwd is not None

    def defvjp(self, fwd, bwd):
        """Set fwd(*args) -> (out, residuals) and bwd(*nondiff_args, residuals, ct) -> cts."""
        self._fwd = fwd
        self._bwd = bwd

    def _check_nondiff(self, name, call, traced_nondiff):
        if traced_nondiff:
            raise TypeError(f"custom_vjp function {name}: an argument in nondiff_argnums "
                            f"{call.nondiff_argnums} is a traced value "
                            f"({traced_nondiff[0]!r:.80}). nondiff_argnums are for non-array "
                            f"values (callables, shapes, strings); pass arrays as regular "
                            f"arguments and return None for their cotangents in bwd.")

    def _rule_on_parent(self, name, call, traced_nondiff, primals, tangents):
        primals_out, out_tree, res, res_tree = _run_fwd(self._fwd, name, call, primals)
        bwd = _flat_bwd(self._bwd, call, out_tree, name)
        tangents_out = _apply_custom_lin(name, bwd, res, res_tree,
                                         [get_aval(p) for p in primals_out], tangents)
        return out_tree, primals_out, tangents_out

    def _bind(self, name, call, traced_nondiff, diff_leaves, closed, hoisted, out_tree):
        fwd = _flat_fwd(self._fwd, call, out_tree, closed.out_avals, name)
        bwd = _flat_bwd(self._bwd, call, out_tree, name)
        outs = custom_vjp_call_p.bind(*hoisted, *diff_leaves, name=name, call_jaxpr=closed,
                                      fwd=fwd, bwd=bwd, num_consts=len(hoisted))
        return tree_unflatten(out_tree, outs)


def _run_fwd(fwd, name, call, primals, out_tree=None, out_avals=None):
    """The user's fwd on flat lists: (primals_out, out_tree, residuals, res_tree), checked
    (against the function's output when it was traced, as in _run_jvp_rule)."""
    what = f"Custom VJP fwd rule {_fun_name(fwd)} for function {name}"
    out = fwd(*call.full_args([], primals))
    primal_flat, primal_tree, res = _rule_output(out, what, "the residuals", out_tree, out_avals)
    res, res_tree = tree_flatten(res)
    for i, r in enumerate(res):
        try:
            get_aval(r)
        except TypeError:
            raise TypeError(f"{what}: residual leaf {i} has type {type(r).__name__}; "
                            f"residuals must be arrays or Python numbers (or pytrees of "
                            f"them). Close over static values in bwd instead.") from None
    return primal_flat, primal_tree, res, res_tree


def _flat_fwd(fwd, call, out_tree, out_avals, name):
    def fwd_flat(primals):
        primals_out, _, res, res_tree = _run_fwd(fwd, name, call, primals, out_tree, out_avals)
        return primals_out, res, res_tree

    fwd_flat.__name__ = _fun_name(fwd)
    return fwd_flat


def _flat_bwd(bwd, call, out_tree, name):
    what = f"Custom VJP bwd rule {_fun_name(bwd)} for function {name}"
    nondiff = call.nondiff_args([])
    arg_avals = tree_unflatten(call.diff_tree, call.diff_avals)

    def bwd_flat(res_tree, res, cts):
        out = bwd(*nondiff, tree_unflatten(res_tree, res), tree_unflatten(out_tree, cts))
        return _flatten_bwd_output(out, arg_avals, call.diff_argnums, what)

    bwd_flat.__name__ = _fun_name(bwd)
    return bwd_flat


def _flatten_bwd_output(out, arg_avals, argnums, what):
    """bwd's tuple of cotangents -> one cotangent (or Zero) per differentiable leaf."""
    if not isinstance(out, (tuple, list)):
        raise TypeError(f"{what} must produce a tuple with one cotangent per differentiable "
                        f"argument ({len(arg_avals)}), got {type(out).__name__}; for a single "
                        f"argument return (ct,).")
    if len(out) != len(arg_avals):
        raise TypeError(f"{what} must produce {len(arg_avals)} cotangents, one per "
                        f"differentiable argument (positions {list(argnums)}), but produced "
                        f"{len(out)}.")
    flat = []
    for argnum, ct, avals in zip(argnums, out, arg_avals):
        # None stands for zeros of a whole argument or of any subtree of it.
        ct_leaves, ct_tree = tree_flatten(ct, is_leaf=lambda x: x is None)
        try:
            subtrees = ct_tree.flatten_up_to(avals)
        except ValueError:
            subtrees = None
        if subtrees is None or any(c is not None and not isinstance(s, ShapedArray)
                                   for c, s in zip(ct_leaves, subtrees)):
            raise TypeError(f"{what}: the cotangent for argument {argnum} has structure "
                            f"{ct_tree} but the argument has structure {tree_structure(avals)}.")
        for c, sub in zip(ct_leaves, subtrees):
            if c is None:
                flat.extend(Zero(ad.tangent_aval(a)) for a in tree_leaves(sub))
            else:
                # ValueError for shapes and dtypes, as JAX raises.
                flat.append(_conform(c, sub, what, f"the cotangent for argument {argnum}",
                                     "the argument", ValueError))
    return flat


# ---------------------------------------------------------------------------------------------
# The custom_vjp_call primitive

custom_vjp_call_p = Primitive('custom_vjp_call', multiple_results=True)


def _custom_vjp_call_jvp(primals, tangents, *, name, call_jaxpr, fwd, bwd, num_consts):
    _check_closure_tangents(tangents[:num_consts], 'custom_vjp', name)
    primals_out, res, res_info = fwd(list(primals[num_consts:]))
    return primals_out, _apply_custom_lin(name, bwd, res, res_info, call_jaxpr.out_avals,
                                          tangents[num_consts:])


def _apply_custom_lin(name, bwd, res, res_info, primal_out_avals, tangents):
    """Output tangents of a custom_vjp function: custom_lin applied to the nonzero tangents
    (Zero for non-float outputs)."""
    out_avals = tuple(ad.tangent_aval(a) for a in primal_out_avals)
    nonzeros = tuple(type(t) is not Zero for t in tangents)
    lin_outs = iter(custom_lin_p.bind(
        *res, *[t for t in tangents if type(t) is not Zero], name=name, bwd=bwd,
        res_info=res_info, num_res=len(res), out_avals=out_avals, nonzeros=nonzeros))
    return [next(lin_outs) if dtypes.is_float(a.dtype) else Zero(a) for a in out_avals]


def _custom_vjp_call_batch(vals, dims, *, name, call_jaxpr, fwd, bwd, num_consts):
    size = batching.batch_size(vals, dims)
    n_out = len(call_jaxpr.out_avals)
    batched_call, out_dims = batching.batch_jaxpr(call_jaxpr, size, dims, [0] * n_out)
    diff_dims = list(dims[num_consts:])
    outs = custom_vjp_call_p.bind(
        *vals, name=name, call_jaxpr=batched_call, fwd=_batch_fwd(fwd, size, diff_dims, n_out),
        bwd=_batch_bwd(bwd, size, diff_dims), num_consts=num_consts)
    return outs, out_dims


def _batch_fwd(fwd, size, dims, n_out):
    """vmap of a flat fwd: outputs batched at 0; residual batch dims go into res_info."""
    def batched_fwd(primals):
        infos = []

        def run(*args):
            primals_out, res, info = fwd(list(args))
            infos.append(info)
            return list(primals_out) + list(res)

        outs, out_dims = _batch_rule(run, list(primals), dims, size, fwd.__name__)
        primals_out = [_at_dim0(x, d, size) for x, d in zip(outs[:n_out], out_dims[:n_out])]
        return primals_out, outs[n_out:], (infos[0], tuple(out_dims[n_out:]))

    batched_fwd.__name__ = fwd.__name__
    return batched_fwd


def _batch_bwd(bwd, size, in_dims):
    """vmap of a flat bwd (cotangents batched at 0), giving each input's cotangent its batch
    dim; an unbatched input used by every batch member gets the sum of their cotangents."""
    def batched_bwd(res_info, res, cts):
        inner_info, res_dims = res_info
        nr = len(res)
        cts_in, ct_dims = _batch_rule(
            lambda *args: bwd(inner_info, list(args[:nr]), list(args[nr:])),
            list(res) + list(cts), list(res_dims) + [0] * len(cts), size, bwd.__name__)
        return [_match_cotangent(ct, d, want, size) for ct, d, want in zip(cts_in, ct_dims, in_dims)]

    batched_bwd.__name__ = bwd.__name__
    return batched_bwd


def _match_cotangent(ct, d, want, size):
    if type(ct) is Zero:
        return ct if want is None else Zero(_with_batch_dim(ct.aval, size, want))
    if want is None:
        return ct if d is None else reduce_sum(ct, (d,))
    return batching.matchaxis(size, d, want, ct)


custom_vjp_call_p.impl = _call_impl
custom_vjp_call_p.abstract_eval = _call_abstract_eval
custom_vjp_call_p.jvp = _custom_vjp_call_jvp
custom_vjp_call_p.batch = _custom_vjp_call_batch
custom_vjp_call_p.partial_eval = _call_partial_eval
custom_vjp_call_p.transpose = _call_transpose


# ---------------------------------------------------------------------------------------------
# custom_lin: the linear map of a custom_vjp function, known only through its transpose (bwd).
# Operands: residuals, then the nonzero input tangents; outputs: tangents of float outputs.

custom_lin_p = Primitive('custom_lin', multiple_results=True)


def _custom_lin_impl(*args, name, **_):
    raise _forward_mode_error(name)


def _custom_lin_jvp(primals, tangents, *, name, **_):
    # Differentiating the linear map again is forward mode through the custom_vjp function.
    raise _forward_mode_error(name)


def _forward_mode_error(name):
    return TypeError(f"can't apply forward-mode autodiff (jvp) to a custom_vjp function: {name} "
                     f"defines only a reverse-mode rule (defvjp), so jvp, jacfwd and evaluating "
                     f"a linearized function are not defined for it. Use grad, vjp or jacrev, or "
                     f"define {name} with custom_jvp.")


def _custom_lin_abstract_eval(*avals, out_avals, **_):
    return [a for a in out_avals if dtypes.is_float(a.dtype)]


def _custom_lin_transpose(cts, *args, name, bwd, res_info, num_res, out_avals, nonzeros):
    cts = iter(cts)
    cts_out = [_instantiate(next(cts)) if dtypes.is_float(a.dtype)
               else np.zeros(a.shape, dtypes.float0) for a in out_avals]
    cts_in = bwd(res_info, list(args[:num_res]), cts_out)
    return [None] * num_res + [ct for ct, nz in zip(cts_in, nonzeros) if nz]


def _custom_lin_batch(vals, dims, *, name, bwd, res_info, num_res, out_avals, nonzeros):
    size = batching.batch_size(vals, dims)
    tangent_dims = iter(dims[num_res:])
    in_dims = [next(tangent_dims) if nz else None for nz in nonzeros]
    outs = custom_lin_p.bind(
        *vals, name=name, bwd=_batch_bwd(bwd, size, in_dims),
        res_info=(res_info, tuple(dims[:num_res])), num_res=num_res,
        out_avals=tuple(_with_batch_dim(a, size, 0) for a in out_avals), nonzeros=nonzeros)
    return outs, [0] * len(outs)


custom_lin_p.impl = _custom_lin_impl
custom_lin_p.abstract_eval = _custom_lin_abstract_eval
custom_lin_p.jvp = _custom_lin_jvp
custom_lin_p.transpose = _custom_lin_transpose
custom_lin_p.batch = _custom_lin_batch
custom_lin_p.param_formatters = {
    'out_avals': lambda avals: f"({''.join(a.str_short() + ',' for a in avals)})"}
