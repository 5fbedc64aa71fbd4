"""fxad's core: abstract values, primitives, traces and tracers, and the jaxpr IR.

Every transformation is a Trace/Tracer pair plus per-primitive rules; this module knows no
primitive and no transformation, only how `bind` reaches the current trace.

The interpreter stack is JAX's explicit-current-trace design: a thread-local `current trace`,
and each trace knows its parent. `Primitive.bind` hands the operation to the current trace; a
trace processes values that are its own tracers and treats every other value (a NumPy array,
a tracer of an enclosing transformation) as a constant, running the rule's own operations on
its parent trace. Nesting is therefore perturbation-safe by construction.
"""
import threading

import numpy as np

from . import dtypes
from .errors import (ConcretizationTypeError, JaxprTypeError, TracerArrayConversionError,
                     TracerIntegerConversionError, UnexpectedTracerError)

# ---------------------------------------------------------------------------------------------
# Abstract values


class ShapedArray:
    """The abstract value of an array: shape, dtype and whether its dtype is weak."""
    __slots__ = ('shape', 'dtype', 'weak_type')

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if type(dtype) is np.dtype or isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other):
        return (type(other) is ShapedArray and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def strip_weak_type(self):
        return ShapedArray(self.shape, self.dtype) if self.weak_type else self

    def update(self, shape=None, dtype=None, weak_type=None):
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def str_short(self):
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        return f"ShapedArray({self.str_short()}{', weak_type=True' if self.weak_type else ''})"


_PYTHON_SCALAR_AVALS = {t: ShapedArray((), d, True) for t, d in dtypes.python_scalar_dtypes.items()}
# Avals of scalar types, filled in as NumPy scalar types are met (each has one dtype).
_SCALAR_AVALS = dict(_PYTHON_SCALAR_AVALS)
_new_aval = object.__new__


def get_aval(x):
    """The abstract value of a tracer, NumPy value or Python scalar; TypeError for anything else."""
    t = type(x)
    if t is np.ndarray:
        aval = _new_aval(ShapedArray)  # the hot path: skip __init__'s normalization
        aval.shape = x.shape
        aval.dtype = x.dtype
        aval.weak_type = False
        return aval
    aval = _SCALAR_AVALS.get(t)
    if aval is not None:
        return aval
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, np.generic):
        aval = _SCALAR_AVALS[t] = ShapedArray((), x.dtype)
        return aval
    if isinstance(x, np.ndarray):
        return ShapedArray(x.shape, x.dtype)
    raise TypeError(f"Value {x!r:.80} of type {t.__name__} is not a valid fxad type: expected an "
                    f"array, a NumPy scalar or a Python bool/int/float/complex.")


def is_literalable(x):
    """Python and NumPy scalars are inlined into jaxprs as literals; arrays become constvars."""
    return type(x) in _PYTHON_SCALAR_AVALS or isinstance(x, np.generic)


def concrete_or_none(x):
    """The concrete (NumPy or Python) value behind x, or None if x is abstract."""
    return x.to_concrete_value() if isinstance(x, Tracer) else x


# ---------------------------------------------------------------------------------------------
# Primitives


class Primitive:
    """A named operation and its rule table.

    The rules live on the primitive itself, one attribute per transformation, so a lookup is a
    single attribute read on the hot path:
      impl            (*values, **params) -> value(s)             evaluation on NumPy values
      abstract_eval   (*avals, **params) -> aval (list if multiple_results)
      jvp             (primals, tangents, **params) -> (primal_out, tangent_out)
      transpose       (cotangent, *args, **params) -> cotangents per arg (args may be UndefinedPrimal)
      batch           (values, batch_dims, **params) -> (value_out, batch_dim_out)
      partial_eval    (trace, args, params) -> outputs    (higher-order primitives only)
    A primitive with no derivative declares `nondifferentiable = True` (zero tangents).
    """

    def __init__(self, name, multiple_results=False):
        self.name = name
        self.multiple_results = multiple_results
        self.impl = None
        self.abstract_eval = None
        self.jvp = None
        self.transpose = None
        self.batch = None
        self.partial_eval = None
        self.nondifferentiable = False
        self.param_formatters = {}

    def bind(self, *args, **params):
        return _state.trace.process_primitive(self, args, params)

    def __repr__(self):
        return self.name


# ---------------------------------------------------------------------------------------------
# Traces and tracers


class Trace:
    """One active transformation. `parent` is the trace its rules run on."""
    __slots__ = ('parent', 'valid', '__weakref__')

    def __init__(self, parent):
        self.parent = parent
        self.valid = True

    def process_primitive(self, primitive, args, params):
        raise NotImplementedError

    def invalidate(self):
        self.valid = False

    def __repr__(self):
        return f"{type(self).__name__}"


class EvalTrace(Trace):
    """The bottom of every stack: run the primitive's NumPy implementation."""
    __slots__ = ()

    def process_primitive(self, primitive, args, params):
        # The shape rule runs eagerly too, so eager and traced code reject the same inputs.
        # A signature that passed it once is remembered (most programs repeat few signatures).
        key = _eager_signature(primitive, args, params)
        if key is None or key not in _checked_signatures:
            for x in args:
                if isinstance(x, Tracer):
                    raise UnexpectedTracerError(
                        x, f"a call to '{primitive.name}' outside any active transformation")
            primitive.abstract_eval(*[get_aval(x) for x in args], **params)
            if key is not None:
                if len(_checked_signatures) > 100_000:
                    _checked_signatures.clear()
                _checked_signatures.add(key)
        return primitive.impl(*args, **params)


_checked_signatures = set()


def _eager_signature(primitive, args, params):
    """A hashable key of (primitive, argument types and shapes, params), or None."""
    key = [primitive]
    for x in args:
        t = type(x)
        if t is np.ndarray:
            key.append(x.shape)
            key.append(x.dtype)
        elif t in _SCALAR_AVALS:
            key.append(t)
        else:
            return None  # tracers (an error), other types: take the full path
    if params:
        key.append(tuple(params.items()))
        key = tuple(key)
        try:
            hash(key)
        except TypeError:
            return None  # unhashable params (arrays, jaxprs with unhashable consts)
        return key
    return tuple(key)


eval_trace = EvalTrace(None)


class _ThreadState(threading.local):
    def __init__(self):
        self.trace = eval_trace


_state = _ThreadState()


def current_trace():
    return _state.trace


class set_current_trace:
    """Context manager making `trace` the current trace of this thread."""
    __slots__ = ('trace', 'prev')

    def __init__(self, trace):
        self.trace = trace

    def __enter__(self):
        self.prev = _state.trace
        _state.trace = self.trace
        return self.trace

    def __exit__(self, *exc):
        _state.trace = self.prev
        return False


def bind_on(trace, primitive, args, params):
    """Bind `primitive` with `trace` as the current trace (how a rule runs on a parent trace)."""
    prev = _state.trace
    _state.trace = trace
    try:
        return primitive.bind(*args, **params)
    finally:
        _state.trace = prev


def call_on(trace, fun, *args, **kwargs):
    """Call `fun` with `trace` as the current trace."""
    prev = _state.trace
    _state.trace = trace
    try:
        return fun(*args, **kwargs)
    finally:
        _state.trace = prev


class Tracer:
    """A value seen by a transformation. Subclasses define `aval` and may be concrete.

    Tracers take priority over NumPy arrays in mixed arithmetic and refuse conversion to NumPy.
    Operators and array methods (+, @, .sum, .at, ...) are installed by fxad.numpy.
    """
    __slots__ = ('_trace',)
    __array_priority__ = 1000
    __array_ufunc__ = None
    __hash__ = None

    @property
    def aval(self):
        raise NotImplementedError

    def to_concrete_value(self):
        """The concrete NumPy value behind this tracer, or None if it is abstract."""
        return None

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def _concrete(self, operation):
        if not self._trace.valid:
            raise UnexpectedTracerError(self, f"{operation} after its transformation ended")
        value = self.to_concrete_value()
        if value is None:
            raise ConcretizationTypeError(self, operation)
        return value

    def __bool__(self):
        return bool(self._concrete('bool()'))

    def __int__(self):
        return int(self._concrete('int()'))

    def __float__(self):
        return float(self._concrete('float()'))

    def __complex__(self):
        return complex(self._concrete('complex()'))

    def __index__(self):
        if not dtypes.is_integer(self.dtype) and not dtypes.is_bool(self.dtype):
            raise TypeError(f"Only integer values can be used as an index, got {self!r}")
        value = self.to_concrete_value()
        if value is None:
            raise TracerIntegerConversionError(self)
        return int(value)

    def __array__(self, *args, **kwargs):
        raise TracerArrayConversionError(self)

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a rank-0 traced value)")
        return self.aval.shape[0]

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a rank-0 traced value")
        return (self[i] for i in range(self.aval.shape[0]))

    def __repr__(self):
        value = self.to_concrete_value() if self._trace.valid else None
        base = f"Traced<{self.aval.str_short()}>with<{type(self._trace).__name__}>"
        return base if value is None else f"{base}(value={value!r})"


class _ArrayMeta(type):
    def __instancecheck__(cls, x):
        return isinstance(x, (np.ndarray, np.generic, Tracer))


class Array(metaclass=_ArrayMeta):
    """For isinstance checks, like jax.Array: NumPy arrays and scalars (fxad's eager values)
    and tracers are Arrays."""


def escaped_tracer_check(x):
    if isinstance(x, Tracer) and not x._trace.valid:
        raise UnexpectedTracerError(x, "an operation after its transformation ended")


# ---------------------------------------------------------------------------------------------
# The jaxpr IR


class Var:
    """A variable of a jaxpr: named by the printer, typed by its aval."""
    __slots__ = ('aval',)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Var<{self.aval.str_short()}>"


class Literal:
    """A constant scalar inlined into an equation."""
    __slots__ = ('val', 'aval')

    def __init__(self, val, aval):
        self.val = val
        self.aval = aval

    def __repr__(self):
        return f"Literal({self.val!r})"


class JaxprEqn:
    __slots__ = ('primitive', 'invars', 'outvars', 'params')

    def __init__(self, primitive, invars, outvars, params):
        self.primitive = primitive
        self.invars = invars
        self.outvars = outvars
        self.params = params

    def __repr__(self):
        return pp_eqn_standalone(self)


class Jaxpr:
    """constvars; invars. let eqns in outvars -- JAX's first-order IR."""
    __slots__ = ('constvars', 'invars', 'outvars', 'eqns', 'compiled_impl')

    def __init__(self, constvars, invars, outvars, eqns):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.eqns = list(eqns)
        self.compiled_impl = None  # see eval_jaxpr_impl

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return pp_jaxpr(self)

    __repr__ = __str__

    def pretty_print(self, width=80):
        return pp_jaxpr(self, width)


class ClosedJaxpr:
    """A jaxpr together with the values of its constvars."""
    __slots__ = ('jaxpr', 'consts')

    def __init__(self, jaxpr, consts):
        self.jaxpr = jaxpr
        self.consts = list(consts)

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def pretty_print(self, width=80):
        return pp_jaxpr(self.jaxpr, width)


def eval_jaxpr(jaxpr, consts, *args):
    """Evaluate a jaxpr on the current trace; returns the list of outputs."""
    return _eval(jaxpr, consts, args, False)


def eval_jaxpr_impl(jaxpr, consts, *args):
    """Evaluate a jaxpr on concrete values by calling each primitive's impl directly.

    No trace dispatch and no shape rules: the jaxpr was checked when it was built. This is what
    an eagerly called `jit` runs. The jaxpr is compiled once into a straight-line Python
    function of NumPy calls (one line per equation); very long jaxprs are interpreted instead.
    """
    fn = jaxpr.compiled_impl
    if fn is None:
        fn = jaxpr.compiled_impl = _compile_impl(jaxpr)
    if fn is False or len(args) != len(jaxpr.invars) or len(consts) != len(jaxpr.constvars):
        return _eval(jaxpr, consts, args, True)
    return fn(*consts, *args)


_MAX_COMPILED_EQNS = 2000


def _compile_impl(jaxpr):
    """Python source calling each equation's impl in order, exec'd once; False if too long."""
    if len(jaxpr.eqns) > _MAX_COMPILED_EQNS:
        return False
    names = {}
    env = {}

    def atom(v):
        if type(v) is Literal:
            key = f"k{len(env)}"
            env[key] = v.val
            return key
        return names[v]

    for v in jaxpr.constvars + jaxpr.invars:
        names[v] = f"v{len(names)}"
    params = ', '.join(names[v] for v in jaxpr.constvars + jaxpr.invars)
    lines = [f"def compiled({params}):"]
    for i, eqn in enumerate(jaxpr.eqns):
        env[f"f{i}"] = eqn.primitive.impl
        call_args = [atom(v) for v in eqn.invars]
        if eqn.params:
            env[f"p{i}"] = eqn.params
            call_args.append(f"**p{i}")
        call = f"f{i}({', '.join(call_args)})"
        for v in eqn.outvars:
            names[v] = f"v{len(names)}"
        outs = ', '.join(names[v] for v in eqn.outvars)
        if not eqn.primitive.multiple_results:
            lines.append(f"    {outs} = {call}")
        elif eqn.outvars:
            lines.append(f"    {outs}, = {call}")
        else:
            lines.append(f"    {call}")
    lines.append(f"    return [{', '.join(atom(v) for v in jaxpr.outvars)}]")
    exec('\n'.join(lines), env)
    return env['compiled']


def _eval(jaxpr, consts, args, use_impl):
    if len(args) != len(jaxpr.invars) or len(consts) != len(jaxpr.constvars):
        raise TypeError(f"eval_jaxpr: the jaxpr takes {len(jaxpr.constvars)} consts and "
                        f"{len(jaxpr.invars)} arguments, got {len(consts)} and {len(args)}")
    env = dict(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        invals = [v.val if type(v) is Literal else env[v] for v in eqn.invars]
        prim = eqn.primitive
        out = prim.impl(*invals, **eqn.params) if use_impl else prim.bind(*invals, **eqn.params)
        if prim.multiple_results:
            env.update(zip(eqn.outvars, out))
        else:
            env[eqn.outvars[0]] = out
    return [v.val if type(v) is Literal else env[v] for v in jaxpr.outvars]


def jaxpr_as_fun(closed_jaxpr):
    """A Python function evaluating a closed jaxpr (list of outputs)."""
    return lambda *args: eval_jaxpr(closed_jaxpr.jaxpr, closed_jaxpr.consts, *args)


def subjaxprs(params):
    """The (closed) jaxprs held in an equation's params, in order."""
    for value in params.values():
        if isinstance(value, (Jaxpr, ClosedJaxpr)):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, (Jaxpr, ClosedJaxpr)):
                    yield item


def _types_match(expected, actual):
    return expected.shape == actual.shape and expected.dtype == actual.dtype


def check_operand_avals(what, expected, avals, noun='operand'):
    """TypeError unless `avals` match a sub-jaxpr's in_avals `expected` (shapes and dtypes)."""
    if len(avals) != len(expected):
        raise TypeError(f"{what} takes {len(expected)} {noun}s, got {len(avals)}")
    for i, (e, a) in enumerate(zip(expected, avals)):
        if not _types_match(e, a):
            raise TypeError(f"{what} {noun} {i} should be {e.str_short()}, got {a.str_short()}")


def check_jaxpr(jaxpr):
    """Type-check shapes, dtypes and scoping; JaxprTypeError names the offending equation."""
    if isinstance(jaxpr, ClosedJaxpr):
        if len(jaxpr.consts) != len(jaxpr.jaxpr.constvars):
            raise JaxprTypeError(f"ClosedJaxpr has {len(jaxpr.consts)} consts for "
                                 f"{len(jaxpr.jaxpr.constvars)} constvars")
        jaxpr = jaxpr.jaxpr
    work = [jaxpr]
    while work:
        _check_one_jaxpr(work.pop(), work)


def _check_one_jaxpr(jaxpr, work):
    defined = set()

    def define(v, where):
        if not isinstance(v, Var):
            raise JaxprTypeError(f"{where}: expected a Var, got {v!r}")
        if v in defined:
            raise JaxprTypeError(f"{where}: variable {v!r} is defined twice")
        defined.add(v)

    for v in jaxpr.constvars:
        define(v, "constvars")
    for v in jaxpr.invars:
        define(v, "invars")
    for i, eqn in enumerate(jaxpr.eqns):
        where = f"equation {i} ({pp_eqn_standalone(eqn)})"
        for v in eqn.invars:
            if type(v) is Literal:
                continue
            if v not in defined:
                raise JaxprTypeError(f"{where}: variable {v!r} is used before it is defined")
        rule = eqn.primitive.abstract_eval
        if rule is None:
            raise JaxprTypeError(f"{where}: primitive '{eqn.primitive.name}' has no shape rule")
        try:
            out_avals = rule(*[v.aval for v in eqn.invars], **eqn.params)
        except (TypeError, ValueError) as e:
            raise JaxprTypeError(f"{where}: {e}") from e
        if not eqn.primitive.multiple_results:
            out_avals = [out_avals]
        if len(out_avals) != len(eqn.outvars):
            raise JaxprTypeError(f"{where}: {len(eqn.outvars)} outputs for a primitive that "
                                 f"gives {len(out_avals)}")
        for v, aval in zip(eqn.outvars, out_avals):
            if not _types_match(aval, v.aval):
                raise JaxprTypeError(f"{where}: output typed {v.aval.str_short()} but the "
                                     f"primitive gives {aval.str_short()}")
            define(v, where)
        for sub in subjaxprs(eqn.params):
            work.append(sub.jaxpr if isinstance(sub, ClosedJaxpr) else sub)
    for v in jaxpr.outvars:
        if type(v) is not Literal and v not in defined:
            raise JaxprTypeError(f"output {v!r} is not defined in the jaxpr")


# ---------------------------------------------------------------------------------------------
# Printing, in JAX's notation


def _encode_name(n):
    s = ''
    while not s or n:
        n, i = divmod(n, 26)
        s = chr(97 + i) + s
    return s


class _Names:
    """Names variables a, b, ..., z, ba, bb, ... in order of first appearance."""

    def __init__(self):
        self.names = {}

    def __getitem__(self, v):
        name = self.names.get(v)
        if name is None:
            name = self.names[v] = _encode_name(len(self.names))
        return name


def _name_all(jaxpr, names):
    # Names follow the printed order: constvars, invars, then per equation its outputs
    # before the jaxprs in its params.
    stack = [jaxpr]
    while stack:
        j = stack.pop()
        for v in j.constvars:
            names[v]
        for v in j.invars:
            names[v]
        used = _used_vars(j)
        for eqn in j.eqns:
            for v in eqn.outvars:
                if v in used:
                    names[v]
            subs = [s.jaxpr if isinstance(s, ClosedJaxpr) else s for s in subjaxprs(eqn.params)]
            for s in subs:
                _name_all(s, names)


def _pp_atom(v, names):
    if type(v) is Literal:
        val = v.val
        text = str(val.item() if isinstance(val, np.generic) and val.dtype.kind == 'b' else val)
        return f"{text}:{v.aval.str_short()}"
    return names[v]


def _pp_param(key, value, names, indent, width, formatter):
    if formatter is not None:
        return f"{key}={formatter(value)}"
    if isinstance(value, (Jaxpr, ClosedJaxpr)):
        j = value.jaxpr if isinstance(value, ClosedJaxpr) else value
        return f"{key}={_pp_jaxpr_lines(j, names, indent + len(key) + 1, width)}"
    if isinstance(value, tuple) and value and all(isinstance(x, (Jaxpr, ClosedJaxpr)) for x in value):
        inner = [_pp_jaxpr_lines(x.jaxpr if isinstance(x, ClosedJaxpr) else x, names, indent + 2, width)
                 for x in value]
        if all('\n' not in s for s in inner) and sum(map(len, inner)) + indent < width:
            return f"{key}=({' '.join(inner)})"
        pad = ' ' * (indent + 2)
        return f"{key}=(\n{pad}" + f"\n{pad}".join(inner) + f"\n{' ' * indent})"
    if isinstance(value, np.dtype):
        return f"{key}={value.name}"
    if isinstance(value, type) and issubclass(value, np.generic):
        return f"{key}={np.dtype(value).name}"
    if isinstance(value, str):
        return f"{key}={value}"
    if callable(value) and hasattr(value, '__name__'):
        return f"{key}={value.__name__}"
    return f"{key}={value!r}"


def _pp_eqn(eqn, names, indent, width, used):
    lhs = ' '.join(f"{names[v] if v in used else '_'}:{v.aval.str_short()}" for v in eqn.outvars)
    args = ' '.join(_pp_atom(v, names) for v in eqn.invars)
    prim = eqn.primitive
    head = f"{lhs} = " if lhs else ''
    if not eqn.params:
        return f"{head}{prim.name} {args}".rstrip()
    formatters = prim.param_formatters
    params = [_pp_param(k, v, names, indent + 2, width, formatters.get(k)) for k, v in eqn.params.items()]
    one_line = f"{head}{prim.name}[{' '.join(params)}] {args}".rstrip()
    if '\n' not in one_line and indent + len(one_line) <= width:
        return one_line
    pad = ' ' * (indent + 2)
    body = ''.join(f"\n{pad}{p}" for p in params)
    return f"{head}{prim.name}[{body}\n{' ' * indent}] {args}".rstrip()


def _used_vars(jaxpr):
    used = set(v for v in jaxpr.outvars if type(v) is Var)
    for eqn in jaxpr.eqns:
        used.update(v for v in eqn.invars if type(v) is Var)
    return used


def _pp_jaxpr_lines(jaxpr, names, indent, width):
    used = _used_vars(jaxpr)
    constvars = ' '.join(f"{names[v]}:{v.aval.str_short()}" for v in jaxpr.constvars)
    invars = ' '.join(f"{names[v]}:{v.aval.str_short()}" for v in jaxpr.invars)
    outs = [_pp_atom(v, names) for v in jaxpr.outvars]
    outvars = '(' + ', '.join(outs) + (',)' if len(outs) == 1 else ')')
    head = f"{{ lambda {constvars}; {invars}. let"
    eqn_texts = [_pp_eqn(e, names, indent + 4, width, used) for e in jaxpr.eqns]
    one_line = f"{head} {'; '.join(eqn_texts)} in {outvars} }}" if eqn_texts else f"{head} in {outvars} }}"
    if '\n' not in one_line and indent + len(one_line) <= width:
        return one_line
    pad = ' ' * (indent + 4)
    lines = [head] + [pad + t for t in eqn_texts] + [f"{' ' * (indent + 2)}in {outvars} }}"]
    return '\n'.join(lines)


def pp_jaxpr(jaxpr, width=80):
    names = _Names()
    _name_all(jaxpr, names)
    return _pp_jaxpr_lines(jaxpr, names, 0, width)


def pp_eqn_standalone(eqn):
    names = _Names()
    for v in eqn.invars:
        if type(v) is Var:
            names[v]
    return _pp_eqn(eqn, names, 0, 80, set(eqn.outvars))
