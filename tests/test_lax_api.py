"""fxad.lax conveniences that JAX users expect: weak Python scalars, select, map, pytree stop_gradient."""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad import lax


@pytest.mark.parametrize('fn, ref', [
    (lax.add, np.add), (lax.sub, np.subtract), (lax.mul, np.multiply), (lax.max, np.maximum),
    (lax.lt, np.less), (lax.eq, np.equal),
])
@pytest.mark.parametrize('dtype', [np.float32, np.float64, np.int32])
def test_python_scalar_beside_array_takes_the_array_dtype(fn, ref, dtype):
    x = np.arange(3).astype(dtype)
    out = fn(x, 2)
    expected = ref(x, np.asarray(2, dtype))
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)
    traced = fxad.jit(lambda a: fn(2, a))(x)
    np.testing.assert_array_equal(traced, ref(np.asarray(2, dtype), x))


def test_python_scalars_of_a_higher_kind_are_still_rejected():
    with pytest.raises(TypeError, match="same dtype"):
        lax.add(np.ones(2, np.int32), 1.5)
    with pytest.raises(TypeError, match="same dtype"):
        lax.add(1, 1.0)


def test_select_matches_numpy_where():
    pred = np.array([True, False, True])
    a, b = np.arange(3.), -np.arange(3.)
    np.testing.assert_array_equal(lax.select(pred, a, b), np.where(pred, a, b))
    g = fxad.grad(lambda t: fnp.sum(lax.select(pred, t, 2 * t)))(a)
    np.testing.assert_array_equal(g, np.where(pred, 1.0, 2.0))


def test_map_matches_a_python_loop_and_differentiates():
    xs = np.linspace(0.0, 1.0, 4)
    np.testing.assert_allclose(lax.map(lambda x: fnp.sin(x) * x, xs), [np.sin(x) * x for x in xs])
    jac = fxad.jacfwd(lambda v: lax.map(fnp.sin, v))(xs)
    np.testing.assert_allclose(jac, np.diag(np.cos(xs)))


def test_stop_gradient_on_a_pytree():
    out = lax.stop_gradient({'w': 2.0, 'n': 3})
    assert out == {'w': 2.0, 'n': 3}
    # d/dx [sg(x) * x] = sg(x) = x.
    assert fxad.grad(lambda x: lax.stop_gradient({'a': x})['a'] * x)(3.0) == 3.0
