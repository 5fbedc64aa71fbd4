"""The user-facing transformations: make_jaxpr, jit, jvp, linearize, vjp, grad, vmap, jac*, hessian.

Each wraps a flat-list transformation from fxad.interpreters with pytree handling and
argument checking, so errors name the argument and the transformation.
"""
import functools
import inspect

import numpy as np

from . import core, dtypes
from .core import ClosedJaxpr, Tracer, get_aval
from .interpreters import ad, batching
from .interpreters import partial_eval as pe
from .interpreters.ad import Zero
from .lax import shapes as lax_shapes
from .lax.call import jit_p
from .lax.elementwise import convert_element_type
from .tree_util import tree_flatten, tree_unflatten, tree_map, treedef_is_leaf

__all__ = ['make_jaxpr', 'eval_shape', 'ShapeDtypeStruct', 'jit', 'jvp', 'linearize', 'vjp',
           'linear_transpose', 'grad', 'value_and_grad', 'vmap', 'jacfwd', 'jacrev', 'hessian']


# ---------------------------------------------------------------------------------------------
# Argument handling


def _fun_name(fun):
    return getattr(fun, '__name__', type(fun).__name__)


def _arg_avals(flat_args, transform, fun):
    avals = []
    for i, x in enumerate(flat_args):
        if isinstance(x, Tracer):
            core.escaped_tracer_check(x)
        try:
            avals.append(get_aval(x))
        except TypeError:
            raise TypeError(f"{transform} of {_fun_name(fun)}: argument leaf {i} has type "
                            f"{type(x).__name__} ({x!r:.60}), which is not a valid fxad type: "
                            f"arguments must be arrays, NumPy scalars or Python numbers (or "
                            f"pytrees of them); mark other arguments static.") from None
    return avals


def _check_outputs(flat_out, transform, fun):
    for i, x in enumerate(flat_out):
        if not isinstance(x, Tracer):
            try:
                get_aval(x)
            except TypeError:
                raise TypeError(f"{transform} of {_fun_name(fun)}: output leaf {i} has type "
                                f"{type(x).__name__}, which is not a valid fxad type") from None


def _to_numpy(x):
    """Top-level results are NumPy values, never Python scalars or wrappers."""
    if isinstance(x, (np.ndarray, np.generic, Tracer)):
        return x
    return np.asarray(x)[()]


def _flat_fun(fun, in_tree, out_box, transform):
    def flat(*args):
        out = fun(*tree_unflatten(in_tree, args))
        flat_out, out_tree = tree_flatten(out)
        _check_outputs(flat_out, transform, fun)
        out_box.append(out_tree)
        return flat_out
    return flat


def _normalize_argnums(argnums, nargs, transform):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    out = []
    for a in nums:
        if not isinstance(a, int):
            raise TypeError(f"{transform}: argnums must be ints, got {a!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{transform}: argnums {a} is out of range for a function called "
                             f"with {nargs} positional arguments")
        out.append(a % nargs)
    return single, tuple(out)


def _with_args_replaced(fun, args, argnums, kwargs):
    def f(*dyn):
        full = list(args)
        for i, x in zip(argnums, dyn):
            full[i] = x
        return fun(*full, **kwargs)
    return f


# ---------------------------------------------------------------------------------------------
# make_jaxpr and jit


def _split_static(args, kwargs, static_argnums, static_argnames, transform):
    n = len(args)
    statics = set()
    for i in static_argnums:
        if not -n <= i < n:
            raise ValueError(f"{transform}: static_argnums {i} is out of range for a call with "
                             f"{n} positional arguments")
        statics.add(i % n)
    dyn_args = tuple(a for i, a in enumerate(args) if i not in statics)
    static_vals = tuple((i, args[i]) for i in sorted(statics))
    dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_argnames}
    static_kw = tuple(sorted((k, v) for k, v in kwargs.items() if k in static_argnames))
    return dyn_args, dyn_kwargs, static_vals, static_kw


def _rebuild(fun, n_args, static_vals, static_kw):
    statics = dict(static_vals)
    skw = dict(static_kw)

    def f(dyn_args, dyn_kwargs):
        it = iter(dyn_args)
        full = [statics[i] if i in statics else next(it) for i in range(n_args)]
        return fun(*full, **dyn_kwargs, **skw)
    return f


def _static_argnums_tuple(static_argnums):
    return (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)


def make_jaxpr(fun, static_argnums=()):
    """make_jaxpr(fun)(*args) -> the ClosedJaxpr of fun at the shapes and dtypes of args."""
    static_argnums = _static_argnums_tuple(static_argnums)

    @functools.wraps(fun)
    def jaxpr_maker(*args, **kwargs):
        jaxpr, consts, _, _ = trace_call(fun, args, kwargs, static_argnums, 'make_jaxpr')
        return ClosedJaxpr(jaxpr, consts)
    return jaxpr_maker


class ShapeDtypeStruct:
    """The shape and dtype of an array, without its values (what eval_shape returns)."""
    __slots__ = ('shape', 'dtype')

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    def __eq__(self, other):
        return (isinstance(other, ShapeDtypeStruct) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes of fun(*args, **kwargs), found by tracing: nothing is computed.

    Arguments may be arrays or ShapeDtypeStructs.
    """
    def as_value(x):
        return np.zeros(x.shape, x.dtype) if isinstance(x, ShapeDtypeStruct) else x
    args, kwargs = tree_map(as_value, (args, kwargs))
    jaxpr, _, _, out_tree = trace_call(fun, args, kwargs, (), 'eval_shape')
    return tree_unflatten(out_tree, [ShapeDtypeStruct(a.shape, a.dtype) for a in jaxpr.out_avals])


def trace_call(fun, args, kwargs, static_argnums, transform):
    """Trace fun(*args, **kwargs), the static_argnums fixed, into a jaxpr of the flat
    dynamic arguments. Returns (jaxpr, consts, flat_args, out_tree)."""
    dyn_args, dyn_kwargs, static_vals, static_kw = _split_static(
        args, kwargs, static_argnums, (), transform)
    f = _rebuild(fun, len(args), static_vals, static_kw)
    flat, in_tree = tree_flatten((dyn_args, dyn_kwargs))
    avals = _arg_avals(flat, transform, fun)
    out_box = []
    jaxpr, consts = pe.trace_to_jaxpr(_flat_fun(f, in_tree, out_box, transform), avals)
    return jaxpr, consts, flat, out_box[0]


class _Jitted:
    """A jit-wrapped function: traced once per signature, then run as one `jit` equation."""

    def __init__(self, fun, static_argnums, static_argnames):
        # First, so that attributes copied from fun's __dict__ cannot shadow ours.
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.static_argnums = _static_argnums_tuple(static_argnums)
        names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        self.named_argnums = set()  # static positions that may also be passed by keyword
        if self.static_argnums and not names:
            try:
                params = list(inspect.signature(fun).parameters)
                names = tuple(params[i] for i in self.static_argnums if 0 <= i < len(params))
                self.named_argnums = {i for i in self.static_argnums if 0 <= i < len(params)}
            except (TypeError, ValueError):
                pass
        elif names and not self.static_argnums:
            try:
                params = list(inspect.signature(fun).parameters.values())
                self.static_argnums = tuple(i for i, p in enumerate(params) if p.name in names and p.kind in (
                    p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
                self.named_argnums = set(self.static_argnums)
            except (TypeError, ValueError):
                pass
        self.static_argnames = names
        self.__name__ = _fun_name(fun)
        self.cache = {}
        self.fast_cache = {}

    def _signature(self, args, kwargs):
        nums = [i for i in self.static_argnums if i < len(args) or i not in self.named_argnums]
        dyn_args, dyn_kwargs, static_vals, static_kw = _split_static(
            args, kwargs, nums, self.static_argnames, 'jit')
        try:
            hash((static_vals, static_kw))
        except TypeError:
            bad = [(i, v) for i, v in static_vals + static_kw if not _hashable(v)]
            where, val = bad[0] if bad else ('?', None)
            raise TypeError(f"jit of {_fun_name(self.fun)}: static argument {where!r} of type "
                            f"{type(val).__name__} is not hashable; static arguments must be "
                            f"hashable (use a tuple instead of a list, for example)") from None
        flat, in_tree = tree_flatten((dyn_args, dyn_kwargs))
        avals = _arg_avals(flat, 'jit', self.fun)
        key = (in_tree, tuple((a.shape, a.dtype, a.weak_type) for a in avals), static_vals, static_kw)
        return flat, in_tree, avals, key, static_vals, static_kw, len(args)

    def _trace(self, *args, **kwargs):
        flat, in_tree, avals, key, static_vals, static_kw, n = self._signature(args, kwargs)
        entry = self.cache.get(key)
        if entry is not None:
            return entry + ([],)
        f = _rebuild(self.fun, n, static_vals, static_kw)
        out_box = []
        jaxpr, consts = pe.trace_to_jaxpr(_flat_fun(f, in_tree, out_box, 'jit'), avals)
        closed, hoisted = pe.convert_tracer_consts(jaxpr, consts)
        if not hoisted:
            self.cache[key] = (closed, out_box[0])
        return closed, out_box[0], hoisted

    def trace(self, *args, **kwargs):
        """The traced function at these arguments (JAX's AOT `jit(f).trace(...)`): `.jaxpr` is
        its ClosedJaxpr, `.out_tree` the structure of its outputs."""
        closed, out_tree, hoisted = self._trace(*args, **kwargs)
        if hoisted:
            raise TypeError("jit(f).trace: f closes over traced values of an enclosing "
                            "transformation; call trace outside any transformation")
        return Traced(closed, out_tree)

    def _fast_key(self, args, kwargs):
        """The cache key of a call with positional, non-static arguments only (else None)."""
        if kwargs or self.static_argnums:
            return None, None
        flat, in_tree = tree_flatten(args)
        try:
            avals = [get_aval(x) for x in flat]
        except TypeError:
            return None, None  # the general path names the bad argument
        return flat, (in_tree, tuple((a.shape, a.dtype, a.weak_type) for a in avals))

    def __call__(self, *args, **kwargs):
        flat, fast_key = self._fast_key(args, kwargs)
        entry = self.fast_cache.get(fast_key) if fast_key is not None else None
        if entry is None:
            flat, in_tree, avals, key, static_vals, static_kw, n = self._signature(args, kwargs)
            entry = self.cache.get(key)
            if entry is None:
                closed, out_tree, hoisted = self._trace(*args, **kwargs)
            else:
                (closed, out_tree), hoisted = entry, []
            if fast_key is not None and not hoisted:
                self.fast_cache[fast_key] = (closed, out_tree)
        else:
            (closed, out_tree), hoisted = entry, []
        if core._state.trace is core.eval_trace and not hoisted and not any(
                isinstance(x, Tracer) for x in flat):
            # Called eagerly: run the checked jaxpr directly, skipping dispatch.
            outs = core.eval_jaxpr_impl(closed.jaxpr, closed.consts, *flat)
        else:
            outs = jit_p.bind(*hoisted, *flat, name=self.__name__, jaxpr=closed)
        return tree_unflatten(out_tree, [_to_numpy(x) for x in outs])


class Traced:
    """What jit(f).trace(*args) returns: the ClosedJaxpr and the output tree structure."""
    __slots__ = ('jaxpr', 'out_tree')

    def __init__(self, jaxpr, out_tree):
        self.jaxpr = jaxpr
        self.out_tree = out_tree

    def __repr__(self):
        return f"Traced(jaxpr={self.jaxpr})"


def _hashable(v):
    try:
        hash(v)
        return True
    except TypeError:
        return False


def jit(fun=None, *, static_argnums=(), static_argnames=(), donate_argnums=(), inline=False):
    """Trace fun once per (tree structure, shapes, dtypes, weak types, static values) and cache.

    donate_argnums and inline are accepted for JAX compatibility: fxad has no device buffers to
    donate and no compiler to inline into, so they change nothing.
    """
    if fun is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames)
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {fun!r}")
    return _Jitted(fun, static_argnums, static_argnames)


# ---------------------------------------------------------------------------------------------
# Forward mode


def _check_tangent(p, t, i, transform):
    pa, ta = get_aval(p), get_aval(t)
    if pa.shape != ta.shape:
        raise ValueError(f"{transform}: primal and tangent arguments do not match: primal leaf "
                         f"{i} has shape {pa.shape} but its tangent has shape {ta.shape}")
    if not dtypes.is_float(pa.dtype) and ta.dtype != dtypes.float0:
        raise TypeError(f"{transform}: primal leaf {i} has dtype {pa.dtype.name}, so its tangent "
                        f"must have dtype float0 (integer and boolean values carry no tangent), "
                        f"got {ta.dtype.name}; use np.zeros(shape, fxad.dtypes.float0)")
    if dtypes.is_float(pa.dtype):
        if ta.dtype != pa.dtype:
            raise TypeError(f"{transform}: primal and tangent arguments do not match: primal leaf "
                            f"{i} has dtype {pa.dtype.name} but its tangent has dtype "
                            f"{ta.dtype.name}; tangent dtypes must equal primal dtypes")
        return t
    return Zero(ad.tangent_aval(pa))


def jvp(fun, primals, tangents):
    """(fun(*primals), the directional derivative of fun at primals along tangents)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists, with one entry per "
                        f"argument of the function; got {type(primals).__name__} and "
                        f"{type(tangents).__name__}")
    flat_p, tree_p = tree_flatten(tuple(primals))
    flat_t, tree_t = tree_flatten(tuple(tangents))
    if tree_p != tree_t:
        raise TypeError(f"jvp: primal and tangent arguments must have the same tree structure, "
                        f"got {tree_p} and {tree_t}")
    _arg_avals(flat_p, 'jvp', fun)
    _arg_avals(flat_t, 'jvp (tangents)', fun)
    flat_t = [_check_tangent(p, t, i, 'jvp') for i, (p, t) in enumerate(zip(flat_p, flat_t))]
    out_box = []
    primals_out, tangents_out = ad.jvp_flat(_flat_fun(fun, tree_p, out_box, 'jvp'), flat_p, flat_t)
    tangents_out = [ad.instantiate_zeros(t) for t in tangents_out]
    return (tree_unflatten(out_box[0], [_to_numpy(x) for x in primals_out]),
            tree_unflatten(out_box[0], [_to_numpy(x) for x in tangents_out]))


def _std_basis(flat):
    """Rows of the identity, split over the leaves: one (n, *shape) array per leaf."""
    avals = [get_aval(x) for x in flat]
    sizes = [a.size for a in avals]
    n = sum(sizes)
    basis, offset = [], 0
    for a, s in zip(avals, sizes):
        b = np.zeros((n, s), a.dtype)
        b[offset:offset + s] = np.eye(s, dtype=a.dtype)
        basis.append(b.reshape((n,) + a.shape))
        offset += s
    return basis, sizes, n


def _require_float(flat, transform):
    for i, x in enumerate(flat):
        dt = get_aval(x).dtype
        if not dtypes.is_float(dt):
            raise TypeError(f"{transform} requires real- or complex-valued inputs (input dtype "
                            f"that is a sub-dtype of np.inexact), but argument leaf {i} has "
                            f"dtype {dt.name}. Use vjp/jvp for integer inputs.")


def _at_front(x, d, n):
    """x with its batch dim d moved to the front (broadcast if d is None)."""
    return batching.matchaxis(n, d, 0, x)


def _jac_blocks(rows, row_sizes, row_avals, col_avals, col_first):
    """Split a stacked Jacobian (one array per output leaf, basis on axis 0) into blocks.

    rows[j] has shape (n, *out_shape_j) where n indexes the flattened inputs (col_first=False,
    forward mode) or outputs (col_first=True, reverse mode, rows[i] has shape (m, *in_shape_i)).
    Returns blocks[j][i] of shape out_shape_j + in_shape_i.
    """
    blocks = []
    if not col_first:
        for r, oa in zip(rows, col_avals):
            per_in, offset = [], 0
            for ia, s in zip(row_avals, row_sizes):
                piece = r[offset:offset + s] if s != r.shape[0] else r
                piece = lax_shapes.reshape(piece, (s,) + oa.shape)
                piece = lax_shapes.moveaxis(piece, 0, -1) if oa.shape else piece
                per_in.append(lax_shapes.reshape(piece, oa.shape + ia.shape))
                offset += s
            blocks.append(per_in)
        return blocks
    for oa_index, (oa, s) in enumerate(zip(row_avals, row_sizes)):
        offset = sum(row_sizes[:oa_index])
        per_in = []
        for r, ia in zip(rows, col_avals):
            piece = r[offset:offset + s] if s != r.shape[0] else r
            per_in.append(lax_shapes.reshape(piece, oa.shape + ia.shape))
        blocks.append(per_in)
    return blocks


def _nest(blocks, out_tree, in_tree):
    return tree_unflatten(out_tree, [tree_unflatten(in_tree, [_to_numpy(b) for b in row])
                                     for row in blocks])


def jacfwd(fun, argnums=0, has_aux=False):
    """The Jacobian by forward mode: vmap of jvp over the standard basis (one batched pass)."""
    def jacfun(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), 'jacfwd')
        dyn = args[nums[0]] if single else tuple(args[i] for i in nums)
        flat_in, in_tree = tree_flatten(dyn)
        _arg_avals(flat_in, 'jacfwd', fun)
        _require_float(flat_in, 'jacfwd')
        f = _with_args_replaced(fun, args, nums, kwargs)
        out_box, aux_box = [], []

        def f_flat(*xs):
            d = tree_unflatten(in_tree, xs)
            out = f(d) if single else f(*d)
            if has_aux:
                out, aux = out
                aux_box.append(tree_map(_strip_jvp, aux))
            flat_out, out_tree = tree_flatten(out)
            out_box.append(out_tree)
            return flat_out

        basis, sizes, n = _std_basis(flat_in)
        k = len(flat_in)

        def push(*ts):
            po, to = ad.jvp_flat(f_flat, flat_in, list(ts))
            return po + [ad.instantiate_zeros(t) for t in to]

        outs, dims = batching.batch_flat(push, basis, [0] * k, n)
        m = len(outs) // 2
        primal_out = outs[:m]
        jac_rows = [_at_front(x, d, n) for x, d in zip(outs[m:], dims[m:])]
        out_avals = [get_aval(p) for p in primal_out]
        in_avals = [get_aval(x) for x in flat_in]
        blocks = _jac_blocks(jac_rows, sizes, in_avals, out_avals, col_first=False)
        jac = _nest(blocks, out_box[0], in_tree)
        return (jac, aux_box[0]) if has_aux else jac
    return jacfun


def _strip_jvp(x):
    trace = core.current_trace()
    if isinstance(trace, ad.JVPTrace):
        return trace.unpack(x)[0]
    return x


# ---------------------------------------------------------------------------------------------
# Reverse mode


def _residuals_as_arrays(residuals):
    # Residuals are array constants of the linear function: constvars (not literals) when it
    # is traced, as in JAX.
    return [np.asarray(r) if isinstance(r, np.generic) else r for r in residuals]


def linearize(fun, *primals):
    """(fun(*primals), f_jvp): the primal runs once; f_jvp evaluates only the linear jaxpr."""
    flat_p, in_tree = tree_flatten(primals)
    _arg_avals(flat_p, 'linearize', fun)
    out_box = []
    primals_out, jaxpr, residuals, zero_out = ad.linearize_flat(
        _flat_fun(fun, in_tree, out_box, 'linearize'), flat_p)
    out_tree = out_box[0]
    residuals = _residuals_as_arrays(residuals)
    out_avals = [ad.tangent_aval(get_aval(p)) for p in primals_out]

    def f_jvp(*tangents):
        flat_t, tree_t = tree_flatten(tangents)
        if tree_t != in_tree:
            raise TypeError(f"linearize: the linear function expects tangents structured like "
                            f"the primals, {in_tree}, got {tree_t}")
        flat_t = [_check_tangent(p, t, i, 'linearize') for i, (p, t) in enumerate(zip(flat_p, flat_t))]
        flat_t = [ad.instantiate_zeros(t) if type(t) is Zero else t for t in flat_t]
        nz_out = iter(core.eval_jaxpr(jaxpr, residuals, *flat_t))
        outs = [ad.zeros_like_aval(a) if z else next(nz_out) for a, z in zip(out_avals, zero_out)]
        return tree_unflatten(out_tree, [_to_numpy(x) for x in outs])
    return tree_unflatten(out_tree, [_to_numpy(x) for x in primals_out]), f_jvp


def _vjp_flat(fun, flat_p, in_tree, has_aux, transform):
    out_box, aux_box = [], []

    def f_flat(*xs):
        out = fun(*tree_unflatten(in_tree, xs))
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{transform} with has_aux=True expects the function to return a "
                                f"pair (output, auxiliary data), got {type(out).__name__}")
            out, aux = out
            aux_box.append(tree_map(_strip_jvp, aux))
        flat_out, out_tree = tree_flatten(out)
        _check_outputs(flat_out, transform, fun)
        out_box.append(out_tree)
        return flat_out

    primals_out, jaxpr, residuals, zero_out = ad.linearize_flat(f_flat, flat_p)
    residuals = _residuals_as_arrays(residuals)
    out_tree = out_box[0]
    in_avals = [get_aval(p) for p in flat_p]
    out_avals = [get_aval(p) for p in primals_out]

    def vjp_flat(flat_ct):
        nz_cts = [ct for ct, z in zip(flat_ct, zero_out) if not z]
        args = [ad.UndefinedPrimal(v.aval) for v in jaxpr.invars]
        cts_in = ad.backward_pass(jaxpr, residuals, args, nz_cts)
        return [ad.zeros_like_aval(a) if type(ct) is Zero else ct for ct, a in zip(cts_in, in_avals)]

    return primals_out, out_tree, out_avals, vjp_flat, (aux_box[0] if has_aux else None)


def vjp(fun, *primals, has_aux=False):
    """(fun(*primals), vjp_fn[, aux]); vjp_fn(ct) returns one cotangent per primal."""
    flat_p, in_tree = tree_flatten(primals)
    _arg_avals(flat_p, 'vjp', fun)
    primals_out, out_tree, out_avals, vjp_flat, aux = _vjp_flat(fun, flat_p, in_tree, has_aux, 'vjp')

    def vjp_fn(ct):
        flat_ct, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"vjp: the cotangent must have the structure of the primal output, "
                            f"{out_tree}, got {ct_tree}")
        for i, (c, a) in enumerate(zip(flat_ct, out_avals)):
            ca = get_aval(c)
            if ca.shape != a.shape:
                raise ValueError(f"vjp: cotangent leaf {i} has shape {ca.shape} but the primal "
                                 f"output has shape {a.shape}")
            if dtypes.is_float(a.dtype) and ca.dtype != a.dtype:
                if not ca.weak_type:
                    raise TypeError(f"vjp: cotangent leaf {i} has dtype {ca.dtype.name} but the primal "
                                    f"output has dtype {a.dtype.name}; cotangent dtypes must equal output dtypes")
                flat_ct[i] = convert_element_type(c, a.dtype)  # a Python scalar takes the output's dtype
        return tree_unflatten(in_tree, [_to_numpy(x) for x in vjp_flat(flat_ct)])

    out = tree_unflatten(out_tree, [_to_numpy(x) for x in primals_out])
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def linear_transpose(fun, *primals):
    """The transpose of a linear function, traced at the shapes and dtypes of primals."""
    flat_p, in_tree = tree_flatten(primals)
    in_avals = _arg_avals(flat_p, 'linear_transpose', fun)
    out_box = []
    jaxpr, consts = pe.trace_to_jaxpr(_flat_fun(fun, in_tree, out_box, 'linear_transpose'), in_avals)
    out_tree = out_box[0]
    out_avals = [v.aval for v in jaxpr.outvars]

    def transposed(*cts):
        ct = cts[0] if len(cts) == 1 else cts
        flat_ct, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"linear_transpose: the cotangent must have the structure of the "
                            f"function's output, {out_tree}, got {ct_tree}")
        for i, (c, a) in enumerate(zip(flat_ct, out_avals)):
            if get_aval(c).shape != a.shape:
                raise ValueError(f"linear_transpose: cotangent leaf {i} has shape "
                                 f"{get_aval(c).shape}, expected {a.shape}")
        try:
            cts_in = ad.backward_pass(jaxpr, consts, [ad.UndefinedPrimal(a) for a in in_avals], flat_ct)
        except ad.NonLinearError as e:
            raise TypeError(f"linear_transpose of {_fun_name(fun)}: {e}") from None
        outs = [ad.zeros_like_aval(a) if type(c) is Zero else c for c, a in zip(cts_in, in_avals)]
        return tree_unflatten(in_tree, [_to_numpy(x) for x in outs])
    return transposed


def value_and_grad(fun, argnums=0, has_aux=False, allow_int=False):
    """(fun(*args), the gradient of fun with respect to args[argnums])."""
    def vg(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), 'grad')
        dyn = tuple(args[i] for i in nums)
        flat_p, in_tree = tree_flatten(dyn)
        _arg_avals(flat_p, 'grad', fun)
        if not allow_int:
            _require_float(flat_p, 'grad')
        f = _with_args_replaced(fun, args, nums, kwargs)
        primals_out, out_tree, out_avals, vjp_flat, aux = _vjp_flat(f, flat_p, in_tree, has_aux, 'grad')
        if not treedef_is_leaf(out_tree) or len(out_avals) != 1 or out_avals[0].shape != ():
            shapes = [a.shape for a in out_avals]
            raise TypeError(f"Gradient only defined for scalar-output functions. Output of "
                            f"{_fun_name(fun)} had shape(s) {shapes[0] if len(shapes) == 1 else shapes}.")
        aval = out_avals[0]
        if not dtypes.is_float(aval.dtype) or aval.dtype.kind == 'c':
            raise TypeError(f"grad requires a real floating-point scalar output; {_fun_name(fun)} "
                            f"returned a scalar of dtype {aval.dtype.name}")
        g = vjp_flat([np.ones((), aval.dtype)[()]])
        grads = tree_unflatten(in_tree, [_to_numpy(x) for x in g])
        grads = grads[0] if single else grads
        out = _to_numpy(primals_out[0])
        return ((out, aux), grads) if has_aux else (out, grads)
    return vg


def grad(fun, argnums=0, has_aux=False, allow_int=False):
    """The gradient of a scalar function with respect to args[argnums] (reverse mode).

    With allow_int=True, integer and boolean inputs are allowed and get float0 zeros, as in JAX.
    """
    vg = value_and_grad(fun, argnums, has_aux, allow_int)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return g


def jacrev(fun, argnums=0, has_aux=False):
    """The Jacobian by reverse mode: vmap of the vjp over the standard basis of the output."""
    def jacfun(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), 'jacrev')
        dyn = args[nums[0]] if single else tuple(args[i] for i in nums)
        flat_in, in_tree = tree_flatten(dyn)
        _arg_avals(flat_in, 'jacrev', fun)
        _require_float(flat_in, 'jacrev')
        f = _with_args_replaced(fun, args, nums, kwargs)
        g = (lambda d: f(d)) if single else f
        wrapped_tree = tree_flatten((dyn,) if single else dyn)[1]
        primals_out, out_tree, out_avals, vjp_flat, aux = _vjp_flat(
            g, flat_in, wrapped_tree, has_aux, 'jacrev')
        basis, sizes, m = _std_basis(primals_out)
        rows, dims = batching.batch_flat(lambda *cts: vjp_flat(list(cts)), basis,
                                         [0] * len(basis), m)
        rows = [_at_front(x, d, m) for x, d in zip(rows, dims)]
        in_avals = [get_aval(x) for x in flat_in]
        blocks = _jac_blocks(rows, sizes, out_avals, in_avals, col_first=True)
        jac = _nest(blocks, out_tree, in_tree)
        return (jac, aux) if has_aux else jac
    return jacfun


def hessian(fun, argnums=0, has_aux=False):
    """jacfwd of jacrev."""
    return jacfwd(jacrev(fun, argnums, has_aux), argnums, has_aux)


# ---------------------------------------------------------------------------------------------
# vmap


def _flatten_axes(what, tree, axes, nleaves):
    """Broadcast a pytree prefix of axes (None = unmapped) to the leaves of `tree`."""
    if axes is None or isinstance(axes, int):
        return [axes] * nleaves
    axes_leaves, axes_tree = tree_flatten(axes, is_leaf=lambda x: x is None)
    try:
        subtrees = axes_tree.flatten_up_to(tree)
    except ValueError as e:
        raise ValueError(f"vmap {what} specification must be a tree prefix of the corresponding "
                         f"value, got specification {axes!r}: {e}") from None
    out = []
    for ax, sub in zip(axes_leaves, subtrees):
        if ax is not None and not isinstance(ax, int):
            raise TypeError(f"vmap {what} must be ints or None, got {ax!r}")
        out.extend([ax] * len(tree_flatten(sub)[0]))
    return out


def vmap(fun, in_axes=0, out_axes=0, axis_size=None):
    """Map fun over an axis of its arguments, keeping the batch as an array dimension."""
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or isinstance(in_axes, (int, tuple, dict))):
        raise TypeError(f"vmap in_axes must be an int, None, or a tuple of entries per positional "
                        f"argument, got {in_axes!r}")

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap in_axes specification must be a tree prefix of the arguments: "
                             f"in_axes has {len(in_axes)} entries but the function was called with "
                             f"{len(args)} positional arguments")
        flat, in_tree = tree_flatten((args, kwargs))
        avals = _arg_avals(flat, 'vmap', fun)
        args_tree_leaves = tree_flatten(args)[0]
        axes = _flatten_axes('in_axes', args, in_axes, len(args_tree_leaves))
        axes += [0] * (len(flat) - len(axes))
        in_dims, sizes = [], {}
        for i, (x, a, ax) in enumerate(zip(flat, avals, axes)):
            if ax is None:
                in_dims.append(None)
                continue
            if not -a.ndim <= ax < a.ndim:
                raise ValueError(f"vmap was requested to map its argument along axis {ax}, which "
                                 f"implies that its rank should be at least {ax + 1 if ax >= 0 else -ax}, "
                                 f"but argument leaf {i} has rank {a.ndim} (its shape is {a.shape})")
            d = ax % a.ndim
            in_dims.append(d)
            sizes.setdefault(a.shape[d], []).append(i)
        if len(sizes) > 1:
            detail = '; '.join(f"size {s} for argument leaves {ix}" for s, ix in sizes.items())
            raise ValueError(f"vmap got inconsistent sizes for array axes to be mapped: {detail}")
        if sizes:
            n = next(iter(sizes))
            if axis_size is not None and axis_size != n:
                raise ValueError(f"vmap got axis_size={axis_size} but the mapped axes have size {n}")
        elif axis_size is None:
            raise ValueError("vmap must have at least one non-None value in in_axes, or be given "
                             "axis_size")
        else:
            n = axis_size
        out_box = []
        outs, dims = batching.batch_flat(_flat_fun(lambda a, k: fun(*a, **k), in_tree, out_box, 'vmap'),
                                         flat, in_dims, n)
        out_tree = out_box[0]
        out_tree_obj = tree_unflatten(out_tree, [0] * len(outs))
        oaxes = _flatten_axes('out_axes', out_tree_obj, out_axes, len(outs))
        results = []
        for x, d, oa in zip(outs, dims, oaxes):
            if oa is None:
                if d is not None:
                    raise ValueError("vmap has mapped output but out_axes is None")
                results.append(_to_numpy(x))
                continue
            ndim = get_aval(x).ndim + (d is None)
            if not -ndim <= oa < ndim:
                raise ValueError(f"vmap out_axes {oa} is out of range for an output of rank {ndim}")
            results.append(_to_numpy(batching.matchaxis(n, d, oa % ndim, x)))
        return tree_unflatten(out_tree, results)
    return batched
