"""Structured control flow (cond, switch, while_loop, fori_loop, scan) against Python-loop
equivalents: values, jvp against central differences, gradients against unrolled loops and
finite differences, vmap against a loop over the batch, jit, and the error cases."""
import re

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import core, lax

from helpers import (assert_tree_allclose, check_jvp_fd, check_transpose, check_vjp_fd,
                     check_vmap_vs_loop, numerical_jvp)

RNG = np.random.default_rng(0)
REVERSE_WHILE = re.compile('reverse-mode differentiation of while_loop is not supported', re.I)


def fd_grad(f, x, eps=1e-6):
    """The gradient of a scalar function of one array by central differences."""
    x = np.asarray(x, float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def primitives_in(jaxpr):
    """Names of the primitives of a jaxpr's top-level equations."""
    return [eqn.primitive.name for eqn in jaxpr.jaxpr.eqns]


# ---------------------------------------------------------------------------------------------
# cond and switch


def piecewise(x, y):
    return lax.cond(x > 0, lambda a, b: fnp.sin(a) * b, lambda a, b: a ** 3 - b, x, y)


def piecewise_py(x, y):
    return np.sin(x) * y if x > 0 else x ** 3 - y


@pytest.mark.parametrize('x', [1.3, -0.7])
def test_cond_matches_python_if(x):
    y = 0.4
    expected = piecewise_py(x, y)
    np.testing.assert_allclose(piecewise(x, y), expected, rtol=1e-15)
    np.testing.assert_allclose(fxad.jit(piecewise)(x, y), expected, rtol=1e-15)


@pytest.mark.parametrize('x', [1.3, -0.7])
def test_cond_derivatives(x):
    # The branches need different residuals (cos a and b, or a**2): each branch's linear part
    # must get its own, with zeros where the other branch's would be.
    check_jvp_fd(piecewise, (x, 0.4))
    expected = (np.cos(x) * 0.4, np.sin(x)) if x > 0 else (3 * x ** 2, -1.0)
    assert_tree_allclose(fxad.grad(piecewise, (0, 1))(x, 0.4), expected, rtol=1e-12)
    assert_tree_allclose(fxad.jit(fxad.grad(piecewise, (0, 1)))(x, 0.4), expected, rtol=1e-12)


def test_cond_closure_over_traced_values_gets_gradients():
    def f(x, w):
        return lax.cond(x > 0, lambda: w * x, lambda: w * w)      # no operands: closes over both
    assert_tree_allclose(fxad.grad(f, (0, 1))(2.0, 3.0), (3.0, 2.0))
    assert_tree_allclose(fxad.grad(f, (0, 1))(-2.0, 3.0), (0.0, 6.0))
    assert_tree_allclose(fxad.vmap(fxad.grad(f, 1))(np.array([2.0, -1.0]), np.array([3.0, 5.0])),
                         np.array([2.0, 10.0]))


def test_cond_pytrees_and_numeric_predicate():
    ops = {'a': np.arange(3.0), 'b': (2.0, np.ones((2, 2)))}

    def f(p, ops):
        return lax.cond(p, lambda o: (o['a'] * o['b'][0], o['b'][1].T),
                        lambda o: (-o['a'], o['b'][1]), ops)
    out = f(3, ops)        # a nonzero number is True
    assert_tree_allclose(out, (np.arange(3.0) * 2, np.ones((2, 2))))
    out = f(0.0, ops)
    assert_tree_allclose(out, (-np.arange(3.0), np.ones((2, 2))))


def test_cond_traces_every_branch_even_with_a_concrete_predicate():
    calls = []

    def branch(name):
        def fun(x):
            calls.append(name)
            return x
        return fun
    lax.cond(True, branch('t'), branch('f'), 1.0)
    assert sorted(calls) == ['f', 't']
    with pytest.raises(TypeError, match='same types'):
        lax.cond(True, lambda x: x, lambda x: np.zeros(3), 1.0)     # the untaken branch is checked


def test_cond_jaxpr():
    jaxpr = fxad.make_jaxpr(piecewise)(1.0, 2.0)
    core.check_jaxpr(jaxpr)
    text = str(jaxpr)
    assert 'cond[' in text and 'branches=(' in text
    assert primitives_in(jaxpr) == ['gt', 'convert_element_type', 'cond']
    # Under grad the branches' linear parts form a second cond on the same index.
    core.check_jaxpr(fxad.make_jaxpr(fxad.grad(piecewise))(1.0, 2.0))


@pytest.mark.parametrize('index', [-3, 0, 1, 2, 7])
def test_switch_clamps_the_index(index):
    branches = [lambda x: x + 1.0, lambda x: fnp.sin(x), lambda x: x * x]
    py = [lambda x: x + 1.0, np.sin, lambda x: x * x]
    expected = py[min(max(index, 0), 2)](0.3)
    np.testing.assert_allclose(lax.switch(index, branches, 0.3), expected, rtol=1e-15)
    np.testing.assert_allclose(fxad.jit(lambda i, x: lax.switch(i, branches, x))(index, 0.3),
                               expected, rtol=1e-15)


def test_cond_transpose_dot_product_test():
    x = RNG.normal(size=3)
    for pred in (True, False):
        check_transpose(lambda x: lax.cond(pred, lambda x: 2.0 * x, lambda x: fnp.cumsum(x), x), x,
                        RNG.normal(size=3))


def test_switch_single_branch():
    assert lax.switch(5, [lambda x: x * 2.0], 1.5) == 3.0


def test_cond_vmap_batched_predicate_selects():
    x = RNG.normal(size=5)
    y = RNG.normal(size=5)
    check_vmap_vs_loop(piecewise, (x, y), 0)
    check_vmap_vs_loop(piecewise, (x, 0.5), (0, None))
    check_vmap_vs_loop(fxad.grad(piecewise, (0, 1)), (x, y), 0, rtol=1e-10)
    # A batched predicate runs both branches and selects: no cond equation remains.
    assert 'cond' not in primitives_in(fxad.make_jaxpr(fxad.vmap(piecewise))(x, y))


def test_cond_vmap_unbatched_predicate_stays_a_cond():
    def f(p, x):
        return lax.cond(p, lambda x: x * 2.0, lambda x: fnp.sin(x), x)
    x = RNG.normal(size=(4, 3))
    check_vmap_vs_loop(f, (True, x), (None, 0))
    check_vmap_vs_loop(f, (False, x), (None, 1))
    assert 'cond' in primitives_in(fxad.make_jaxpr(fxad.vmap(f, (None, 0)))(True, x))


def test_switch_vmap_batched_index_and_grad():
    branches = [lambda x: x, lambda x: fnp.sin(x), lambda x: x * x]

    def f(i, x):
        return lax.switch(i, branches, x)
    idx = np.array([-1, 0, 1, 2, 3])
    x = RNG.normal(size=5)
    check_vmap_vs_loop(f, (idx, x), 0)
    check_vmap_vs_loop(fxad.grad(f, 1), (idx, x), 0)


@pytest.mark.parametrize('true_out, false_out, what', [
    (lambda x: x, lambda x: fnp.zeros(3), 'shapes differ'),
    (lambda x: x, lambda x: x.astype(np.float32), 'dtypes differ'),
    (lambda x: (x, x), lambda x: [x, x], 'tree structure'),
])
def test_cond_mismatched_branches(true_out, false_out, what):
    with pytest.raises(TypeError, match=what) as info:
        lax.cond(True, true_out, false_out, np.ones(2))
    assert 'true_fun' in str(info.value) and 'false_fun' in str(info.value)


def test_switch_mismatched_branch_named():
    with pytest.raises(TypeError, match=r'branch 2.*f64\[3\]|f64\[3\].*branch 2'):
        lax.switch(0, [lambda x: x, lambda x: x, lambda x: fnp.zeros(3)], np.ones(2))


def test_cond_weakly_typed_branch_takes_the_other_dtype():
    out = lax.cond(False, lambda x: x, lambda x: 0.0, np.float32(2))
    assert out.dtype == np.float32 and out == 0


@pytest.mark.parametrize('call, exc, what', [
    (lambda: lax.cond(np.ones(2) > 0, lambda: 1.0, lambda: 2.0), TypeError, 'scalar'),
    (lambda: lax.switch(1.0, [lambda: 1.0, lambda: 2.0]), TypeError, 'integer'),
    (lambda: lax.switch(0, []), ValueError, 'at least one branch'),
])
def test_cond_bad_predicates(call, exc, what):
    with pytest.raises(exc, match=what):
        call()


# ---------------------------------------------------------------------------------------------
# while_loop


def newton_sqrt(a):
    def body(c):
        x, n = c
        return x - (x * x - a) / (2 * x), n + 1
    return lax.while_loop(lambda c: fnp.abs(c[0] * c[0] - a) > 1e-12 * a, body, (a, 0))


def newton_sqrt_py(a):
    x, n = a, 0
    while abs(x * x - a) > 1e-12 * a:
        x, n = x - (x * x - a) / (2 * x), n + 1
    return x, n


def test_while_loop_newton_matches_python_loop_eager_and_jit():
    for a in [2.0, 9.0, 1e4]:
        assert_tree_allclose(newton_sqrt(a), newton_sqrt_py(a), rtol=1e-15)
        assert_tree_allclose(fxad.jit(newton_sqrt)(a), newton_sqrt_py(a), rtol=1e-15)


def test_while_loop_newton_under_vmap_of_jit():
    a = np.array([2.0, 9.0, 1e4, 0.25])     # different trip counts per member
    x, n = fxad.vmap(fxad.jit(newton_sqrt))(a)
    np.testing.assert_allclose(x, np.sqrt(a), rtol=1e-12)
    np.testing.assert_array_equal(n, [newton_sqrt_py(v)[1] for v in a])
    check_vmap_vs_loop(newton_sqrt, (a,), 0)


def test_while_loop_jvp():
    # d sqrt(a) / da by differentiating the iterations.
    a = 3.0
    _, t = fxad.jvp(lambda a: newton_sqrt(a)[0], (a,), (1.0,))
    np.testing.assert_allclose(t, 0.5 / np.sqrt(a), rtol=1e-8)
    np.testing.assert_allclose(fxad.jit(fxad.jacfwd(lambda a: newton_sqrt(a)[0]))(a), 0.5 / np.sqrt(a),
                               rtol=1e-8)


def power_loop(x, n):
    # The accumulator starts as the constant 1.0 and acquires a tangent from x (fixpoint).
    return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * x + c[0]), (0, 1.0))[1]


def test_while_loop_constant_carry_acquires_a_tangent():
    def py(x, n):
        acc = 1.0
        for i in range(n):
            acc = acc * x + i
        return acc
    np.testing.assert_allclose(power_loop(1.3, 4), py(1.3, 4), rtol=1e-15)
    check_jvp_fd(lambda x: power_loop(x, 4), (1.3,))
    y, f_jvp = fxad.linearize(lambda x: power_loop(x, 4), 1.3)
    np.testing.assert_allclose(f_jvp(1.0), numerical_jvp(lambda x: py(x, 4), (1.3,), (1.0,)), rtol=1e-6)


def test_while_loop_vmap_unbatched_predicate():
    # Only the multiplier is batched: the predicate (a counter) stays shared.
    x = RNG.normal(size=4)
    check_vmap_vs_loop(power_loop, (x, 5), (0, None))
    jaxpr = fxad.make_jaxpr(fxad.vmap(power_loop, (0, None)))(x, 5)
    assert 'reduce_or' not in str(jaxpr)


def test_while_loop_vmap_batched_predicate():
    n = np.array([0, 3, 1, 6])
    x = RNG.normal(size=4)
    check_vmap_vs_loop(power_loop, (x, n), 0)
    check_vmap_vs_loop(lambda n: power_loop(1.5, n), (n,), 0)


@pytest.mark.parametrize('transform', [
    lambda f: fxad.grad(f),
    lambda f: fxad.jit(fxad.grad(f)),
    lambda f: (lambda x: fxad.vjp(f, x)[1](1.0)),
    lambda f: fxad.jacrev(f),
])
def test_while_loop_reverse_mode_raises(transform):
    with pytest.raises(ValueError, match=REVERSE_WHILE) as info:
        transform(lambda x: power_loop(x, 3))(1.3)
    assert 'scan' in str(info.value) and 'fori_loop' in str(info.value)


def test_while_loop_without_tangents_is_fine_under_grad():
    # The loop depends on no differentiated value: it runs as a known computation.
    np.testing.assert_allclose(fxad.grad(lambda x: x * newton_sqrt(2.0)[0])(1.0), np.sqrt(2.0), rtol=1e-15)


def test_while_loop_weak_init_takes_the_body_type():
    out = lax.while_loop(lambda c: c < 3, lambda c: c + 0.5, 0)     # an int init, float body
    assert out == 3.0 and np.asarray(out).dtype == np.float64
    out = lax.while_loop(lambda c: c < 3, lambda c: c + np.float32(1), 0.0)
    assert np.asarray(out).dtype == np.float32


def test_while_loop_errors():
    with pytest.raises(TypeError, match='boolean scalar'):
        lax.while_loop(lambda c: c, lambda c: c + 1, 0)
    with pytest.raises(TypeError, match=r"init_val\[1\]\['h'\].*f64\[2\].*f32\[2\]"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, {'h': c[1]['h'].astype(np.float32)}),
                       (0, {'h': np.ones(2)}))
    with pytest.raises(TypeError, match='tree structure'):
        lax.while_loop(lambda c: c[0] < 3, lambda c: [c[0] + 1, c[1]], (0, 1.0))


# ---------------------------------------------------------------------------------------------
# fori_loop


def horner(x, scale):
    # Horner's rule for the polynomial with coefficients scale * (1, 2, 3, 4), highest first.
    return lax.fori_loop(0, 4, lambda i, acc: acc * x + (i + 1) * scale, 0.0)


def test_fori_loop_static_bounds_is_a_scan_and_reverse_differentiable():
    coeffs = np.array([1.0, 2.0, 3.0, 4.0])
    x, scale = 0.7, 0.5
    np.testing.assert_allclose(horner(x, scale), np.polyval(scale * coeffs, x), rtol=1e-15)
    assert 'scan' in primitives_in(fxad.make_jaxpr(lambda x: horner(x, scale))(x))
    expected = (np.polyval(np.polyder(scale * coeffs), x), np.polyval(coeffs, x))
    assert_tree_allclose(fxad.grad(horner, (0, 1))(x, scale), expected, rtol=1e-13)
    assert_tree_allclose(fxad.jit(fxad.grad(horner, (0, 1)))(x, scale), expected, rtol=1e-13)
    check_vmap_vs_loop(fxad.grad(horner), (RNG.normal(size=3), scale), (0, None))
    check_vmap_vs_loop(fxad.grad(horner, 1), (x, RNG.normal(size=3)), (None, 0))


def test_fori_loop_traced_bounds_is_a_while_loop():
    def f(x, n):
        return lax.fori_loop(1, n, lambda i, c: c * x + i, 1.0)

    def py(x, n):
        c = 1.0
        for i in range(1, n):
            c = c * x + i
        return c
    jf = fxad.jit(f)
    for n in [0, 1, 4]:
        np.testing.assert_allclose(jf(1.2, n), py(1.2, n), rtol=1e-15)
    assert 'while' in primitives_in(fxad.make_jaxpr(f)(1.2, 4))
    np.testing.assert_allclose(fxad.jvp(lambda x: jf(x, 4), (1.2,), (1.0,))[1],
                               numerical_jvp(lambda x: py(x, 4), (1.2,), (1.0,)), rtol=1e-7)
    check_vmap_vs_loop(f, (np.array([0.5, 1.5]), np.array([2, 5])), 0)
    with pytest.raises(ValueError, match=REVERSE_WHILE):
        fxad.jit(fxad.grad(f))(1.2, 4)


def test_fori_loop_errors():
    with pytest.raises(TypeError, match='integer'):
        lax.fori_loop(0.0, 3, lambda i, c: c, 1.0)
    with pytest.raises(TypeError, match=r'init_val.*f64\[\].*f64\[2\]'):
        lax.fori_loop(0, 3, lambda i, c: c * np.ones(2), 1.0)


@pytest.mark.parametrize('lower, upper', [(0, 3), (0, np.int64(3))], ids=['scan', 'concrete_numpy_bound'])
def test_fori_loop_weak_float_init_is_not_retyped_to_int(lower, upper):
    # As JAX: a weak init takes the body's dtype only within its own or a higher category, and a
    # weak int output is not silently cast into a float carry.
    with pytest.raises(TypeError, match=r'init_val.*f64\[\].*i64\[\].*float64 and int64'):
        lax.fori_loop(lower, upper, lambda i, c: i, 1.0)
    with pytest.raises(TypeError, match=r'init_val.*f32\[\].*i64\[\]'):
        lax.fori_loop(lower, upper, lambda i, c: 0, np.float32(1))
    with pytest.raises(TypeError, match=r'f64\[\].*i64\[\]'):
        fxad.jit(lambda n: lax.fori_loop(0, n, lambda i, c: i, 1.0))(3)   # the while_loop path
    # Within a category the carry's dtype wins; an int init takes a float body's type.
    assert np.asarray(lax.fori_loop(lower, upper, lambda i, c: 1.0, np.float32(0))).dtype == np.float32
    out = lax.fori_loop(lower, upper, lambda i, c: c + 0.5, 1)
    assert out == sum([0.5] * 3, 1) and np.asarray(out).dtype == np.float64


# ---------------------------------------------------------------------------------------------
# scan


def test_scan_matches_python_loop_with_pytrees():
    xs = {'a': RNG.normal(size=(5, 2)), 'b': RNG.normal(size=5)}
    init = (np.zeros(2), 1.0)

    def step(c, x):
        s, p = c
        s = s + x['a'] * p
        p = p * fnp.cos(x['b'])
        return (s, p), {'s': s, 'p2': p * p}

    def py(init, xs):
        c, ys = init, []
        for i in range(5):
            c, y = step(c, {'a': xs['a'][i], 'b': xs['b'][i]})
            ys.append(y)
        return c, {'s': np.stack([y['s'] for y in ys]), 'p2': np.stack([y['p2'] for y in ys])}
    expected = py(init, xs)
    assert_tree_allclose(lax.scan(step, init, xs), expected, rtol=1e-14)
    assert_tree_allclose(fxad.jit(lambda i, x: lax.scan(step, i, x))(init, xs), expected, rtol=1e-14)


def test_scan_reverse_length_and_empty():
    xs = np.arange(1.0, 5.0)
    carry, ys = lax.scan(lambda c, x: (c * 10 + x, c), 0.0, xs, reverse=True)
    assert carry == 4321.0
    np.testing.assert_array_equal(ys, [432.0, 43.0, 4.0, 0.0])
    carry, ys = lax.scan(lambda c, _: (c + 1.0, c * 2.0), 0.0, None, length=3)
    assert carry == 3.0
    np.testing.assert_array_equal(ys, [0.0, 2.0, 4.0])
    carry, ys = lax.scan(lambda c, x: (c + x, c * x), np.ones(2), np.zeros((0, 2)), length=0)
    np.testing.assert_array_equal(carry, np.ones(2))
    assert ys.shape == (0, 2)


def test_scan_jaxpr_printed_like_jax():
    jaxpr = fxad.make_jaxpr(lambda xs: lax.scan(lambda c, x: (c + x, c * x), 0.0, xs))(np.ones(3))
    core.check_jaxpr(jaxpr)
    text = str(jaxpr)
    assert re.search(r'scan\[\s*jaxpr=\{', text) and 'length=3' in text and 'reverse=False' in text


H, D, T = 4, 2, 6


def rnn_params(rng):
    return {'W': rng.normal(size=(H, H)) * 0.5, 'U': rng.normal(size=(H, D)),
            'b': rng.normal(size=H) * 0.1, 'v': rng.normal(size=H)}


def rnn_step(p, h, x):
    h = fnp.tanh(p['W'] @ h + p['U'] @ x + p['b'])
    return h, fnp.dot(p['v'], h)


def rnn_loss_scan(p, xs, targets):
    _, ys = lax.scan(lambda h, x: rnn_step(p, h, x), fnp.zeros(H), xs)
    return fnp.sum((ys - targets) ** 2)


def rnn_loss_unrolled(p, xs, targets):
    h, loss = fnp.zeros(H), 0.0
    for t in range(xs.shape[0]):
        h, y = rnn_step(p, h, xs[t])
        loss = loss + (y - targets[t]) ** 2
    return loss


def rnn_data(seed):
    rng = np.random.default_rng(seed)
    return rnn_params(rng), rng.normal(size=(T, D)), rng.normal(size=T)


def test_rnn_scan_gradient_matches_unrolled_rnn():
    p, xs, targets = rnn_data(1)
    np.testing.assert_allclose(rnn_loss_scan(p, xs, targets), rnn_loss_unrolled(p, xs, targets), rtol=1e-13)
    expected = fxad.grad(rnn_loss_unrolled)(p, xs, targets)
    assert_tree_allclose(fxad.grad(rnn_loss_scan)(p, xs, targets), expected, rtol=1e-11, atol=1e-13)
    assert_tree_allclose(fxad.jit(fxad.grad(rnn_loss_scan))(p, xs, targets), expected, rtol=1e-11, atol=1e-13)
    for name in p:
        def loss_of(leaf, name=name):
            return rnn_loss_unrolled({**p, name: leaf}, xs, targets)
        np.testing.assert_allclose(expected[name], fd_grad(loss_of, p[name]), rtol=1e-6, atol=1e-8, err_msg=name)
    g_xs = fxad.grad(rnn_loss_scan, 1)(p, xs, targets)
    np.testing.assert_allclose(g_xs, fd_grad(lambda xs: rnn_loss_unrolled(p, xs, targets), xs), rtol=1e-6)


def test_rnn_scan_vjp_and_jvp_against_finite_differences():
    p, xs, targets = rnn_data(2)
    check_vjp_fd(rnn_loss_scan, (p, xs, targets))
    check_jvp_fd(lambda p, xs: lax.scan(lambda h, x: rnn_step(p, h, x), fnp.zeros(H), xs), (p, xs))


def test_rnn_scan_grad_under_vmap():
    p, _, _ = rnn_data(3)
    xs = RNG.normal(size=(3, T, D))
    targets = RNG.normal(size=(3, T))
    check_vmap_vs_loop(fxad.grad(rnn_loss_scan), (p, xs, targets), (None, 0, 0), rtol=1e-10)
    check_vmap_vs_loop(fxad.jit(fxad.grad(rnn_loss_scan)), (p, xs, targets), (None, 0, 0), rtol=1e-10)


def test_scan_stacks_only_per_iteration_residuals():
    # W feeds every step's linear part but depends on no carry: it is passed once, not stacked.
    p, xs, targets = rnn_data(4)
    jaxpr = fxad.make_jaxpr(fxad.grad(rnn_loss_scan))(p, xs, targets)
    core.check_jaxpr(jaxpr)
    shapes = [v.aval.shape for e in jaxpr.jaxpr.eqns for v in e.outvars]
    assert (T, H, H) not in shapes


def cumulative_decay(a, xs):
    """h_t = a h_{t-1} + x_t; a carry initialised with 0.0 acquires a tangent from a."""
    return lax.scan(lambda h, x: (a * h + x, h), 0.0, xs)


def cumulative_decay_py(a, xs):
    h, hs = 0.0, []
    for x in xs:
        hs.append(h)
        h = a * h + x
    return h, np.array(hs)


def test_scan_constant_carry_acquires_a_tangent():
    xs = RNG.normal(size=5)
    assert_tree_allclose(cumulative_decay(0.8, xs), cumulative_decay_py(0.8, xs), rtol=1e-14)
    check_jvp_fd(cumulative_decay, (0.8, xs))
    g = fxad.grad(lambda a: cumulative_decay(a, xs)[0])(0.8)
    np.testing.assert_allclose(g, fd_grad(lambda a: cumulative_decay_py(a, xs)[0], 0.8), rtol=1e-8)


def test_scan_transpose_dot_product_test():
    # Linear in xs: the transpose runs the recurrence backwards.
    xs = RNG.normal(size=5)
    check_transpose(lambda xs: cumulative_decay(0.7, xs), xs, (RNG.normal(), RNG.normal(size=5)))
    xs = RNG.normal(size=(5, 3))
    ct = (RNG.normal(size=3), RNG.normal(size=(5, 3)))
    check_transpose(lambda xs: lax.scan(lambda h, x: (0.7 * h + x, h), np.zeros(3), xs, reverse=True),
                    xs, ct)


def test_scan_grad_of_grad():
    xs = RNG.normal(size=4)

    def f(a):
        return fnp.sum(fnp.sin(cumulative_decay(a, xs)[1]))
    g = fxad.grad(f)
    h = fxad.grad(g)(0.6)
    np.testing.assert_allclose(h, (g(0.6 + 1e-5) - g(0.6 - 1e-5)) / 2e-5, rtol=1e-7)
    np.testing.assert_allclose(fxad.jit(fxad.grad(g))(0.6), h, rtol=1e-13)
    x = RNG.normal(size=3)
    hess = fxad.hessian(lambda x: lax.scan(lambda c, xi: (c * xi, c), 1.0, x)[0])(x)
    np.testing.assert_allclose(hess, [[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]], atol=1e-15)


@pytest.mark.parametrize('in_axes', [(None, 0), (0, 0), (0, None), (None, 1)])
def test_scan_vmap_matches_loop(in_axes):
    a = np.array([0.3, 0.9, -0.5])
    xs = RNG.normal(size=(3, 4)) if in_axes[1] == 0 else RNG.normal(size=(4, 3))
    args = (a if in_axes[0] == 0 else 0.7, xs if in_axes[1] is not None else xs[0])
    check_vmap_vs_loop(cumulative_decay, args, in_axes)
    check_vmap_vs_loop(fxad.grad(lambda a, xs: fnp.sum(cumulative_decay(a, xs)[1] ** 2)), args, in_axes,
                       rtol=1e-10)


def test_scan_vmap_batched_carry_only():
    init = RNG.normal(size=(3, 2))
    check_vmap_vs_loop(lambda h: lax.scan(lambda h, _: (fnp.sin(h) + 1.0, h), h, None, length=4), (init,), 0)


def test_nested_control_flow():
    def f(x):
        def outer(c, xi):
            inner, _ = lax.scan(lambda d, z: (d * z + c, None), xi, np.arange(1.0, 3.0))
            return lax.cond(inner > 3.0, lambda: inner / 2.0, lambda: inner), inner
        return lax.scan(outer, x, np.arange(3.0))

    def py(x):
        c, ys = x, []
        for xi in np.arange(3.0):
            d = xi
            for z in np.arange(1.0, 3.0):
                d = d * z + c
            ys.append(d)
            c = d / 2.0 if d > 3.0 else d
        return c, np.array(ys)
    assert_tree_allclose(f(0.7), py(0.7), rtol=1e-14)
    check_jvp_fd(f, (0.7,))
    g = fxad.grad(lambda x: f(x)[0])
    np.testing.assert_allclose(g(0.7), fd_grad(lambda x: py(x)[0], 0.7), rtol=1e-8)
    np.testing.assert_allclose(fxad.jit(g)(0.7), g(0.7), rtol=1e-14)
    check_vmap_vs_loop(g, (np.array([0.7, 0.1, 2.0]),), 0)
    core.check_jaxpr(fxad.make_jaxpr(fxad.vmap(g))(np.array([0.7, 0.1])))


@pytest.mark.parametrize('init, step, what', [
    (np.float64(1), lambda c, x: (c.astype(np.float32), x), r"carry has type f64\[\].*f32\[\].*dtypes differ"),
    ({'h': 1.0}, lambda c, x: ({'h': c['h'] * fnp.ones(3)}, x),
     r"carry\['h'\] has type f64\[\].*f64\[3\].*shapes differ"),
    (1.0, lambda c, x: ([c], x), 'tree structure'),
    (1.0, lambda c, x: c, 'pair'),
])
def test_scan_carry_errors(init, step, what):
    with pytest.raises(TypeError, match=what):
        lax.scan(step, init, np.ones(3))


@pytest.mark.parametrize('xs, length, what', [
    ((np.ones(3), np.ones(4)), None, 'different leading axis sizes'),
    (None, None, 'explicit length'),
    (np.ones(3), 4, 'disagrees'),
    (1.0, None, 'leading axis'),
])
def test_scan_length_errors(xs, length, what):
    with pytest.raises(ValueError, match=what):
        lax.scan(lambda c, x: (c, x), 0.0, xs, length=length)


def test_scan_weak_init_takes_the_body_dtype():
    carry, _ = lax.scan(lambda c, x: (c + x, None), 0, np.arange(3, dtype=np.float32))
    assert np.asarray(carry).dtype == np.float32 and carry == 3.0
