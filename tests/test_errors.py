"""Bad input and misuse give clear errors, never silent wrong answers."""
import threading

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import lax
from fxad.errors import ConcretizationTypeError, UnexpectedTracerError


def test_traced_python_index_is_a_concretization_error():
    with pytest.raises(ConcretizationTypeError, match="lax.cond"):
        fxad.jit(lambda i: [1, 2, 3][i])(1)
    with pytest.raises(ConcretizationTypeError):
        fxad.jit(lambda n: list(range(n)))(3)


def test_tracer_of_another_threads_trace_is_rejected():
    box, captured, release = {}, threading.Event(), threading.Event()

    def hold_tracer(x):
        box['t'] = x
        captured.set()
        release.wait(10)
        return x

    other = threading.Thread(target=lambda: fxad.make_jaxpr(hold_tracer)(1.0))
    other.start()
    captured.wait(10)
    try:
        with pytest.raises(UnexpectedTracerError):
            fxad.make_jaxpr(lambda y: y + box['t'])(1.0)
    finally:
        release.set()
        other.join()


def test_leaked_tracer_as_argument_is_rejected():
    leaked = []
    fxad.jit(lambda x: leaked.append(x) or x)(1.0)
    with pytest.raises(UnexpectedTracerError):
        fxad.make_jaxpr(lambda y: y * 2)(leaked[0])


def test_integer_pow_needs_an_integer_exponent():
    with pytest.raises(TypeError, match="integer"):
        lax.integer_pow(np.array([2.0]), 2.5)


def test_integer_primal_needs_float0_tangent():
    with pytest.raises(TypeError, match="float0"):
        fxad.jvp(lambda a: a * 2, (np.arange(3),), (np.ones(3),))
    _, t = fxad.jvp(lambda a: a * 2, (np.arange(3),), (np.zeros(3, fxad.dtypes.float0),))
    assert t.dtype == fxad.dtypes.float0


@pytest.mark.parametrize('f, x', [
    (lambda a: a.astype(np.int32).astype(np.float64), 1.5),
    (lambda a: a[a.astype(int)], np.ones(2)),
    (lambda a: a * a, np.ones(2)),
    (lambda a: fnp.sin(a), np.ones(2)),
])
def test_linear_transpose_of_nonlinear_function_says_so(f, x):
    with pytest.raises(TypeError, match="not linear"):
        fxad.linear_transpose(f, x)(x)


def test_eval_jaxpr_checks_argument_count():
    closed = fxad.make_jaxpr(lambda x, y: x + y)(1.0, 2.0)
    with pytest.raises(TypeError, match="2 arguments"):
        fxad.core.eval_jaxpr(closed.jaxpr, closed.consts, 1.0)


def test_check_grads_catches_a_wrong_custom_vjp_rule():
    @fxad.custom_vjp
    def g(x):
        return fnp.sin(x)
    g.defvjp(lambda x: (fnp.sin(x), x), lambda x, ct: (ct * 2.0,))   # should be ct * cos(x)
    with pytest.raises(AssertionError, match="finite differences"):
        fxad.test_util.check_grads(g, (1.0,), order=1, modes=("rev",))

    @fxad.custom_vjp
    def h(x):
        return fnp.sin(x)
    h.defvjp(lambda x: (fnp.sin(x), x), lambda x, ct: (ct * fnp.cos(x),))
    fxad.test_util.check_grads(h, (1.0,), order=1, modes=("rev",))


def test_check_grads_second_order_with_an_integer_argument():
    fxad.test_util.check_grads(lambda x, n: x ** n, (1.5, 3), order=2)
