"""The errors fxad raises when a traced value is used where a concrete one is needed,
escapes its transformation, or is handed to NumPy directly."""


class FxadTypeError(TypeError):
    """Base class of fxad's tracer-related TypeErrors."""


class ConcretizationTypeError(FxadTypeError):
    """An abstract tracer was used where Python needs a concrete value (bool, int, float, index)."""

    def __init__(self, tracer, operation):
        super().__init__(
            f"Abstract tracer value encountered where a concrete value is expected: "
            f"{operation} was called on {tracer!r}.\n"
            f"The value depends on a traced argument (under jit, make_jaxpr or vmap only its "
            f"shape and dtype are known), so Python control flow cannot branch on it. "
            f"Use fxad.lax.cond or fxad.lax.switch for conditionals and fxad.lax.while_loop or "
            f"fxad.lax.fori_loop for loops, fnp.where for elementwise selection, or mark the "
            f"argument static with static_argnums / static_argnames.")


class TracerArrayConversionError(FxadTypeError):
    """A tracer was passed to a NumPy function (np.asarray, np.sin, ...)."""

    def __init__(self, tracer):
        super().__init__(
            f"The traced value {tracer!r} cannot be converted to a NumPy array. "
            f"Inside a transformed function use fxad.numpy (import fxad.numpy as fnp) instead of "
            f"numpy: fnp.sin(x), not np.sin(x).")


class TracerIntegerConversionError(ConcretizationTypeError):
    """An abstract tracer was used as a Python integer (__index__): a shape, a list index, range()."""

    def __init__(self, tracer):
        ConcretizationTypeError.__init__(self, tracer, '__index__ (use as a Python integer)')
        self.args = (self.args[0] + " For a traced index into an array use fnp.take, "
                     "fxad.lax.dynamic_slice or x[i] on the traced array itself.",)


class NonConcreteBooleanIndexError(FxadTypeError):
    """A boolean mask whose values are unknown (traced) was used as an index: x[mask]."""

    def __init__(self, aval):
        super().__init__(
            f"Array boolean indices must be concrete; got a traced mask {aval.str_short()}. "
            f"The shape of x[mask] depends on how many entries of the mask are True, which is "
            f"unknown while tracing under jit, make_jaxpr or vmap. Use fnp.where(mask, x, 0) to "
            f"keep the shape (for example to sum over the masked entries), or compute the mask "
            f"outside the transformation.")


class UnexpectedTracerError(Exception):
    """A tracer escaped the transformation that created it and was used after it ended."""

    def __init__(self, tracer, where):
        self.tracer = tracer
        super().__init__(
            f"Encountered an unexpected tracer {tracer!r} in {where}. A tracer belongs to one "
            f"transformation (jit, grad, vmap, jvp, ...) and cannot be used after that "
            f"transformation has returned: it probably leaked out through a global variable, "
            f"a list or an attribute that the transformed function wrote to. Return the value "
            f"from the transformed function instead.")


class JaxprTypeError(TypeError):
    """check_jaxpr found an ill-typed or ill-scoped jaxpr."""
