"""Batching (vmap): a tracer carries a value with one extra array dimension, its batch dim.

Each primitive's batching rule maps (values, batch_dims) to (value, batch_dim) using array
operations on the whole batch: the batch is never looped over in Python. `not_mapped` (None)
marks a value without a batch dimension.
"""
from .. import core
from ..core import ShapedArray, Trace, Tracer, get_aval
from . import partial_eval as pe

not_mapped = None


class BatchTracer(Tracer):
    __slots__ = ('val', 'batch_dim')

    def __init__(self, trace, val, batch_dim):
        self._trace = trace
        self.val = val
        self.batch_dim = batch_dim

    @property
    def aval(self):
        aval = get_aval(self.val)
        shape = aval.shape
        d = self.batch_dim
        return ShapedArray(shape[:d] + shape[d + 1:], aval.dtype, aval.weak_type)


class BatchTrace(Trace):
    """vmap's trace; `axis_size` is the size of the mapped axis."""
    __slots__ = ('axis_size',)

    def __init__(self, parent, axis_size):
        super().__init__(parent)
        self.axis_size = axis_size

    def process_primitive(self, primitive, args, params):
        vals = []
        dims = []
        own = False
        for x in args:
            if type(x) is BatchTracer and x._trace is self:
                vals.append(x.val)
                dims.append(x.batch_dim)
                own = True
            else:
                vals.append(x)
                dims.append(None)
        if not own:
            return self.parent.process_primitive(primitive, args, params)
        rule = primitive.batch
        if rule is None:
            raise NotImplementedError(f"Batching rule for '{primitive.name}' not implemented")
        prev = core._state.trace
        core._state.trace = self.parent
        try:
            out, out_dim = rule(vals, dims, **params)
        finally:
            core._state.trace = prev
        if primitive.multiple_results:
            return [o if d is None else BatchTracer(self, o, d) for o, d in zip(out, out_dim)]
        return out if out_dim is None else BatchTracer(self, out, out_dim)

    def unpack(self, x):
        if type(x) is BatchTracer and x._trace is self:
            return x.val, x.batch_dim
        return x, None


def batch_flat(fun, args, in_dims, axis_size):
    """fun on flat lists with args batched along in_dims. Returns (outs, out_dims)."""
    trace = BatchTrace(core.current_trace(), axis_size)
    in_tracers = [x if d is None else BatchTracer(trace, x, d) for x, d in zip(args, in_dims)]
    try:
        with core.set_current_trace(trace):
            outs = fun(*in_tracers)
        pairs = [trace.unpack(x) for x in outs]
    finally:
        trace.invalidate()
    return [v for v, _ in pairs], [d for _, d in pairs]


# Installed by fxad.lax: moveaxis(x, src, dst) and broadcast(x, size, axis) on any trace.
moveaxis = None
broadcast = None


def batch_size(vals, dims):
    """The batch size of a rule's operands: the length of any batched one along its batch dim."""
    return next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)


def matchaxis(axis_size, src, dst, x):
    """x with its batch dim moved from src to dst (broadcast in if src is None)."""
    if src == dst:
        return x
    if src is None:
        return broadcast(x, axis_size, dst)
    return moveaxis(x, src, dst)


def batch_jaxpr(closed, axis_size, in_dims, out_dims_wanted):
    """A jaxpr computing `closed` over a batch.

    in_dims: batch dim per input (None: unbatched). out_dims_wanted: per output the batch dim to
    produce, or None to leave the output unbatched when it can be (it is then forced to 0 only
    if it turned out batched). Returns (closed_batched, out_dims).
    """
    in_avals = []
    for aval, d in zip(closed.in_avals, in_dims):
        if d is None:
            in_avals.append(aval)
        else:
            shape = aval.shape[:d] + (axis_size,) + aval.shape[d:]
            in_avals.append(ShapedArray(shape, aval.dtype, aval.weak_type))
    out_dims_box = []

    def fun(*args):
        outs, dims = batch_flat(core.jaxpr_as_fun(closed), list(args), in_dims, axis_size)
        final_outs, final_dims = [], []
        for x, d, want in zip(outs, dims, out_dims_wanted):
            if want is None and d is None:
                final_outs.append(x)
                final_dims.append(None)
            else:
                target = 0 if want is None else want
                final_outs.append(matchaxis(axis_size, d, target, x))
                final_dims.append(target)
        out_dims_box.append(final_dims)
        return final_outs

    jaxpr, consts = pe.trace_to_jaxpr(fun, in_avals)
    closed_b, hoisted = pe.convert_tracer_consts(jaxpr, consts)
    assert not hoisted, "closed jaxprs hold no tracers"
    return closed_b, out_dims_box[0]
