"""The user-facing transformations: jit, jvp, vmap, grad/value_and_grad, vjp, linearize,
linear_transpose, jacfwd/jacrev/hessian and their compositions, checked against closed forms,
central differences, loops over the batch and the dot-product test; and check_grads itself."""
import collections

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import dtypes, lax
from fxad.core import Primitive
from fxad.interpreters import ad, batching
from fxad.lax.utils import standard_unop
from fxad.test_util import check_grads

from helpers import check_jvp_fd, check_transpose, check_vmap_vs_loop, numerical_jvp, rand

Point = collections.namedtuple('Point', ['x', 'y'])
RNG = np.random.default_rng(0)


def D(f):
    """The derivative of a scalar function by forward mode."""
    return lambda x: fxad.jvp(f, (x,), (1.0,))[1]


# ---------------------------------------------------------------------------------------------
# jit


def test_jit_traces_once_per_signature():
    calls = []

    @fxad.jit
    def f(x, y):
        calls.append(1)
        return fnp.sin(x) * y

    x = np.arange(3.)
    np.testing.assert_allclose(f(x, 2.0), np.sin(x) * 2.0, rtol=1e-15)
    f(x + 1, 3.0)
    assert len(calls) == 1
    f(np.arange(4.), 2.0)                      # new shape
    assert len(calls) == 2
    f(np.arange(4, dtype=np.float32), 2.0)     # new dtype
    assert len(calls) == 3
    f(np.arange(4.), 2.0)
    assert len(calls) == 3
    out = f(np.arange(4, dtype=np.float32), 2.0)
    assert out.dtype == np.float32 and isinstance(out, np.ndarray)


def test_jit_static_argnums_and_argnames():
    calls = []

    def power_sum(x, n, scale=1.0):
        calls.append(n)
        total = x
        for _ in range(n - 1):
            total = total * x
        return total * scale

    f = fxad.jit(power_sum, static_argnums=1)
    assert f(2.0, 3) == 8.0
    assert f(3.0, 3) == 27.0
    assert calls == [3]
    assert f(2.0, 4) == 16.0
    assert calls == [3, 4]
    g = fxad.jit(power_sum, static_argnames='n')
    assert g(2.0, n=5) == 32.0
    assert g(2.0, n=5, scale=2.0) == 64.0
    assert calls == [3, 4, 5, 5]
    assert g(2.0, 5) == 32.0  # a static name given positionally is static too
    h = fxad.jit(power_sum, static_argnums=(1,))
    assert h(2.0, n=2) == 4.0  # a static positional given by keyword still counts as static
    assert h(2.0, 2) == 4.0


def test_jit_unhashable_static_raises():
    f = fxad.jit(lambda x, opts: x * len(opts), static_argnums=1)
    assert f(2.0, (1, 2)) == 4.0
    with pytest.raises(TypeError, match="hashable"):
        f(2.0, [1, 2])


def test_jit_string_argument_raises_naming_it():
    def f(x, mode):
        return x
    with pytest.raises(TypeError, match=r"'fast'.*static|str"):
        fxad.jit(f)(1.0, 'fast')
    with pytest.raises(TypeError, match="fast"):
        fxad.jit(f)(1.0, 'fast')
    assert fxad.jit(f, static_argnums=1)(1.0, 'fast') == 1.0


def test_jit_inside_make_jaxpr_is_one_equation():
    @fxad.jit
    def inner(x):
        return fnp.cos(x) * x

    jaxpr = fxad.make_jaxpr(lambda x: inner(inner(x)))(np.ones(3))
    assert [e.primitive.name for e in jaxpr.eqns] == ['jit', 'jit']
    sub = jaxpr.eqns[0].params['jaxpr']
    assert [e.primitive.name for e in sub.eqns] == ['cos', 'mul']
    assert jaxpr.eqns[0].params['name'] == 'inner'


def test_jit_pytrees_and_closure():
    c = np.array([1.0, 2.0])

    @fxad.jit
    def f(d):
        return {'s': d['a'] * c + d['b'][0], 't': [d['b'][1] * 2]}

    out = f({'a': np.ones(2), 'b': (3.0, np.float32(1.5))})
    np.testing.assert_allclose(out['s'], c + 3.0)
    assert out['t'][0] == 3.0 and out['t'][0].dtype == np.float32


def test_grad_of_jit_and_jit_of_grad():
    f = lambda x: fnp.sin(x) * fnp.exp(x)
    df = lambda x: (np.cos(x) + np.sin(x)) * np.exp(x)
    x = np.array([0.1, 0.5, 1.5])
    for g in [fxad.grad(lambda x: fnp.sum(fxad.jit(f)(x))),
              fxad.jit(fxad.grad(lambda x: fnp.sum(f(x)))),
              fxad.jit(fxad.grad(lambda x: fnp.sum(fxad.jit(f)(x))))]:
        np.testing.assert_allclose(g(x), df(x), rtol=1e-14)
    jaxpr = fxad.make_jaxpr(fxad.grad(lambda x: fnp.sum(fxad.jit(f)(x))))(x)
    assert [e.primitive.name for e in jaxpr.eqns].count('jit') == 2  # known part and linear part


# ---------------------------------------------------------------------------------------------
# jvp


def test_jvp_pytrees():
    def f(p):
        return {'u': p['a'] * p['b'][0], 'v': (fnp.sin(p['b'][1]),)}

    a, b0, b1 = rand(RNG, (3,)), rand(RNG, (3,)), 0.4
    ta, tb0, tb1 = rand(RNG, (3,)), rand(RNG, (3,)), 2.0
    out, tout = fxad.jvp(f, ({'a': a, 'b': (b0, b1)},), ({'a': ta, 'b': (tb0, tb1)},))
    assert set(out) == {'u', 'v'} and isinstance(tout['v'], tuple)
    np.testing.assert_allclose(out['u'], a * b0)
    np.testing.assert_allclose(tout['u'], ta * b0 + a * tb0, rtol=1e-15)
    np.testing.assert_allclose(tout['v'][0], np.cos(b1) * tb1, rtol=1e-15)


def test_jvp_argument_errors():
    f = lambda x: x * 2.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        fxad.jvp(f, (np.ones(3),), (np.ones(4),))
    with pytest.raises(TypeError, match="float32"):
        fxad.jvp(f, (np.ones(3),), (np.ones(3, np.float32),))
    with pytest.raises(TypeError, match="tree structure"):
        fxad.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match="tuples or lists"):
        fxad.jvp(f, 1.0, 1.0)


def test_jvp_integer_inputs_get_zero_tangents():
    zero = np.zeros((), dtypes.float0)
    out, t = fxad.jvp(lambda x, n: x * n, (2.0, 3), (1.0, zero))
    assert (out, t) == (6.0, 3.0)
    out, t = fxad.jvp(lambda n: n * 2, (np.arange(3),), (np.zeros(3, dtypes.float0),))
    np.testing.assert_array_equal(out, [0, 2, 4])
    assert t.dtype == dtypes.float0 and t.shape == (3,)
    out, t = fxad.jvp(lambda x: fnp.floor(x) + 0 * x, (2.5,), (1.0,))
    assert (out, t) == (2.0, 0.0)


def test_perturbation_confusion():
    # Siskind & Pearlmutter: d/dx [x * d/dy (x + y)] = 1, not 2.
    assert D(lambda x: x * D(lambda y: x + y)(1.0))(1.0) == 1.0
    assert fxad.grad(lambda x: x * fxad.grad(lambda y: x + y)(1.0))(1.0) == 1.0
    assert fxad.grad(lambda x: x * D(lambda y: x + y)(1.0))(1.0) == 1.0
    assert D(lambda x: x * fxad.grad(lambda y: x * y)(1.0))(3.0) == 6.0


# ---------------------------------------------------------------------------------------------
# vmap


def _affine(x, y):
    return fnp.sin(x) * y + 1.0


def test_vmap_in_axes_variants():
    x, y = rand(RNG, (4, 3)), rand(RNG, (3, 4))
    check_vmap_vs_loop(_affine, (x, y), (0, 1))
    check_vmap_vs_loop(_affine, (x, y.T), 0)
    check_vmap_vs_loop(_affine, (x, y), (-2, -1))
    check_vmap_vs_loop(_affine, (x, y[:, 0]), (0, None))
    check_vmap_vs_loop(_affine, (x, 2.0), (0, None))
    check_vmap_vs_loop(lambda x, y: _affine(x, y).T, (x, y), (1, 0), out_axes=1)


def test_vmap_dict_prefix_in_axes():
    d = {'w': rand(RNG, (3, 5)), 'b': rand(RNG, (3,))}
    xs = rand(RNG, (4, 5))
    f = lambda p, x: fnp.tanh(fnp.sum(p['w'] * x, axis=1) + p['b'])
    out = fxad.vmap(f, in_axes=({'w': None, 'b': None}, 0))(d, xs)
    np.testing.assert_allclose(out, np.stack([np.tanh(d['w'] @ x + d['b']) for x in xs]), rtol=1e-14)
    out = fxad.vmap(f, in_axes=(None, 0))(d, xs)
    np.testing.assert_allclose(out, np.stack([np.tanh(d['w'] @ x + d['b']) for x in xs]), rtol=1e-14)
    ds = {'w': rand(RNG, (4, 3, 5)), 'b': rand(RNG, (3,))}
    out = fxad.vmap(f, in_axes=({'w': 0, 'b': None}, 0))(ds, xs)
    np.testing.assert_allclose(out, np.stack([np.tanh(w @ x + ds['b']) for w, x in zip(ds['w'], xs)]),
                               rtol=1e-14)


def test_vmap_out_axes_axis_size_and_unbatched_outputs():
    x = rand(RNG, (4, 3))
    out = fxad.vmap(lambda r: (r * 2.0, 7.0), out_axes=(1, 0))(x)
    np.testing.assert_allclose(out[0], (x * 2.0).T)
    np.testing.assert_array_equal(out[1], np.full(4, 7.0))
    out = fxad.vmap(lambda: fnp.ones(2), in_axes=(), axis_size=3)()
    np.testing.assert_array_equal(out, np.ones((3, 2)))
    out = fxad.vmap(lambda r, c: c * 2.0, in_axes=(0, None))(x, np.arange(3.))
    np.testing.assert_array_equal(out, np.tile(np.arange(3.) * 2.0, (4, 1)))
    out = fxad.vmap(lambda r, c: c, in_axes=(0, None), out_axes=None)(x, np.arange(3.))
    np.testing.assert_array_equal(out, np.arange(3.))


def test_nested_vmap():
    a, b = rand(RNG, (4, 3)), rand(RNG, (5, 3))
    dist = lambda u, v: fnp.sqrt(fnp.sum((u - v) ** 2))
    out = fxad.vmap(fxad.vmap(dist, in_axes=(None, 0)), in_axes=(0, None))(a, b)
    np.testing.assert_allclose(out, np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)), rtol=1e-14)


def test_vmap_errors():
    with pytest.raises(ValueError, match=r"inconsistent sizes.*size 3.*size 4|size 4.*size 3"):
        fxad.vmap(lambda x, y: x + y)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"axis 2.*rank 2|rank 2.*axis 2"):
        fxad.vmap(lambda x: x, in_axes=2)(np.ones((3, 4)))
    with pytest.raises(ValueError, match="axis_size"):
        fxad.vmap(lambda x: x, in_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes has 1 entries.*2 positional arguments"):
        fxad.vmap(lambda x, y: x, in_axes=(0,))(np.ones(3), np.ones(3))


def test_vmap_jaxpr_is_independent_of_batch_size():
    g = lambda x, y: fnp.sum(fnp.tanh(x) * y) + fnp.max(x)
    f = fxad.vmap(g)
    sizes = [len(fxad.make_jaxpr(f)(np.ones((n, 3)), np.ones((n, 3))).eqns) for n in (2, 7, 50)]
    assert sizes[0] == sizes[1] == sizes[2]
    x, y = rand(RNG, (7, 3)), rand(RNG, (7, 3))
    np.testing.assert_allclose(f(x, y), np.sum(np.tanh(x) * y, 1) + np.max(x, 1), rtol=1e-14)


def test_vmap_of_grad_gives_per_example_gradients():
    w = rand(RNG, (3,))
    xs, ys = rand(RNG, (6, 3)), rand(RNG, (6,))

    def loss(w, x, y):
        return (fnp.tanh(fnp.dot(w, x)) - y) ** 2

    out = fxad.vmap(fxad.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    loop = np.stack([fxad.grad(loss)(w, x, y) for x, y in zip(xs, ys)])
    np.testing.assert_allclose(out, loop, rtol=1e-13)
    t = np.tanh(xs @ w)
    np.testing.assert_allclose(out, (2 * (t - ys) * (1 - t ** 2))[:, None] * xs, rtol=1e-13)


def test_vmap_and_jit_compose():
    f = fxad.jit(lambda x, c: (fnp.sin(x) * c, c * 2.0))
    x, c = rand(RNG, (4, 3)), rand(RNG, (3,))
    check_vmap_vs_loop(f, (x, c), (0, None))
    check_vmap_vs_loop(f, (x.T, c), (1, None))
    check_vmap_vs_loop(fxad.jit(fxad.vmap(f, in_axes=(0, None))), (x[None], c), (0, None))
    g = fxad.grad(lambda x: fnp.sum(fxad.vmap(f, in_axes=(0, None))(x, c)[0]))(x)
    np.testing.assert_allclose(g, np.cos(x) * c, rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# grad and value_and_grad


def test_seed_example_from_the_lecture():
    f = lambda x1, x2: fnp.log(x1) + x1 * x2 - fnp.sin(x2)
    value, (g1, g2) = fxad.value_and_grad(f, argnums=(0, 1))(2.0, 5.0)
    np.testing.assert_allclose(value, np.log(2) + 10 - np.sin(5), rtol=1e-15)
    np.testing.assert_allclose(value, 11.652, atol=1e-3)
    assert g1 == 5.5
    np.testing.assert_allclose(g2, 2 - np.cos(5), rtol=1e-15)
    np.testing.assert_allclose(g2, 1.716, atol=1e-3)
    assert D(lambda x1: f(x1, 5.0))(2.0) == 5.5


def test_grad_argnums_and_has_aux():
    f = lambda x, y, z: x * y ** 2 + z
    assert fxad.grad(f)(2.0, 3.0, 1.0) == 9.0
    assert fxad.grad(f, argnums=1)(2.0, 3.0, 1.0) == 12.0
    assert fxad.grad(f, argnums=(0, 2))(2.0, 3.0, 1.0) == (9.0, 1.0)
    assert fxad.grad(f, argnums=-1)(2.0, 3.0, 1.0) == 1.0

    def with_aux(x):
        y = fnp.sin(x)
        return y * 2.0, {'y': y, 'n': 3}
    g, aux = fxad.grad(with_aux, has_aux=True)(0.5)
    np.testing.assert_allclose(g, 2 * np.cos(0.5), rtol=1e-15)
    assert set(aux) == {'y', 'n'}
    assert not isinstance(aux['y'], fxad.core.Tracer)
    np.testing.assert_allclose(aux['y'], np.sin(0.5), rtol=1e-15)
    (v, aux2), g2 = fxad.value_and_grad(with_aux, has_aux=True)(0.5)
    np.testing.assert_allclose(v, 2 * np.sin(0.5), rtol=1e-15)
    assert g2 == g and not isinstance(aux2['y'], fxad.core.Tracer)


def test_grad_pytrees_keep_their_structure():
    params = [(np.array([1.0, 2.0]), 3.0), (np.array([0.5]), -1.0)]
    g = fxad.grad(lambda p: sum(fnp.sum(w * w) * b for w, b in p))(params)
    assert isinstance(g, list) and all(isinstance(t, tuple) for t in g)
    np.testing.assert_allclose(g[0][0], 2 * params[0][0] * 3.0)
    np.testing.assert_allclose(g[0][1], 5.0)
    np.testing.assert_allclose(g[1][0], 2 * params[1][0] * -1.0)
    np.testing.assert_allclose(g[1][1], 0.25)
    d = {'a': 2.0, 'b': {'c': np.array([1.0, 3.0])}}
    g = fxad.grad(lambda d: d['a'] * fnp.sum(d['b']['c']))(d)
    assert g['a'] == 4.0
    np.testing.assert_array_equal(g['b']['c'], [2.0, 2.0])
    g = fxad.grad(lambda p: p.x * p.y)(Point(2.0, 5.0))
    assert type(g) is Point and g == Point(5.0, 2.0)


def test_grad_errors():
    with pytest.raises(TypeError, match="scalar"):
        fxad.grad(lambda x: x * 2.0)(np.ones(3))
    with pytest.raises(TypeError, match="int64"):
        fxad.grad(lambda x: x * 2.0)(3)
    with pytest.raises(TypeError, match="has_aux"):
        fxad.grad(lambda x: x, has_aux=True)(1.0)
    with pytest.raises(ValueError, match="argnums"):
        fxad.grad(lambda x: x, argnums=3)(1.0)


def test_grad_of_unused_inputs_are_zeros_of_their_shape_and_dtype():
    g = fxad.grad(lambda x, y: fnp.sum(x) * 2.0, argnums=(0, 1))(np.ones(3), np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(g[0], [2.0, 2.0, 2.0])
    assert g[1].shape == (2, 2) and g[1].dtype == np.float32 and not g[1].any()
    assert fxad.grad(lambda x: 1.0)(2.0) == 0.0
    g = fxad.grad(lambda x: lax.stop_gradient(x) * 3.0)(np.float32(1.0))
    assert g == 0.0 and g.dtype == np.float32


def test_grad_float32_in_float32_out():
    x = np.array([0.5, 1.0], np.float32)
    g = fxad.grad(lambda x: fnp.sum(fnp.sin(x) * 2.0))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * np.cos(x), rtol=1e-6)


def test_gradient_of_a_long_chain():
    n = 5000

    def chain(x):
        for _ in range(n):
            x = fnp.sin(x) * 1.0001
        return x

    g = fxad.grad(chain)(0.5)
    x, expected = 0.5, 1.0
    for _ in range(n):
        expected *= np.cos(x) * 1.0001
        x = np.sin(x) * 1.0001
    np.testing.assert_allclose(g, expected, rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# vjp, linearize, linear_transpose


def test_vjp_tuple_of_cotangents_and_has_aux():
    x, y = rand(RNG, (3,)), rand(RNG, (3,))
    f = lambda x, y: (x * y, fnp.sin(x))
    out, f_vjp = fxad.vjp(f, x, y)
    ct = (rand(RNG, (3,)), rand(RNG, (3,)))
    cx, cy = f_vjp(ct)
    np.testing.assert_allclose(cx, ct[0] * y + ct[1] * np.cos(x), rtol=1e-15)
    np.testing.assert_allclose(cy, ct[0] * x, rtol=1e-15)
    out, f_vjp, aux = fxad.vjp(lambda x: (fnp.exp(x), x.shape), x, has_aux=True)
    assert aux == (3,)
    np.testing.assert_allclose(f_vjp(np.ones(3))[0], np.exp(x), rtol=1e-15)
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        f_vjp(np.ones(4))
    out, f_vjp = fxad.vjp(lambda x: x * x, np.ones(2, np.float32))
    with pytest.raises(TypeError, match="float64.*float32"):
        f_vjp(np.ones(2))
    g, = fxad.vjp(lambda x: x * x, np.float32(3.0))[1](1.0)  # a Python scalar takes the dtype
    assert g == 6.0 and g.dtype == np.float32


def test_vjp_of_a_vjp_function():
    x = rand(RNG, (3,))
    f = lambda x: fnp.sin(x) * x

    def pullback(x, ct):
        return fxad.vjp(f, x)[1](ct)[0]

    ct = rand(RNG, (3,))
    # pullback is linear in ct; its vjp in x gives the second-order term.
    _, pb_vjp = fxad.vjp(pullback, x, ct)
    w = rand(RNG, (3,))
    gx, gct = pb_vjp(w)
    d1 = np.cos(x) * x + np.sin(x)
    d2 = -np.sin(x) * x + 2 * np.cos(x)
    np.testing.assert_allclose(gct, w * d1, rtol=1e-14)
    np.testing.assert_allclose(gx, w * ct * d2, rtol=1e-14)


def test_linearize():
    x = rand(RNG, (3,))
    f = lambda x: {'a': fnp.exp(x) * 2.0, 'b': fnp.sum(x ** 3)}
    y, f_jvp = fxad.linearize(f, x)
    np.testing.assert_allclose(y['a'], np.exp(x) * 2.0)
    for _ in range(2):
        t = rand(RNG, (3,))
        out = f_jvp(t)
        np.testing.assert_allclose(out['a'], np.exp(x) * 2.0 * t, rtol=1e-14)
        np.testing.assert_allclose(out['b'], np.sum(3 * x ** 2 * t), rtol=1e-14)
    y2, g = fxad.linearize(lambda a, b: a * b, 2.0, 3.0)
    assert y2 == 6.0 and g(1.0, 0.0) == 3.0 and g(0.0, 1.0) == 2.0


def test_linear_transpose():
    A = rand(RNG, (4, 3))
    f = lambda x: {'u': fnp.dot(A, x['v']) * 2.0 - x['s'], 'w': x['v'][::-1]}
    x = {'v': rand(RNG, (3,)), 's': rand(RNG, (4,))}
    y = {'u': rand(RNG, (4,)), 'w': rand(RNG, (3,))}
    ct = check_transpose(f, x, y)
    np.testing.assert_allclose(ct['v'], 2 * A.T @ y['u'] + y['w'][::-1], rtol=1e-14)
    np.testing.assert_allclose(ct['s'], -y['u'])


def test_linear_transpose_of_two_arguments():
    ta, tb = fxad.linear_transpose(lambda a, b: a * 2.0 - b, 1.0, np.ones(3))(np.array([1.0, 2.0, 3.0]))
    assert ta == 12.0
    np.testing.assert_array_equal(tb, [-1.0, -2.0, -3.0])


# ---------------------------------------------------------------------------------------------
# Jacobians and Hessians


def test_jacobians_against_closed_forms():
    A = rand(RNG, (2, 3))
    f = lambda x: fnp.tanh(fnp.dot(A, x))
    x = rand(RNG, (3,))
    expected = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    np.testing.assert_allclose(fxad.jacfwd(f)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(fxad.jacrev(f)(x), expected, rtol=1e-14)
    g = lambda x: fnp.sum(x ** 3) + x[0] * x[1]
    H = np.diag(6 * x)
    H[0, 1] += 1
    H[1, 0] += 1
    np.testing.assert_allclose(fxad.hessian(g)(x), H, rtol=1e-14)
    np.testing.assert_allclose(fxad.jacfwd(fxad.jacfwd(g))(x), H, rtol=1e-14)
    np.testing.assert_allclose(fxad.jacrev(fxad.jacrev(g))(x), H, rtol=1e-14)


def test_jacobian_pytrees():
    def f(p):
        return {'prod': p['a'] * p['b'], 'sq': (p['a'] ** 2,)}
    p = {'a': rand(RNG, (2,)), 'b': 0.7}
    for jac in (fxad.jacfwd, fxad.jacrev):
        J = jac(f)(p)
        assert set(J) == {'prod', 'sq'} and isinstance(J['sq'], tuple)
        np.testing.assert_allclose(J['prod']['a'], np.eye(2) * 0.7, rtol=1e-15)
        np.testing.assert_allclose(J['prod']['b'], p['a'], rtol=1e-15)
        assert J['prod']['b'].shape == (2,) and J['sq'][0]['a'].shape == (2, 2)
        np.testing.assert_allclose(J['sq'][0]['a'], np.diag(2 * p['a']), rtol=1e-15)
        np.testing.assert_allclose(J['sq'][0]['b'], np.zeros(2))


def test_jvp_against_finite_differences_for_composites():
    x = rand(RNG, (4,), 'positive')
    check_jvp_fd(lambda x: fnp.log(fnp.sum(fnp.exp(x))) * fnp.sqrt(x), (x,))
    tangent = (np.ones(4),)
    fd = numerical_jvp(lambda x: fnp.prod(x), (x,), tangent)
    np.testing.assert_allclose(fxad.jvp(fnp.prod, (x,), tangent)[1], fd, rtol=1e-7)


# ---------------------------------------------------------------------------------------------
# check_grads


@pytest.mark.parametrize('f, args', [
    (lambda x, y: fnp.sin(x) * y + fnp.exp(x * y), (rand(RNG, (3,)), rand(RNG, (3,)))),
    (lambda x: fnp.tanh(fnp.dot(x, x.T)) / (1.0 + fnp.sum(x ** 2)), (rand(RNG, (2, 3)),)),
    (lambda p: {'a': p['w'] * fnp.log1p(p['b'] ** 2), 'b': fnp.maximum(p['w'], 0.1)},
     ({'w': rand(RNG, (3,)), 'b': 0.7},)),
    (lambda x: fnp.where(x > 0, fnp.sqrt(fnp.abs(x) + 1), fnp.cos(x)), (rand(RNG, (5,)),)),
], ids=['binary', 'matrix', 'pytree', 'where'])
def test_check_grads_on_composites(f, args):
    check_grads(f, args, order=2)


def test_check_grads_float32_defaults():
    check_grads(lambda x: fnp.sin(x) * x, (np.array([0.3, 1.2], np.float32),), order=1)


def _make_wrong_prim():
    # sin with the derivative of cos: a deliberately wrong JVP rule.
    prim = standard_unop('wrong_sin', np.sin, 'f')
    ad.defjvp(prim, lambda g, x: lax.mul(g, lax.neg(lax.sin(x))))
    return prim


def test_check_grads_catches_a_wrong_jvp_rule():
    prim = _make_wrong_prim()
    f = lambda x: prim.bind(x)
    with pytest.raises(AssertionError, match=r"JVP \(order 1\)"):
        check_grads(f, (np.array([0.3, 0.8]),), order=1, modes=('fwd',))
    with pytest.raises(AssertionError, match=r"VJP \(order 1\).*discrepancy"):
        check_grads(f, (np.array([0.3, 0.8]),), order=1, modes=('rev',))


def test_check_grads_catches_a_wrong_transpose_rule():
    scale_p = Primitive('scale_by_two')
    scale_p.impl = lambda x: x * 2.0
    scale_p.abstract_eval = lambda x: x
    scale_p.batch = lambda vals, dims: (scale_p.bind(vals[0]), dims[0])
    ad.deflinear(scale_p, lambda ct, x: [lax.mul(ct, 3.0)])  # should be 2
    f = lambda x: scale_p.bind(x)
    check_grads(f, (1.5,), order=2, modes=('fwd',))
    with pytest.raises(AssertionError, match=r"VJP \(order 1\)"):
        check_grads(f, (1.5,), order=1, modes=('rev',))


def test_check_grads_catches_a_wrong_second_derivative():
    # Right first derivative, wrong second: d/dx [cos x] written as -cos x.
    cos_p = standard_unop('wrong_second_cos', np.cos, 'f')
    sin_p = standard_unop('wrong_second_sin', np.sin, 'f')
    ad.defjvp(sin_p, lambda g, x: lax.mul(g, cos_p.bind(x)))
    ad.defjvp(cos_p, lambda g, x: lax.mul(g, lax.neg(cos_p.bind(x))))
    f = lambda x: sin_p.bind(x)
    check_grads(f, (np.array([0.4, 1.1]),), order=1)
    with pytest.raises(AssertionError, match=r"order 2"):
        check_grads(f, (np.array([0.4, 1.1]),), order=2, modes=('fwd',))
    with pytest.raises(AssertionError, match=r"order 2"):
        check_grads(f, (np.array([0.4, 1.1]),), order=2, modes=('rev',))


def test_check_grads_argument_errors():
    with pytest.raises(ValueError, match="order must be at least 1, got 0"):
        check_grads(fnp.sin, (1.0,), order=0)
    with pytest.raises(ValueError, match="modes must be 'fwd' and/or 'rev'.*sideways"):
        check_grads(fnp.sin, (1.0,), order=1, modes=('sideways',))


def test_batching_helpers_are_installed():
    x = np.arange(6.).reshape(2, 3)
    np.testing.assert_array_equal(batching.matchaxis(2, 0, 1, x), x.T)
    np.testing.assert_array_equal(batching.matchaxis(4, None, 0, np.arange(3.)), np.tile(np.arange(3.), (4, 1)))


def test_eval_shape_matches_numpy_shapes_without_computing():
    calls = []

    def f(x, y):
        calls.append(1)
        return {'prod': x @ y, 'total': fnp.sum(x, axis=0)}

    x, y = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    out = fxad.eval_shape(f, x, fxad.ShapeDtypeStruct((3, 4), np.float32))
    expected = {'prod': np.ones((2, 3), np.float32) @ y, 'total': x.sum(axis=0)}
    assert out == {k: fxad.ShapeDtypeStruct(v.shape, v.dtype) for k, v in expected.items()}
    assert len(calls) == 1


def test_tree_short_names_match_tree_util_reference():
    tree = {'b': (1, [2, None]), 'a': 3}
    assert fxad.tree.leaves(tree) == [3, 1, 2]                       # sorted keys, None is empty
    assert fxad.tree.map(lambda v: v * 10, tree) == {'a': 30, 'b': (10, [20, None])}


def test_jit_trace_gives_the_jaxpr_that_jit_runs():
    f = fxad.jit(lambda x, y: fnp.sin(x) * y)
    traced = f.trace(1.0, 2.0)
    assert str(traced.jaxpr) == ("{ lambda ; a:f64[] b:f64[]. let c:f64[] = sin a; "
                                 "d:f64[] = mul c b in (d,) }")
    np.testing.assert_allclose(fxad.core.eval_jaxpr(traced.jaxpr.jaxpr, traced.jaxpr.consts, 1.0, 2.0),
                               [np.sin(1.0) * 2.0])


def test_array_isinstance_covers_numpy_values_and_tracers():
    seen = []
    fxad.jit(lambda x: seen.append(isinstance(x, fxad.Array)) or x)(np.ones(2))
    assert seen == [True]
    assert isinstance(np.ones(2), fnp.ndarray) and isinstance(np.float32(1), fxad.Array)
    assert not isinstance(1.0, fxad.Array) and not isinstance([1.0], fnp.ndarray)


def test_jax_compatibility_keywords():
    # allow_int: integer inputs get float0 zeros (d(x^2 n)/dx = 2 x n).
    gx, gn = fxad.grad(lambda x, n: x ** 2 * n, argnums=(0, 1), allow_int=True)(3.0, 2)
    assert gx == 12.0 and np.asarray(gn).dtype == fxad.dtypes.float0
    # unroll / donate_argnums change nothing in fxad: values as without them.
    carry, ys = lax.scan(lambda c, x: (c + x, c), 0.0, np.arange(3.0), unroll=2)
    assert carry == 3.0 and list(ys) == [0.0, 0.0, 1.0]
    assert fxad.jit(lambda x: x * 2, donate_argnums=0)(1.5) == 3.0
    with pytest.raises(TypeError, match="unroll"):
        lax.scan(lambda c, x: (c, x), 0.0, np.arange(3.0), unroll=-1)
