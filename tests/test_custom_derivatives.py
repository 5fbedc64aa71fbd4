"""custom_jvp and custom_vjp: the user's rule is what every transformation differentiates.

References: closed-form derivatives, central finite differences (tests/helpers.py), Python
loops over the batch, and deliberately wrong (scaled) rules whose scale must show up in every
derivative, proving the rule is used instead of differentiating the function.
"""
from functools import partial

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad.interpreters import ad

from helpers import assert_tree_allclose, check_jvp_fd, check_transpose, check_vmap_vs_loop

RNG = np.random.default_rng(0)
X = RNG.uniform(-1.5, 1.5, 4)
Y = RNG.uniform(0.5, 2.0, 4)


# ---------------------------------------------------------------------------------------------
# custom_jvp: a rule that is three times the true derivative


@fxad.custom_jvp
def sin3(x):
    return fnp.sin(x)


@sin3.defjvp
def sin3_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return sin3(x), 3.0 * fnp.cos(x) * t


def _derivative_by(transform, f):
    """The elementwise derivative of f on a vector, computed by one transformation."""
    if transform == 'jvp':
        return lambda x: fxad.jvp(f, (x,), (np.ones_like(x),))[1]
    if transform == 'grad':
        return lambda x: fxad.grad(lambda x: f(x).sum())(x)
    if transform == 'jacfwd':
        return lambda x: np.diag(fxad.jacfwd(f)(x))
    if transform == 'jacrev':
        return lambda x: np.diag(fxad.jacrev(f)(x))
    if transform == 'vmap_grad':
        return fxad.vmap(fxad.grad(f))
    if transform == 'grad_vmap':
        return lambda x: fxad.grad(lambda x: fxad.vmap(f)(x).sum())(x)
    if transform == 'jit_grad':
        return fxad.jit(lambda x: fxad.grad(lambda x: f(x).sum())(x))
    if transform == 'grad_jit':
        return lambda x: fxad.grad(fxad.jit(lambda x: f(x).sum()))(x)
    if transform == 'linearize':
        return lambda x: fxad.linearize(f, x)[1](np.ones_like(x))
    if transform == 'vjp':
        return lambda x: fxad.vjp(f, x)[1](np.ones_like(x))[0]
    raise ValueError(transform)


ALL_TRANSFORMS = ['jvp', 'grad', 'jacfwd', 'jacrev', 'vmap_grad', 'grad_vmap', 'jit_grad',
                  'grad_jit', 'linearize', 'vjp']


@pytest.mark.parametrize('transform', ALL_TRANSFORMS)
def test_custom_jvp_rule_is_used(transform):
    np.testing.assert_allclose(_derivative_by(transform, sin3)(X), 3 * np.cos(X), rtol=1e-12)


def test_custom_jvp_value_is_the_function():
    np.testing.assert_allclose(sin3(X), np.sin(X), rtol=1e-15)
    np.testing.assert_allclose(fxad.jit(sin3)(X), np.sin(X), rtol=1e-15)
    check_vmap_vs_loop(sin3, (X.reshape(2, 2),), 0)


def test_grad_of_grad_differentiates_the_rule():
    # d/dx (3 cos x) = -3 sin x: the rule's own operations are differentiated.
    for x in X:
        assert np.isclose(fxad.grad(fxad.grad(sin3))(x), -3 * np.sin(x), rtol=1e-12)
        assert np.isclose(fxad.hessian(sin3)(x), -3 * np.sin(x), rtol=1e-12)
        assert np.isclose(fxad.grad(fxad.grad(fxad.jit(sin3)))(x), -3 * np.sin(x), rtol=1e-12)
    np.testing.assert_allclose(fxad.vmap(fxad.grad(fxad.grad(sin3)))(X), -3 * np.sin(X), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# custom_jvp: true rules against finite differences and closed forms


@fxad.custom_jvp
def log1pexp(x):
    return fnp.log1p(fnp.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return log1pexp(x), t * fxad.lax.logistic(x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_log1pexp_derivatives_match_closed_form_and_fd():
    check_jvp_fd(log1pexp, (X,))
    np.testing.assert_allclose(fxad.grad(lambda x: log1pexp(x).sum())(X), _sigmoid(X), rtol=1e-12)
    second = fxad.vmap(fxad.grad(fxad.grad(log1pexp)))(X)
    np.testing.assert_allclose(second, _sigmoid(X) * (1 - _sigmoid(X)), rtol=1e-10)
    # Where the naive derivative is inf/inf = nan, the rule gives 1.
    with np.errstate(over='ignore', invalid='ignore'):
        assert fxad.grad(log1pexp)(1000.0) == 1.0
        assert np.isnan(fxad.grad(lambda x: fnp.log1p(fnp.exp(x)))(1000.0))


@fxad.custom_jvp
def sin_times(x, y):
    return fnp.sin(x) * y


sin_times.defjvps(lambda t, ans, x, y: fnp.cos(x) * t * y,
                  lambda t, ans, x, y: fnp.sin(x) * t)


def test_defjvps_per_argument():
    check_jvp_fd(sin_times, (X, Y))
    gx, gy = fxad.grad(lambda x, y: sin_times(x, y).sum(), (0, 1))(X, Y)
    np.testing.assert_allclose(gx, np.cos(X) * Y, rtol=1e-12)
    np.testing.assert_allclose(gy, np.sin(X), rtol=1e-12)


def test_defjvps_none_means_no_dependence():
    f = fxad.custom_jvp(lambda x, y: x * y)
    f.defjvps(lambda t, ans, x, y: 5.0 * t * y, None)
    gx, gy = fxad.grad(f, (0, 1))(2.0, 3.0)
    assert (gx, gy) == (15.0, 0.0)


@fxad.custom_jvp
def tree_fun(d, s):
    return {'prod': d['a'] * d['b'][0], 'sum': d['b'][1] + s}


@tree_fun.defjvp
def tree_fun_jvp(primals, tangents):
    (d, s), (td, ts) = primals, tangents
    out = tree_fun(d, s)
    return out, {'prod': td['a'] * d['b'][0] + d['a'] * td['b'][0], 'sum': td['b'][1] + ts}


def test_custom_jvp_pytrees_in_and_out():
    d = {'a': X, 'b': (Y, X[:2])}
    s = np.array([0.5, -0.5])
    check_jvp_fd(tree_fun, (d, s))
    g_d, g_s = fxad.grad(lambda d, s: tree_fun(d, s)['prod'].sum() + 2 * tree_fun(d, s)['sum'].sum(),
                         (0, 1))(d, s)
    assert_tree_allclose(g_d, {'a': Y, 'b': (X, 2 * np.ones(2))})
    np.testing.assert_allclose(g_s, 2 * np.ones(2))


def test_custom_jvp_keyword_and_default_arguments():
    @partial(fxad.custom_jvp, nondiff_argnums=(1,))
    def power(x, n=3):
        return x ** n

    @power.defjvp
    def power_jvp(n, primals, tangents):
        x, = primals
        return power(x, n), 7.0 * tangents[0]  # recognizable

    assert fxad.grad(lambda x: power(x))(2.0) == 7.0
    assert fxad.grad(lambda x: power(x=x, n=2))(2.0) == 7.0
    assert power(2.0) == 8.0 and fxad.jit(lambda x: power(x, n=2))(3.0) == 9.0


# ---------------------------------------------------------------------------------------------
# custom_jvp: nondiff_argnums, closures, staging


@partial(fxad.custom_jvp, nondiff_argnums=(0,))
def apply_fn(fn, x):
    return fn(x)


@apply_fn.defjvp
def apply_fn_jvp(fn, primals, tangents):
    x, = primals
    return apply_fn(fn, x), 10.0 * tangents[0]


def test_nondiff_callable_argument():
    assert fxad.grad(lambda x: apply_fn(fnp.sin, x))(0.5) == 10.0
    assert fxad.jit(fxad.grad(lambda x: apply_fn(fnp.sin, x)))(0.5) == 10.0
    np.testing.assert_allclose(fxad.vmap(fxad.grad(lambda x: apply_fn(fnp.cos, x)))(X), 10.0)
    np.testing.assert_allclose(apply_fn(fnp.exp, X), np.exp(X))


@partial(fxad.custom_jvp, nondiff_argnums=(1,))
def scale(x, c):
    return x * c


@scale.defjvp
def scale_jvp(c, primals, tangents):
    return scale(primals[0], c), 2.0 * c * tangents[0]


def test_traced_nondiff_argument():
    # c is traced (vmap, grad): it is an operand, zero-differentiated, handed to the rule.
    np.testing.assert_allclose(fxad.vmap(fxad.grad(scale))(X, Y), 2 * Y)
    np.testing.assert_allclose(fxad.grad(lambda x, c: fxad.vmap(scale)(x, c).sum())(X, Y), 2 * Y)
    np.testing.assert_allclose(fxad.jacfwd(lambda x: fxad.vmap(scale)(x, Y))(X), np.diag(2 * Y))
    np.testing.assert_allclose(fxad.grad(fxad.jit(lambda x, c: scale(x, c).sum()))(X, Y), 2 * Y)
    assert fxad.grad(lambda c: scale(2.0, c))(1.5) == 0.0  # nondiff: no derivative


def test_closure_over_batched_value():
    def grad_at(y):
        f = fxad.custom_jvp(lambda x: fnp.sin(x) * y)
        f.defjvp(lambda p, t: (f(p[0]), 4.0 * fnp.cos(p[0]) * t[0] * y))
        return fxad.grad(f)(0.3)
    np.testing.assert_allclose(fxad.vmap(grad_at)(Y), 4 * np.cos(0.3) * Y, rtol=1e-12)
    check_vmap_vs_loop(grad_at, (Y,), 0)


def test_differentiating_a_closed_over_value_is_an_error():
    def f_of_y(y):
        f = fxad.custom_jvp(lambda x: fnp.sin(x) * y)
        f.defjvp(lambda p, t: (f(p[0]), fnp.cos(p[0]) * t[0] * y))
        return f(0.3)
    with pytest.raises(TypeError, match="closed-over value"):
        fxad.grad(f_of_y)(1.0)


def test_custom_jvp_in_jaxpr():
    text = str(fxad.make_jaxpr(sin3)(1.0))
    assert 'custom_jvp_call[' in text and 'jvp=sin3_jvp' in text
    assert 'call_jaxpr={ lambda ; c:f64[]. let d:f64[] = sin c in (d,) }' in text
    jaxpr = fxad.make_jaxpr(lambda x, c: scale(x, c))(X, Y)
    eqn = jaxpr.eqns[-1]
    assert eqn.primitive.name == 'custom_jvp_call' and eqn.params['num_consts'] == 1
    fxad.core.check_jaxpr(jaxpr)


def test_eager_call_runs_python():
    @fxad.custom_jvp
    def relu(x):
        return x if x > 0 else 0.0 * x  # Python control flow: fine when not traced
    relu.defjvp(lambda p, t: (relu(p[0]), t[0]))
    assert relu(2.0) == 2.0 and relu(-1.0) == 0.0


def test_linear_custom_jvp_transposes():
    @fxad.custom_jvp
    def double(x):
        return 2.0 * x
    double.defjvp(lambda p, t: (double(p[0]), double(t[0])))

    # Applied to tangents inside another rule: linearize inlines it and transposes its body.
    @fxad.custom_jvp
    def g(x):
        return fnp.sin(x)
    g.defjvp(lambda p, t: (g(p[0]), double(fnp.cos(p[0]) * t[0])))
    np.testing.assert_allclose(fxad.grad(lambda x: g(x).sum())(X), 2 * np.cos(X), rtol=1e-12)
    check_transpose(double, X, Y)


def test_custom_jvp_rule_errors():
    def make(rule):
        f = fxad.custom_jvp(lambda x: fnp.sin(x))
        f.defjvp(rule)
        return f
    # Checked wherever the rule runs: a direct call under jvp, and the staged equation of
    # jvp(jit(f)). The tangent output must match the rule's own primal output.
    cases = [
        (lambda p, t: fnp.sin(p[0]), "pair"),
        (lambda p, t: (fnp.sin(p[0]), (t[0], t[0])), "equal container"),
        (lambda p, t: (fnp.sin(p[0]), fnp.concatenate([t[0], t[0]])), r"shape \(4,\)"),
        (lambda p, t: (fnp.sin(p[0]), t[0].astype(np.float32)),
         "tangent of primal output leaf 0 has dtype float32"),
    ]
    for rule, msg in cases:
        for f in (make(rule), fxad.jit(make(rule))):
            with pytest.raises(TypeError, match=msg):
                fxad.jvp(f, (X[:2],), (X[:2],))
    with pytest.raises(TypeError, match="tangent of primal output leaf 0 has dtype float64"):
        fxad.jvp(make(lambda p, t: (fnp.sin(p[0]).astype(np.float32), t[0])), (X[:2],), (X[:2],))
    # Checked against the function's output where the function is traced (jvp(jit(f))); a
    # direct call does not trace the function, as in JAX.
    cases = [
        (lambda p, t: ((fnp.sin(p[0]),), (t[0],)), "same container"),
        (lambda p, t: (fnp.sin(p[0]).astype(np.float32), t[0].astype(np.float32)),
         "primal output leaf 0 has shape \\(2,\\) and dtype float32"),
    ]
    for rule, msg in cases:
        with pytest.raises(TypeError, match=msg):
            fxad.jvp(fxad.jit(make(rule)), (X[:2],), (X[:2],))
    with pytest.raises(AttributeError, match="No JVP defined"):
        fxad.custom_jvp(fnp.sin)(1.0)
    with pytest.raises(TypeError, match="nondiff_argnums"):
        partial(fxad.custom_jvp, nondiff_argnums=(0,))(lambda f, x: f(x)).defjvps(None)
    with pytest.raises(ValueError, match="out of range"):
        bad = partial(fxad.custom_jvp, nondiff_argnums=(3,))(lambda x: x)
        bad.defjvp(lambda p, t: (p[0], t[0]))
        fxad.jit(bad)(1.0)


# ---------------------------------------------------------------------------------------------
# custom_vjp


@fxad.custom_vjp
def sin_y(x, y):
    return fnp.sin(x) * y


def sin_y_fwd(x, y):
    # Pytree residuals: a dict holding a tuple.
    return sin_y(x, y), {'cos': fnp.cos(x), 'keep': (fnp.sin(x), y)}


def sin_y_bwd(res, g):
    sin_x, y = res['keep']
    return 2.0 * res['cos'] * y * g, sin_x * g  # x: twice the truth, to see the rule used


sin_y.defvjp(sin_y_fwd, sin_y_bwd)


def _vjp_derivative_by(transform, f):
    """(d/dx, d/dy) of sum(f(x, y)) by one reverse-mode transformation."""
    loss = lambda x, y: f(x, y).sum()  # noqa: E731
    if transform == 'grad':
        return fxad.grad(loss, (0, 1))
    if transform == 'jit_grad':
        return fxad.jit(fxad.grad(loss, (0, 1)))
    if transform == 'grad_jit':
        return fxad.grad(fxad.jit(loss), (0, 1))
    if transform == 'vjp':
        return lambda x, y: fxad.vjp(f, x, y)[1](np.ones_like(x))
    if transform == 'vmap_grad':
        return fxad.vmap(fxad.grad(f, (0, 1)))
    if transform == 'grad_vmap':
        return fxad.grad(lambda x, y: fxad.vmap(f)(x, y).sum(), (0, 1))
    if transform == 'jacrev':
        return lambda x, y: tuple(np.diag(j) for j in fxad.jacrev(f, (0, 1))(x, y))
    if transform == 'jit_vmap_grad':
        return fxad.jit(fxad.vmap(fxad.grad(f, (0, 1))))
    raise ValueError(transform)


VJP_TRANSFORMS = ['grad', 'jit_grad', 'grad_jit', 'vjp', 'vmap_grad', 'grad_vmap', 'jacrev',
                  'jit_vmap_grad']


@pytest.mark.parametrize('transform', VJP_TRANSFORMS)
def test_custom_vjp_rule_is_used(transform):
    gx, gy = _vjp_derivative_by(transform, sin_y)(X, Y)
    np.testing.assert_allclose(gx, 2 * np.cos(X) * Y, rtol=1e-12)
    np.testing.assert_allclose(gy, np.sin(X), rtol=1e-12)


def test_custom_vjp_value_and_batching():
    np.testing.assert_allclose(sin_y(X, Y), np.sin(X) * Y, rtol=1e-15)
    np.testing.assert_allclose(fxad.jit(sin_y)(X, Y), np.sin(X) * Y, rtol=1e-15)
    check_vmap_vs_loop(sin_y, (X.reshape(2, 2), Y[:2]), (0, None))


def test_custom_vjp_unbatched_input_gets_summed_cotangent():
    # y is shared by all batch members: its cotangent is the sum over the batch.
    gx, gy = fxad.grad(lambda x, y: fxad.vmap(sin_y, (0, None))(x, y).sum(), (0, 1))(X, 1.5)
    np.testing.assert_allclose(gx, 2 * np.cos(X) * 1.5, rtol=1e-12)
    np.testing.assert_allclose(gy, np.sin(X).sum(), rtol=1e-12)


@fxad.custom_vjp
def true_sin(x):
    return fnp.sin(x)


true_sin.defvjp(lambda x: (true_sin(x), fnp.cos(x)), lambda cos_x, g: (cos_x * g,))


def test_custom_vjp_true_rule_and_higher_order():
    np.testing.assert_allclose(fxad.grad(lambda x: true_sin(x).sum())(X), np.cos(X), rtol=1e-12)
    # Reverse over reverse differentiates fwd and bwd.
    np.testing.assert_allclose(fxad.vmap(fxad.grad(fxad.grad(true_sin)))(X), -np.sin(X), rtol=1e-12)
    np.testing.assert_allclose(fxad.jacrev(fxad.jacrev(true_sin))(0.4), -np.sin(0.4), rtol=1e-12)
    h = 1e-6
    fd = (fxad.grad(true_sin)(0.4 + h) - fxad.grad(true_sin)(0.4 - h)) / (2 * h)
    assert np.isclose(fxad.grad(fxad.grad(true_sin))(0.4), fd, rtol=1e-7)


@fxad.custom_vjp
def weighted(params, x):
    return params['w'] * fnp.tanh(x) + params['b'][0]


def weighted_fwd(params, x):
    t = fnp.tanh(x)
    return weighted(params, x), (t, params['w'])


def weighted_bwd(res, g):
    t, w = res
    # None: no cotangent for the subtree params['b'] (zero).
    return {'w': t * g, 'b': None}, w * (1 - t ** 2) * g


weighted.defvjp(weighted_fwd, weighted_bwd)


def test_custom_vjp_pytree_arguments_and_none_cotangents():
    params = {'w': Y, 'b': (np.float64(0.5),)}
    g_params, g_x = fxad.grad(lambda p, x: weighted(p, x).sum(), (0, 1))(params, X)
    np.testing.assert_allclose(g_params['w'], np.tanh(X), rtol=1e-12)
    assert g_params['b'][0] == 0.0
    np.testing.assert_allclose(g_x, Y * (1 - np.tanh(X) ** 2), rtol=1e-12)
    g_vmapped = fxad.vmap(fxad.grad(lambda w, x: weighted({'w': w, 'b': (0.5,)}, x), 1))(Y, X)
    np.testing.assert_allclose(g_vmapped, Y * (1 - np.tanh(X) ** 2), rtol=1e-12)


@partial(fxad.custom_vjp, nondiff_argnums=(0, 1))
def clip_gradient(lo, hi, x):
    return x


clip_gradient.defvjp(lambda lo, hi, x: (x, None), lambda lo, hi, _, g: (fnp.clip(g, lo, hi),))


def test_custom_vjp_nondiff_argnums_and_none_argument():
    g = fxad.grad(lambda x: (3.0 * clip_gradient(-1.0, 1.0, x)).sum())(X)
    np.testing.assert_allclose(g, np.ones_like(X))
    g = fxad.vmap(fxad.grad(lambda x: 0.5 * clip_gradient(-1.0, 1.0, x)))(X)
    np.testing.assert_allclose(g, 0.5 * np.ones_like(X))

    @fxad.custom_vjp
    def mul_int(x, n):
        return x * n
    mul_int.defvjp(lambda x, n: (mul_int(x, n), n), lambda n, g: (g * n, None))
    assert fxad.grad(mul_int)(2.0, 3) == 3.0


def test_custom_vjp_in_jaxpr():
    text = str(fxad.make_jaxpr(sin_y)(X, Y))
    assert 'custom_vjp_call[' in text and 'fwd=sin_y_fwd' in text and 'bwd=sin_y_bwd' in text
    assert 'call_jaxpr={ lambda ; d:f64[4] e:f64[4]. let' in text
    fxad.core.check_jaxpr(fxad.make_jaxpr(sin_y)(X, Y))


def test_custom_vjp_residuals_are_what_fwd_saves():
    _, _, residuals, _ = ad.linearize_flat(lambda x: [true_sin(x)], [X])
    assert len(residuals) == 1
    np.testing.assert_allclose(residuals[0], np.cos(X))


def test_batched_linear_map_transposes_through_bwd():
    # vmap of a linearized custom_vjp function, transposed: bwd runs batched, and the
    # cotangent of the unbatched input y sums over the batch.
    x = X[:3]
    _, f_lin = fxad.linearize(sin_y, x, 2 * x)
    ts = RNG.standard_normal((2, 3))
    ct_x, ct_y = fxad.linear_transpose(fxad.vmap(f_lin, (0, None)), ts, x)(ts)
    np.testing.assert_allclose(ct_x, 2 * np.cos(x) * 2 * x * ts, rtol=1e-12)
    np.testing.assert_allclose(ct_y, (np.sin(x) * ts).sum(0), rtol=1e-12)


def test_forward_mode_of_custom_vjp_is_an_error():
    for run in [lambda: fxad.jvp(true_sin, (X,), (X,)),
                lambda: fxad.jacfwd(true_sin)(X),
                lambda: fxad.jvp(fxad.jit(true_sin), (X,), (X,)),
                lambda: fxad.linearize(true_sin, X)[1](X),
                lambda: fxad.hessian(true_sin)(0.4)]:
        with pytest.raises(TypeError, match="forward-mode autodiff"):
            run()


def _with_bwd(bwd, fwd=None, jit=False):
    f = fxad.custom_vjp(lambda x, y: x * y)
    f.defvjp(fwd or (lambda x, y: (f(x, y), (x, y))), bwd)
    loss = lambda x, y: f(x, y).sum()  # noqa: E731
    return fxad.grad(fxad.jit(loss) if jit else loss, (0, 1))


def test_custom_vjp_bwd_errors_name_the_input():
    x, y = X[:3], Y[:3]
    cases = [
        (lambda r, g: g * r[1], TypeError, "tuple with one cotangent"),
        (lambda r, g: (g * r[1],), TypeError, "must produce 2 cotangents"),
        (lambda r, g: (g * r[1], g * r[0], g), TypeError, "must produce 2 cotangents"),
        (lambda r, g: (g * r[1], fnp.concatenate([g, g])), ValueError,
         r"argument 1 has shape \(6,\) but the argument has shape \(3,\)"),
        (lambda r, g: ((g,), g), TypeError, "cotangent for argument 0 has structure"),
        (lambda r, g: (g.astype(np.float32), g), ValueError, "argument 0 has dtype float32"),
        (lambda r, g: ("zero", g), TypeError, "argument 0 has type str"),
    ]
    for bwd, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            _with_bwd(bwd)(x, y)


def test_custom_vjp_fwd_errors():
    bwd = lambda r, g: (g, g)  # noqa: E731
    with pytest.raises(TypeError, match="pair"):
        _with_bwd(bwd, fwd=lambda x, y: x * y)(X, Y)
    with pytest.raises(TypeError, match="residual leaf 0 has type str"):
        _with_bwd(bwd, fwd=lambda x, y: (x * y, "state"))(X, Y)
    # The fwd output is checked against the function where the function is traced (under jit).
    with pytest.raises(TypeError, match="primal output leaf 0 has shape"):
        _with_bwd(bwd, fwd=lambda x, y: ((x * y)[:1], None), jit=True)(X, Y)
    with pytest.raises(AttributeError, match="No VJP defined"):
        fxad.grad(fxad.custom_vjp(fnp.sin))(1.0)


def test_custom_vjp_traced_nondiff_and_closure_errors():
    f = partial(fxad.custom_vjp, nondiff_argnums=(1,))(lambda x, c: x * c)
    f.defvjp(lambda x, c: (f(x, c), None), lambda c, r, g: (g * c,))
    with pytest.raises(TypeError, match="nondiff_argnums"):
        fxad.vmap(f)(X, Y)

    def f_of_y(y):
        h = fxad.custom_vjp(lambda x: x * y)
        h.defvjp(lambda x: (h(x), None), lambda r, g: (g * y,))
        return h(2.0)
    with pytest.raises(TypeError, match="closed-over value"):
        fxad.grad(f_of_y)(1.0)
    np.testing.assert_allclose(fxad.vmap(f_of_y)(Y), 2 * Y)  # closing over vmap is fine


@pytest.mark.parametrize('f, scale', [(sin3, 3.0), (true_sin, 1.0)], ids=['custom_jvp', 'custom_vjp'])
def test_inside_control_flow(f, scale):
    # Three steps of x -> f(x) in a scan: the chain rule multiplies three rule derivatives.
    def three_steps(x):
        return fxad.lax.scan(lambda c, _: (f(c), None), x, None, length=3)[0]
    s1 = np.sin(X)
    expected = scale ** 3 * np.cos(X) * np.cos(s1) * np.cos(np.sin(s1))
    np.testing.assert_allclose(fxad.grad(lambda x: three_steps(x).sum())(X), expected, rtol=1e-12)
    np.testing.assert_allclose(fxad.vmap(fxad.grad(three_steps))(X), expected, rtol=1e-12)
    in_cond = fxad.grad(lambda x: fxad.lax.cond(True, f, lambda c: c, x).sum())(X)
    np.testing.assert_allclose(in_cond, scale * np.cos(X), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Python control flow: under differentiation without jit, a call is handled by the JVPTrace
# that owns its arguments, which runs the rule on concrete primals; the function itself is not
# traced. Ported from JAX's docs (custom-jvp-vjp.md, "You can use Python control flow ...").


@fxad.custom_jvp
def branchy(x):
    if x > 0:
        return fnp.sin(x)
    else:
        return fnp.cos(x)


@branchy.defjvp
def branchy_jvp(primals, tangents):
    x, = primals
    t, = tangents
    ans = branchy(x)
    if x > 0:
        return ans, 2 * t
    else:
        return ans, 3 * t


def _branchy_derivatives(f, x):
    """d/dx f at a scalar x by every eager transformation."""
    return [fxad.grad(f)(x), fxad.jvp(f, (x,), (1.0,))[1], fxad.vjp(f, x)[1](1.0)[0],
            fxad.jacfwd(f)(x), fxad.jacrev(f)(x), fxad.linearize(f, x)[1](1.0),
            fxad.value_and_grad(f)(x)[1]]


@pytest.mark.parametrize('x, value, slope', [(1.0, np.sin(1.0), 2.0), (-1.0, np.cos(-1.0), 3.0)])
def test_custom_jvp_python_control_flow(x, value, slope):
    np.testing.assert_allclose(_branchy_derivatives(branchy, x), slope, rtol=0, atol=0)
    np.testing.assert_allclose(fxad.jvp(branchy, (x,), (1.0,))[0], value, rtol=1e-15)
    np.testing.assert_allclose(fxad.value_and_grad(branchy)(x)[0], value, rtol=1e-15)
    # vmap over something else: the differentiated argument stays concrete.
    ys = np.arange(3.0)
    np.testing.assert_allclose(fxad.vmap(lambda y: fxad.grad(branchy)(x) * y)(ys), slope * ys)


@fxad.custom_jvp
def branchy2(x):
    return fnp.sin(x) if x > 0 else fnp.cos(x)


@branchy2.defjvp
def branchy2_jvp(primals, tangents):
    x, = primals
    # Twice the true derivative for x > 0, three times for x < 0.
    slope = 2 * fnp.cos(x) if x > 0 else -3 * fnp.sin(x)
    return branchy2(x), slope * tangents[0]


@pytest.mark.parametrize('x', [0.7, -0.7])
def test_custom_jvp_python_control_flow_higher_order(x):
    # Each level of differentiation finds the level that owns its argument; the inner rule's
    # operations are differentiated by the outer one.
    second = -2 * np.sin(x) if x > 0 else -3 * np.cos(x)
    for d2 in [fxad.grad(fxad.grad(branchy2)), fxad.hessian(branchy2),
               fxad.jacfwd(fxad.jacrev(branchy2)), fxad.jacrev(fxad.jacfwd(branchy2)),
               lambda x: fxad.jvp(lambda x: fxad.jvp(branchy2, (x,), (1.0,))[1], (x,), (1.0,))[1]]:
        np.testing.assert_allclose(d2(x), second, rtol=1e-12)


def test_custom_jvp_python_control_flow_under_jit_is_an_error():
    # Under jit the primals are abstract, in JAX as here.
    with pytest.raises(fxad.errors.ConcretizationTypeError):
        fxad.jit(fxad.grad(branchy))(1.0)
    with pytest.raises(fxad.errors.ConcretizationTypeError):
        fxad.vmap(fxad.grad(branchy))(X)


def test_custom_jvp_function_is_not_traced_by_a_direct_call():
    # The function is NumPy only (untraceable); eager jvp and grad run the rule, which calls it
    # on concrete primals.
    @fxad.custom_jvp
    def numpy_sin(x):
        return np.sin(x)
    numpy_sin.defjvp(lambda p, t: (numpy_sin(p[0]), fnp.cos(p[0]) * t[0]))
    np.testing.assert_allclose(fxad.jvp(numpy_sin, (X,), (Y,)), (np.sin(X), np.cos(X) * Y),
                               rtol=1e-15)
    np.testing.assert_allclose(fxad.grad(lambda x: numpy_sin(x).sum())(X), np.cos(X), rtol=1e-15)


def test_jvp_under_jit_stages_the_rule():
    # jit(jvp(f)): the call is not staged as one custom_jvp_call for the JVP; the rule's
    # operations are (its call f(x) for the primal output is an ordinary custom call).
    jaxpr = fxad.make_jaxpr(lambda x: fxad.jvp(sin3, (x,), (1.0,)))(0.5)
    names = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert names.count('custom_jvp_call') == 1 and 'cos' in names
    assert jaxpr.jaxpr.outvars[0] is jaxpr.jaxpr.eqns[names.index('custom_jvp_call')].outvars[0]
    np.testing.assert_allclose(fxad.jit(lambda x: fxad.jvp(sin3, (x,), (Y,)))(X),
                               (np.sin(X), 3 * np.cos(X) * Y), rtol=1e-15)


@fxad.custom_vjp
def branchy_vjp(x):
    if x > 0:
        return fnp.sin(x)
    else:
        return fnp.cos(x)


def branchy_vjp_fwd(x):
    if x > 0:
        return branchy_vjp(x), (x, fnp.cos(x))
    else:
        return branchy_vjp(x), (x, -fnp.sin(x))


def branchy_vjp_bwd(res, g):
    x, derivative = res
    # bwd sees concrete residuals: twice the truth for x > 0, three times for x < 0.
    if x > 0:
        return (2 * derivative * g,)
    else:
        return (3 * derivative * g,)


branchy_vjp.defvjp(branchy_vjp_fwd, branchy_vjp_bwd)


@pytest.mark.parametrize('x', [1.0, -1.0])
def test_custom_vjp_python_control_flow(x):
    slope = 2 * np.cos(x) if x > 0 else -3 * np.sin(x)
    value = np.sin(x) if x > 0 else np.cos(x)
    for d in [fxad.grad(branchy_vjp)(x), fxad.vjp(branchy_vjp, x)[1](1.0)[0],
              fxad.jacrev(branchy_vjp)(x), fxad.value_and_grad(branchy_vjp)(x)[1]]:
        np.testing.assert_allclose(d, slope, rtol=1e-15)
    np.testing.assert_allclose(fxad.vjp(branchy_vjp, x)[0], value, rtol=1e-15)
    # Reverse over reverse differentiates fwd and bwd.
    second = -2 * np.sin(x) if x > 0 else -3 * np.cos(x)
    np.testing.assert_allclose(fxad.grad(fxad.grad(branchy_vjp))(x), second, rtol=1e-12)
    for forward in [lambda: fxad.jvp(branchy_vjp, (x,), (1.0,)), lambda: fxad.jacfwd(branchy_vjp)(x)]:
        with pytest.raises(TypeError, match="forward-mode autodiff"):
            forward()


def test_jax_doc_custom_vjp_control_flow_in_bwd():
    # JAX's example: the identity, with a bwd that branches on the residual.
    @fxad.custom_vjp
    def f(x):
        return x

    def f_bwd(x, g):
        if x > 0:
            return (2 * g,)
        else:
            return (3 * g,)
    f.defvjp(lambda x: (f(x), x), f_bwd)
    assert fxad.grad(f)(1.0) == 2.0 and fxad.grad(f)(-1.0) == 3.0


def test_closure_errors_with_direct_calls():
    # The differentiated value is both an argument and closed over: the function (called by the
    # rule on the parent trace) meets it, which names the closure.
    def f_of_y(y):
        f = fxad.custom_jvp(lambda x: fnp.sin(x) * y)
        f.defjvp(lambda p, t: (f(p[0]), fnp.cos(p[0]) * t[0]))
        return f(y)
    for run in [lambda: fxad.grad(f_of_y)(1.0), lambda: fxad.jvp(f_of_y, (1.0,), (1.0,))]:
        with pytest.raises(TypeError, match="closed-over value"):
            run()

    def g_of_y(y):
        # Only the rule closes over y.
        g = fxad.custom_jvp(lambda x: fnp.sin(x))
        g.defjvp(lambda p, t: (g(p[0]), fnp.cos(p[0]) * t[0] * y))
        return g(2.0 * y)
    with pytest.raises(TypeError, match="closed-over value"):
        fxad.grad(g_of_y)(1.0)


def test_custom_function_closing_over_a_tangent_inside_a_rule():
    # Inside a rule under grad, a custom function of a known value closes over the (unknown)
    # tangent: it is traced, its closure becomes an operand, and linearize inlines it.
    @fxad.custom_jvp
    def outer(x):
        return fnp.sin(x)

    @outer.defjvp
    def outer_jvp(primals, tangents):
        x, = primals
        t, = tangents
        scale_t = fxad.custom_jvp(lambda a: a * t)
        scale_t.defjvp(lambda p, d: (scale_t(p[0]), d[0] * t))
        return outer(x), scale_t(fnp.cos(x))
    np.testing.assert_allclose(fxad.grad(lambda x: outer(x).sum())(X), np.cos(X), rtol=1e-15)
    np.testing.assert_allclose(fxad.jvp(outer, (X,), (Y,))[1], np.cos(X) * Y, rtol=1e-15)
