"""The core: the jaxpr printer, eval_jaxpr and check_jaxpr, concreteness errors, leaked
tracers, thread-local tracing and weak types."""
import threading

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import core, lax
from fxad.core import Jaxpr, JaxprEqn, Literal, ShapedArray, Var
from fxad.errors import (ConcretizationTypeError, JaxprTypeError, TracerArrayConversionError,
                         UnexpectedTracerError)
from fxad.lax import elementwise as ew

F64 = np.dtype('float64')


# ---------------------------------------------------------------------------------------------
# Printing


def test_print_readme_example():
    jaxpr = fxad.make_jaxpr(lambda x, y: fnp.sin(x) * y + 2.0)(1.0, 2.0)
    assert str(jaxpr) == (
        "{ lambda ; a:f64[] b:f64[]. let\n"
        "    c:f64[] = sin a\n"
        "    d:f64[] = mul c b\n"
        "    e:f64[] = add d 2.0:f64[]\n"
        "  in (e,) }")


def test_print_closed_over_array_is_a_constvar():
    x = np.arange(3.)
    jaxpr = fxad.make_jaxpr(lambda y: y * x)(x)
    assert str(jaxpr) == "{ lambda a:f64[3]; b:f64[3]. let c:f64[3] = mul b a in (c,) }"
    assert len(jaxpr.consts) == 1 and jaxpr.consts[0] is x


def test_print_weak_literals_take_the_array_dtype():
    x32 = np.ones(3, np.float32)
    assert str(fxad.make_jaxpr(lambda y: y * 2.0)(x32)) == \
        "{ lambda ; a:f32[3]. let b:f32[3] = mul a 2.0:f32[] in (b,) }"
    assert str(fxad.make_jaxpr(lambda y: y + 1)(np.ones(3))) == \
        "{ lambda ; a:f64[3]. let b:f64[3] = add a 1.0:f64[] in (b,) }"


def test_int_array_plus_float_scalar_is_float64():
    jaxpr = fxad.make_jaxpr(lambda y: y + 2.5)(np.arange(3))
    assert jaxpr.out_avals == [ShapedArray((3,), F64)]
    assert str(jaxpr) == (
        "{ lambda ; a:i64[3]. let\n"
        "    b:f64[3] = convert_element_type[new_dtype=float64 weak_type=False] a\n"
        "    c:f64[3] = add b 2.5:f64[]\n"
        "  in (c,) }")
    out = fnp.add(np.arange(3), 2.5)
    assert out.dtype == (np.arange(3) + 2.5).dtype
    np.testing.assert_array_equal(out, np.arange(3) + 2.5)


def test_unused_outputs_print_as_underscore():
    jaxpr = fxad.make_jaxpr(lambda x: (fnp.sin(x), fnp.cos(x))[0])(1.0)
    assert str(jaxpr) == "{ lambda ; a:f64[]. let b:f64[] = sin a; _:f64[] = cos a in (b,) }"


def test_print_nested_jit():
    @fxad.jit
    def inner(z):
        return fnp.sin(z) * 2.0

    jaxpr = fxad.make_jaxpr(lambda x: inner(x) + 1.0)(1.0)
    assert str(jaxpr) == (
        "{ lambda ; a:f64[]. let\n"
        "    b:f64[] = jit[\n"
        "      name=inner\n"
        "      jaxpr={ lambda ; c:f64[]. let\n"
        "                d:f64[] = sin c\n"
        "                e:f64[] = mul d 2.0:f64[]\n"
        "              in (e,) }\n"
        "    ] a\n"
        "    f:f64[] = add b 1.0:f64[]\n"
        "  in (f,) }")


def test_print_linearized_sin():
    y, f_jvp = fxad.linearize(fnp.sin, 2.0)
    np.testing.assert_allclose(y, np.sin(2.0), rtol=1e-15)
    jaxpr = fxad.make_jaxpr(f_jvp)(1.0)
    assert str(jaxpr) == "{ lambda a:f64[]; b:f64[]. let c:f64[] = mul b a in (c,) }"
    np.testing.assert_allclose(jaxpr.consts[0], np.cos(2.0), rtol=1e-15)
    np.testing.assert_allclose(f_jvp(3.0), 3.0 * np.cos(2.0), rtol=1e-15)


def _sin_chain(n):
    def f(x):
        for _ in range(n):
            x = lax.sin(x)
        return x
    return f


def test_large_jaxpr_print_check_and_eval():
    n = 20_000
    jaxpr = fxad.make_jaxpr(_sin_chain(n))(0.5)
    assert len(jaxpr.eqns) == n
    text = str(jaxpr)
    assert text.count('\n') == n + 1
    core.check_jaxpr(jaxpr)
    out, = core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, 0.5)
    x = 0.5
    for _ in range(n):
        x = np.sin(x)
    np.testing.assert_allclose(out, x, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# eval_jaxpr and check_jaxpr


def test_eval_jaxpr_matches_numpy():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.5, 2, (3, 4)), rng.uniform(0.5, 2, (3, 4))

    def f(x, y):
        return fnp.sin(x) * y + fnp.exp(x) / y, fnp.maximum(x, y) - 1.0

    jaxpr = fxad.make_jaxpr(f)(x, y)
    core.check_jaxpr(jaxpr)
    out = core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, x, y)
    np.testing.assert_allclose(out[0], np.sin(x) * y + np.exp(x) / y, rtol=1e-14)
    np.testing.assert_allclose(out[1], np.maximum(x, y) - 1.0, rtol=1e-14)
    np.testing.assert_allclose(core.jaxpr_as_fun(jaxpr)(x, y)[1], np.maximum(x, y) - 1.0, rtol=1e-14)


def test_check_jaxpr_accepts_transformed_jaxprs():
    f = lambda x: fnp.tanh(x) * fnp.sin(x)
    df = lambda x: (1 - np.tanh(x) ** 2) * np.sin(x) + np.tanh(x) * np.cos(x)
    xs = np.array([0.3, -1.2, 2.0])
    for jaxpr, x in [(fxad.make_jaxpr(fxad.grad(f))(1.0), xs[0]),
                     (fxad.make_jaxpr(fxad.vmap(fxad.grad(f)))(np.ones(3)), xs),
                     (fxad.make_jaxpr(fxad.jit(fxad.grad(fxad.jit(f))))(1.0), xs[1])]:
        core.check_jaxpr(jaxpr)
        out, = core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, x)
        np.testing.assert_allclose(out, df(x), rtol=1e-14)


def test_check_jaxpr_wrong_output_aval():
    a = Var(ShapedArray((3,), F64))
    b = Var(ShapedArray((3,), np.float32))
    jaxpr = Jaxpr([], [a], [b], [JaxprEqn(ew.sin_p, [a], [b], {})])
    with pytest.raises(JaxprTypeError, match=r"equation 0 \(.*sin a.*\).*f32\[3\].*f64\[3\]"):
        core.check_jaxpr(jaxpr)


def test_check_jaxpr_undefined_variable():
    a = Var(ShapedArray((), F64))
    ghost = Var(ShapedArray((), F64))
    b = Var(ShapedArray((), F64))
    c = Var(ShapedArray((), F64))
    eqns = [JaxprEqn(ew.sin_p, [a], [b], {}),
            JaxprEqn(ew.mul_p, [b, ghost], [c], {})]
    with pytest.raises(JaxprTypeError, match=r"equation 1 \(.*mul.*\).*used before it is defined"):
        core.check_jaxpr(Jaxpr([], [a], [c], eqns))


def test_check_jaxpr_shape_rule_failure_and_double_definition():
    a = Var(ShapedArray((3,), F64))
    b = Var(ShapedArray((4,), F64))
    c = Var(ShapedArray((3,), F64))
    with pytest.raises(JaxprTypeError, match=r"equation 0 \(.*add.*\(3,\) and \(4,\)"):
        core.check_jaxpr(Jaxpr([], [a, b], [c], [JaxprEqn(ew.add_p, [a, b], [c], {})]))
    with pytest.raises(JaxprTypeError, match="defined twice"):
        core.check_jaxpr(Jaxpr([], [a], [a], [JaxprEqn(ew.sin_p, [a], [a], {})]))
    lit = Literal(np.float32(2.0), ShapedArray((), np.float32))
    with pytest.raises(JaxprTypeError, match="equation 0"):
        core.check_jaxpr(Jaxpr([], [a], [c], [JaxprEqn(ew.mul_p, [a, lit], [c], {})]))


def test_check_jaxpr_looks_inside_sub_jaxprs():
    @fxad.jit
    def inner(z):
        return fnp.sin(z)
    jaxpr = fxad.make_jaxpr(inner)(1.0)
    sub = jaxpr.eqns[0].params['jaxpr'].jaxpr
    sub.eqns[0].outvars[0].aval = ShapedArray((2,), F64)
    with pytest.raises(JaxprTypeError, match="sin"):
        core.check_jaxpr(jaxpr)


# ---------------------------------------------------------------------------------------------
# Concreteness, NumPy conversion and leaked tracers


def _branchy(x):
    if x > 0:
        return x * 2.0
    return -x


def test_python_control_flow_under_jit_raises_concretization_error():
    with pytest.raises(ConcretizationTypeError) as info:
        fxad.jit(_branchy)(1.0)
    assert isinstance(info.value, TypeError)
    assert 'fxad.lax.cond' in str(info.value)
    assert 'static_argnums' in str(info.value)
    with pytest.raises(ConcretizationTypeError):
        fxad.vmap(_branchy)(np.ones(3))
    with pytest.raises(ConcretizationTypeError):
        fxad.make_jaxpr(lambda x: float(x))(1.0)


def test_python_control_flow_under_grad_works():
    assert fxad.grad(_branchy)(1.5) == 2.0
    assert fxad.grad(_branchy)(-1.5) == -1.0
    assert fxad.grad(fxad.grad(lambda x: x ** 3 if x > 0 else -x))(2.0) == 12.0
    assert fxad.jvp(_branchy, (-3.0,), (1.0,)) == (3.0, -1.0)
    assert fxad.jit(_branchy, static_argnums=0)(2.0) == 4.0


def test_np_asarray_of_tracer_raises():
    with pytest.raises(TracerArrayConversionError, match="fxad.numpy"):
        fxad.make_jaxpr(lambda x: np.asarray(x))(1.0)
    with pytest.raises(TracerArrayConversionError):
        fxad.grad(lambda x: np.asarray(x).sum())(np.ones(2))
    with pytest.raises(TypeError, match='ufunc'):   # NumPy's own refusal: tracers opt out of ufuncs
        fxad.make_jaxpr(lambda x: np.sin(x))(1.0)


def test_ndarray_times_tracer_is_a_tracer():
    c = np.arange(3.)
    seen = []

    def f(x):
        y = c * x
        z = c + x
        seen.append((type(y), type(z)))
        return y, z

    jaxpr = fxad.make_jaxpr(f)(np.float64(2.0))
    for t in seen[0]:
        assert issubclass(t, core.Tracer)
    assert [e.primitive.name for e in jaxpr.eqns] == ['mul', 'add']
    y, z = fxad.jit(f)(2.0)
    assert y.dtype == F64 and z.dtype == F64
    np.testing.assert_array_equal(y, c * 2.0)
    np.testing.assert_array_equal(z, c + 2.0)
    g = fxad.grad(lambda x: fnp.sum(c * x))(2.0)
    assert g == 3.0


def test_leaked_tracer_raises_when_used_later():
    leaked = []

    def f(x):
        leaked.append(x)
        return x + 1.0

    fxad.jit(f)(1.0)
    with pytest.raises(UnexpectedTracerError):
        leaked[0] + 1.0
    with pytest.raises(UnexpectedTracerError):
        fxad.jit(lambda y: y + leaked[0])(1.0)
    with pytest.raises(UnexpectedTracerError):
        bool(leaked[0])
    fxad.grad(lambda x: (leaked.append(x), x * x)[1])(3.0)
    with pytest.raises(UnexpectedTracerError):
        fnp.sin(leaked[-1])


def test_two_threads_tracing_at_once():
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def work(name, fun, x):
        def g(x):
            y = fun(x)
            barrier.wait(timeout=20)  # both threads are inside a trace here
            return fun(y) * 2.0
        try:
            results[name] = (str(fxad.make_jaxpr(g)(x)), fxad.grad(lambda x: fnp.sum(g(x)))(x))
        except Exception as e:  # surfaced below
            errors.append(e)

    x2 = np.array([0.3, 0.7])
    threads = [threading.Thread(target=work, args=('sin', fnp.sin, 0.5)),
               threading.Thread(target=work, args=('cos', fnp.cos, x2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for name, aval in [('sin', 'f64[]'), ('cos', 'f64[2]')]:
        assert results[name][0] == (
            f"{{ lambda ; a:{aval}. let\n"
            f"    b:{aval} = {name} a\n"
            f"    c:{aval} = {name} b\n"
            f"    d:{aval} = mul c 2.0:f64[]\n"
            f"  in (d,) }}")
    np.testing.assert_allclose(results['sin'][1], 2 * np.cos(np.sin(0.5)) * np.cos(0.5), rtol=1e-14)
    np.testing.assert_allclose(results['cos'][1], 2 * np.sin(np.cos(x2)) * np.sin(x2), rtol=1e-14)
    assert core.current_trace() is core.eval_trace


# ---------------------------------------------------------------------------------------------
# Weak types


def test_float32_times_python_scalar_stays_float32():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    eager = fnp.multiply(x, 2.0)
    assert eager.dtype == np.float32 == (x * 2.0).dtype
    assert fxad.jit(lambda x: x * 2.0)(x).dtype == np.float32
    assert fxad.make_jaxpr(lambda x: x * 2.0 + 1)(x).out_avals[0] == ShapedArray((3,), np.float32)
    assert fxad.grad(lambda s: fnp.sum(x * s * 2.0))(np.float32(1.0)).dtype == np.float32
    assert fxad.vmap(lambda r: r * 2.0)(x).dtype == np.float32
    # A strong NumPy float64 scalar promotes, as in NumPy 2.
    assert fnp.multiply(x, np.float64(2.0)).dtype == (x * np.float64(2.0)).dtype


def test_python_scalars_alone_are_weak():
    jaxpr = fxad.make_jaxpr(lambda x: x * 2)(3.0)
    assert jaxpr.in_avals == [ShapedArray((), F64, weak_type=True)]
    assert core.get_aval(2.0) == ShapedArray((), F64, True)
    assert core.get_aval(np.float64(2.0)) == ShapedArray((), F64, False)
    assert core.get_aval(np.ones((2, 2), np.float32)).str_short() == 'f32[2,2]'
    with pytest.raises(TypeError, match="not a valid fxad type"):
        core.get_aval("text")


def test_compiled_jaxpr_evaluation_matches_numpy():
    # eval_jaxpr_impl compiles a jaxpr into straight-line code: values must match NumPy,
    # including literals, params, multiple-result primitives and repeated calls.
    from fxad.core import eval_jaxpr_impl

    def f(x, y):
        s = fnp.sort(x)
        return fnp.sin(s) @ y + 2.0, fnp.sum(x, axis=0)

    x = np.random.default_rng(0).normal(size=(3, 4))
    y = np.random.default_rng(1).normal(size=(4, 2))
    closed = fxad.make_jaxpr(f)(x, y)
    for _ in range(2):
        out = eval_jaxpr_impl(closed.jaxpr, closed.consts, x, y)
        np.testing.assert_allclose(out[0], np.sin(np.sort(x)) @ y + 2.0)
        np.testing.assert_allclose(out[1], x.sum(axis=0))
    assert closed.jaxpr.compiled_impl
