"""Property-based tests: fxad against independent references on inputs hypothesis generates.

References: NumPy 2 (promotion, broadcasting, einsum, indexing), hand-written pytree walkers,
central finite differences of a NumPy twin of each function, and a Python loop for vmap.
Every test is derandomized (no example database), so CI runs the same examples each time.
"""
import functools
import operator

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fxad
import fxad.numpy as fnp
from fxad import tree_util as tu

from helpers import check_vmap_vs_loop, inner


def _settings(max_examples):
    # No explain phase: on a failure it reruns the test many times for little extra insight.
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink], report_multiple_bugs=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


seeds = st.integers(0, 2**32 - 1)


def _assert_values_equal(actual, expected, err_msg=''):
    """Equal shapes, dtypes and values; inexact values up to their dtype's rounding."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{err_msg}: shape {actual.shape} vs {expected.shape}"
    assert actual.dtype == expected.dtype, f"{err_msg}: dtype {actual.dtype} vs {expected.dtype}"
    if expected.dtype.kind in 'fc':
        rtol = 1e-6 if expected.dtype in (np.float32, np.complex64) else 1e-14
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0, equal_nan=True, err_msg=err_msg)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=err_msg)


# ---------------------------------------------------------------------------------------------
# 1. dtype promotion: NumPy 2 (NEP 50) with weak Python scalars

PROMOTION_DTYPES = [np.bool_, np.int8, np.int32, np.int64, np.uint8, np.float32, np.float64,
                    np.complex64, np.complex128]
PROMOTION_OPS = ['add', 'multiply', 'subtract', 'maximum']


@st.composite
def array_operands(draw):
    dtype = np.dtype(draw(st.sampled_from(PROMOTION_DTYPES)))
    shape = draw(st.sampled_from([(), (3,)]))
    rng = np.random.default_rng(draw(seeds))
    if dtype.kind == 'b':
        x = rng.uniform(size=shape) < 0.5
    elif dtype.kind in 'iu':  # small values: no sum, difference or product overflows a signed type
        x = rng.integers(0 if dtype.kind == 'u' else -4, 5, shape).astype(dtype)
    else:
        x = rng.uniform(-3, 3, shape)
        if dtype.kind == 'c':
            x = x + 1j * rng.uniform(-3, 3, shape)
        x = np.where(rng.uniform(size=shape) < 0.1, np.nan, x).astype(dtype)
    # A 0-d array or a NumPy scalar: both are strong (they keep their dtype) under NEP 50.
    return x[()] if shape == () and draw(st.booleans()) else x


# Python ints out of int8/uint8 range (300, -200, 70000) make NumPy raise OverflowError; that
# path is checked (fxad must raise the same error), the values are then skipped.
python_scalars = st.one_of(
    st.booleans(),
    st.integers(-3, 5) | st.sampled_from([300, -200, 70000]),
    st.floats(-3, 3, width=64) | st.just(float('nan')),
    st.complex_numbers(max_magnitude=3, allow_nan=False, allow_infinity=False))

promotion_operands = st.one_of(array_operands(), python_scalars)


@_settings(600)
@given(op=st.sampled_from(PROMOTION_OPS), a=promotion_operands, b=promotion_operands)
@example(op='add', a=np.arange(3, dtype=np.float32), b=1j)        # float32 with complex: c64
@example(op='multiply', a=np.arange(3, dtype=np.uint8), b=-1)     # NumPy: OverflowError
@example(op='subtract', a=True, b=np.array([True, False]))        # NumPy: TypeError for bool
def test_promotion_matches_numpy(op, a, b):
    try:
        expected = getattr(np, op)(a, b)
    except (TypeError, OverflowError) as e:
        # Skipped combination: NumPy rejects it (bool subtract, out-of-range Python int).
        with pytest.raises(type(e)):
            getattr(fnp, op)(a, b)
        return
    eager = getattr(fnp, op)(a, b)
    assert isinstance(eager, (np.ndarray, np.generic)), f"eager result is a {type(eager).__name__}"
    _assert_values_equal(eager, expected, f"fnp.{op}({a!r}, {b!r})")

    # Under jit the Python scalars are weak-typed arguments (or weak constants when closed over).
    jitted = fxad.jit(getattr(fnp, op))(a, b)
    _assert_values_equal(jitted, eager, f"jit(fnp.{op})({a!r}, {b!r})")
    if isinstance(b, (bool, int, float, complex)):
        closed = fxad.jit(lambda x: getattr(fnp, op)(x, b))(a)
        _assert_values_equal(closed, eager, f"jit(lambda x: fnp.{op}(x, {b!r}))({a!r})")


# ---------------------------------------------------------------------------------------------
# 2. broadcasting

BROADCAST_OPS = ['add', 'subtract', 'multiply', 'divide', 'maximum', 'arctan2', 'hypot']


@_settings(200)
@given(op=st.sampled_from(BROADCAST_OPS),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4),
       seed=seeds, use_jit=st.booleans())
def test_broadcasting_matches_numpy(op, shapes, seed, use_jit):
    rng = np.random.default_rng(seed)
    x, y = (rng.uniform(0.5, 2.0, s) for s in shapes.input_shapes)
    f = getattr(fnp, op)
    out = (fxad.jit(f) if use_jit else f)(x, y)
    assert np.shape(out) == shapes.result_shape
    _assert_values_equal(out, getattr(np, op)(x, y), f"fnp.{op} on shapes {shapes.input_shapes}")


@st.composite
def incompatible_shapes(draw):
    """Two shapes with one aligned (from the right) axis of two different sizes > 1."""
    dims = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)
    a, b = list(draw(dims)), list(draw(dims))
    k = -draw(st.integers(1, min(len(a), len(b))))
    a[k] = draw(st.integers(2, 5))
    b[k] = draw(st.sampled_from([n for n in range(2, 6) if n != a[k]]))
    return tuple(a), tuple(b)


@_settings(100)
@given(op=st.sampled_from(BROADCAST_OPS), shapes=incompatible_shapes(), use_jit=st.booleans())
def test_incompatible_shapes_raise(op, shapes, use_jit):
    a, b = shapes
    with pytest.raises(ValueError):
        np.broadcast_shapes(a, b)   # the generator's promise, checked by NumPy
    f = getattr(fnp, op)
    with pytest.raises(ValueError) as info:
        (fxad.jit(f) if use_jit else f)(np.ones(a), np.ones(b))
    assert str(a) in str(info.value) and str(b) in str(info.value), str(info.value)


# ---------------------------------------------------------------------------------------------
# 3. tree_util against hand-written recursive walkers

tree_leaves_st = st.one_of(st.integers(-5, 5), st.floats(-1, 1, allow_nan=False), st.text('xyz', max_size=2))
pytrees = st.recursive(
    st.one_of(tree_leaves_st, st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text('abcd', min_size=1, max_size=2), children, max_size=3)),
    max_leaves=12)


def _ref_leaves(t):
    if t is None:
        return []
    if isinstance(t, (list, tuple)):
        return [leaf for c in t for leaf in _ref_leaves(c)]
    if isinstance(t, dict):
        return [leaf for k in sorted(t) for leaf in _ref_leaves(t[k])]
    return [t]


def _ref_map(f, t):
    if t is None:
        return None
    if isinstance(t, (list, tuple)):
        return type(t)(_ref_map(f, c) for c in t)
    if isinstance(t, dict):
        return {k: _ref_map(f, v) for k, v in t.items()}
    return f(t)


def _same_tree(a, b):
    """== that also tells tuples from lists, dict key order aside, leaves by type and value."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_tree(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_tree(a[k], b[k]) for k in a)
    return a == b


@_settings(300)
@given(tree=pytrees)
def test_tree_util_matches_reference_walkers(tree):
    leaves, treedef = tu.tree_flatten(tree)
    expected = _ref_leaves(tree)
    assert len(leaves) == len(expected) == treedef.num_leaves
    assert all(type(x) is type(y) and x == y for x, y in zip(leaves, expected)), (leaves, expected)
    assert _same_tree(tu.tree_unflatten(treedef, leaves), tree)
    f = lambda x: ('leaf', x)
    assert _same_tree(tu.tree_map(f, tree), _ref_map(f, tree))
    # Unflattening fresh leaves puts them where the reference flattener found the old ones.
    numbered = tu.tree_unflatten(treedef, list(range(len(leaves))))
    assert _ref_leaves(numbered) == list(range(len(leaves)))


# ---------------------------------------------------------------------------------------------
# 4. derivatives of random compositions against central finite differences

# name: (fxad version, NumPy twin used for finite differences)
SMOOTH_UNARY = {
    'sin': (fnp.sin, np.sin),
    'cos': (fnp.cos, np.cos),
    'tanh': (fnp.tanh, np.tanh),
    'exp': (lambda v: fnp.exp(0.5 * v), lambda v: np.exp(0.5 * v)),
    'log1p_sq': (lambda v: fnp.log1p(v * v), lambda v: np.log1p(v * v)),
    'sqrt_1p_sq': (lambda v: fnp.sqrt(1.0 + v * v), lambda v: np.sqrt(1.0 + v * v)),
    'logistic': (fxad.nn.sigmoid, lambda v: 1.0 / (1.0 + np.exp(-v))),
    'cube': (lambda v: v ** 3, lambda v: v ** 3),
}
SMOOTH_BINARY = {
    'add': (operator.add, operator.add),
    'sub': (operator.sub, operator.sub),
    'mul': (operator.mul, operator.mul),
    'div': (lambda a, b: a / (2.0 + fnp.cos(b)), lambda a, b: a / (2.0 + np.cos(b))),
}


@st.composite
def smooth_programs(draw):
    """1-4 unary functions applied to x, each optionally followed by a binary op with y."""
    steps = []
    for name in draw(st.lists(st.sampled_from(sorted(SMOOTH_UNARY)), min_size=1, max_size=4)):
        steps.append(('unary', name))
        binary = draw(st.none() | st.sampled_from(sorted(SMOOTH_BINARY)))
        if binary is not None:
            steps.append(('binary', binary, draw(st.booleans())))
    return tuple(steps)


def _run_smooth(program, which, x, y):
    """which = 0 runs the fxad version, 1 the NumPy twin; returns every intermediate value."""
    v, trace = x, []
    for step in program:
        if step[0] == 'unary':
            v = SMOOTH_UNARY[step[1]][which](v)
        else:
            f = SMOOTH_BINARY[step[1]][which]
            v = f(y, v) if step[2] else f(v, y)
        trace.append(v)
    return v, trace


def _fd_gradient(g, args, eps=1e-6):
    """Central differences of a scalar NumPy function, one coordinate at a time."""
    grads = []
    for i, a in enumerate(args):
        gi = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            e = np.zeros_like(a)
            e[idx] = eps
            plus = [b + e if j == i else b for j, b in enumerate(args)]
            minus = [b - e if j == i else b for j, b in enumerate(args)]
            gi[idx] = (g(*plus) - g(*minus)) / (2 * eps)
        grads.append(gi)
    return grads


def _fd_directional(f, args, tangents, eps=1e-6):
    plus = f(*[a + eps * t for a, t in zip(args, tangents)])
    minus = f(*[a - eps * t for a, t in zip(args, tangents)])
    return (plus - minus) / (2 * eps)


@_settings(200)
@given(program=smooth_programs(), shape=st.sampled_from([(), (3,), (2, 3)]), seed=seeds,
       use_jit=st.booleans())
def test_derivatives_of_compositions_match_finite_differences(program, shape, seed, use_jit):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1.2, 1.2, shape), rng.uniform(-1.2, 1.2, shape)
    w = rng.standard_normal(shape)
    f_np = lambda x, y: _run_smooth(program, 1, x, y)[0]
    # Keep intermediates moderate (x^3 and exp chains can grow) so differences stay accurate.
    assume(max(np.max(np.abs(v)) for v in _run_smooth(program, 1, x, y)[1]) <= 30)
    f = lambda x, y: _run_smooth(program, 0, x, y)[0]
    f = fxad.jit(f) if use_jit else f

    # grad of a weighted sum
    gx, gy = fxad.grad(lambda x, y: fnp.sum(f(x, y) * w), argnums=(0, 1))(x, y)
    ex, ey = _fd_gradient(lambda x, y: np.sum(f_np(x, y) * w), [x, y])
    scale = 1 + max(np.max(np.abs(ex)), np.max(np.abs(ey)))
    np.testing.assert_allclose(gx, ex, rtol=1e-5, atol=1e-6 * scale, err_msg=f"grad x of {program}")
    np.testing.assert_allclose(gy, ey, rtol=1e-5, atol=1e-6 * scale, err_msg=f"grad y of {program}")

    # jvp: primal against the NumPy twin, tangent against a directional difference
    tx, ty = rng.standard_normal(shape), rng.standard_normal(shape)
    out, t_out = fxad.jvp(f, (x, y), (tx, ty))
    np.testing.assert_allclose(out, f_np(x, y), rtol=1e-12, atol=1e-12)
    expected_t = _fd_directional(f_np, [x, y], [tx, ty])
    np.testing.assert_allclose(t_out, expected_t, rtol=1e-5, atol=1e-6 * (1 + np.max(np.abs(expected_t))),
                               err_msg=f"jvp of {program}")

    # vjp against jvp: <vjp(ct), t> = <ct, jvp(t)>
    out2, vjp_fn = fxad.vjp(f, x, y)
    ct = rng.standard_normal(np.shape(out2))
    lhs = inner(vjp_fn(ct), (tx, ty))
    rhs = inner(ct, t_out)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs), abs(rhs)), (program, lhs, rhs)


# ---------------------------------------------------------------------------------------------
# 5. vmap against a Python loop over the batch

VMAP_UNARY = {'sin': fnp.sin, 'tanh': fnp.tanh, 'abs': fnp.abs, 'negative': fnp.negative,
              'exp': lambda v: fnp.exp(0.1 * v)}
VMAP_BINARY = {'add': fnp.add, 'mul': fnp.multiply, 'max': fnp.maximum}
VMAP_REDUCE = {'sum': fnp.sum, 'max': fnp.max, 'mean': fnp.mean}


@st.composite
def vmap_programs(draw, example_shape):
    """Up to four steps applied to v = a * b; each step keeps track of v's per-example shape."""
    shape, steps = example_shape, []
    for _ in range(draw(st.integers(1, 4))):
        choices = ['unary', 'with_b_scalar', 'reshape']
        if shape == example_shape:
            choices.append('with_b')
        if len(shape) >= 1:
            choices.append('reduce')
        if len(shape) >= 2:
            choices.append('transpose')
        kind = draw(st.sampled_from(choices))
        if kind == 'unary':
            steps.append((kind, draw(st.sampled_from(sorted(VMAP_UNARY)))))
        elif kind in ('with_b', 'with_b_scalar'):
            steps.append((kind, draw(st.sampled_from(sorted(VMAP_BINARY))), draw(st.booleans())))
        elif kind == 'reduce':
            axis = draw(st.integers(-len(shape), len(shape) - 1))
            keepdims = draw(st.booleans())
            steps.append((kind, draw(st.sampled_from(sorted(VMAP_REDUCE))), axis, keepdims))
            shape = tuple(1 if i == axis % len(shape) else n for i, n in enumerate(shape)) if keepdims \
                else tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
        elif kind == 'reshape':
            size = int(np.prod(shape))
            new = draw(st.sampled_from([(size,), tuple(reversed(shape)), shape + (1,), (1,) + shape, (-1,)]))
            steps.append((kind, new))
            shape = (size,) if new == (-1,) else new
        else:
            perm = tuple(draw(st.permutations(range(len(shape)))))
            steps.append((kind, perm))
            shape = tuple(shape[p] for p in perm)
    return tuple(steps)


def _run_vmap_program(program, a, b):
    v = a * b
    for step in program:
        kind = step[0]
        if kind == 'unary':
            v = VMAP_UNARY[step[1]](v)
        elif kind in ('with_b', 'with_b_scalar'):
            other = b if kind == 'with_b' else fnp.mean(b)
            f = VMAP_BINARY[step[1]]
            v = f(other, v) if step[2] else f(v, other)
        elif kind == 'reduce':
            v = VMAP_REDUCE[step[1]](v, axis=step[2], keepdims=step[3])
        elif kind == 'reshape':
            v = fnp.reshape(v, step[1])
        else:
            v = fnp.transpose(v, step[1])
    return v


@st.composite
def vmap_cases(draw):
    example_shape = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    program = draw(vmap_programs(example_shape))
    in_axes = draw(st.tuples(*[st.sampled_from([0, 1, -1, None])] * 2).filter(lambda t: t != (None, None)))
    return example_shape, program, in_axes


@_settings(300)
@given(case=vmap_cases(), batch=st.integers(1, 3), out_axes=st.sampled_from([0, -1]), seed=seeds,
       use_jit=st.booleans())
def test_vmap_matches_python_loop(case, batch, out_axes, seed, use_jit):
    example_shape, program, in_axes = case
    rng = np.random.default_rng(seed)
    args = []
    for ax in in_axes:
        if ax is None:
            args.append(rng.standard_normal(example_shape))
        else:  # put the batch axis where in_axes says (axis -1 is the last of the batched array)
            args.append(np.moveaxis(rng.standard_normal((batch,) + example_shape), 0, ax))
    f = functools.partial(_run_vmap_program, program)
    f = fxad.jit(f) if use_jit else f
    check_vmap_vs_loop(f, args, in_axes=in_axes, out_axes=out_axes, atol=1e-14, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# 6. einsum against numpy.einsum

@st.composite
def einsum_cases(draw):
    alphabet = 'abcde'
    sizes = {c: draw(st.integers(1, 3)) for c in alphabet}
    terms = draw(st.lists(st.text(alphabet, max_size=3), min_size=2, max_size=3))
    used = sorted(set(''.join(terms)))
    if draw(st.booleans()):   # implicit output: the labels used exactly once, sorted
        subscripts = ','.join(terms)
    else:
        out = draw(st.lists(st.sampled_from(used), unique=True)) if used else []
        subscripts = ','.join(terms) + '->' + ''.join(out)
    # Now and then a label has size 1 in one operand: einsum broadcasts it like NumPy does.
    shapes = []
    for t in terms:
        ones = draw(st.sets(st.sampled_from(alphabet), max_size=1)) if draw(st.integers(0, 3)) == 0 else set()
        shapes.append(tuple(1 if c in ones else sizes[c] for c in t))
    return subscripts, shapes


@_settings(300)
@given(case=einsum_cases(), seed=seeds, optimize=st.sampled_from([False, True, 'greedy', 'optimal']),
       use_jit=st.booleans())
@example(case=('aa,a->a', [(2, 2), (2,)]), seed=0, optimize='auto', use_jit=False)
@example(case=('abb,bc,caa->', [(3, 2, 2), (2, 1), (1, 3, 3)]), seed=1, optimize=True, use_jit=True)
def test_einsum_matches_numpy(case, seed, optimize, use_jit):
    subscripts, shapes = case
    rng = np.random.default_rng(seed)
    operands = [rng.standard_normal(s) for s in shapes]
    f = lambda *ops: fnp.einsum(subscripts, *ops, optimize=optimize)
    try:
        expected = np.einsum(subscripts, *operands)
    except ValueError:  # skipped: NumPy rejects these shapes; fxad must reject them too
        with pytest.raises(ValueError):
            f(*operands)
        return
    out = (fxad.jit(f) if use_jit else f)(*operands)
    assert np.shape(out) == expected.shape, (subscripts, shapes)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12, err_msg=f"{subscripts} on {shapes}")


# ---------------------------------------------------------------------------------------------
# 7. basic indexing: getitem on tracers and fnp.at updates against NumPy

@st.composite
def wide_basic_indices(draw, shape):
    """Basic indices whose slice bounds may lie far outside the axis (NumPy clips them)."""
    bound = st.none() | st.integers(-8, 8)
    wide_slices = st.builds(slice, bound, bound, st.none() | st.integers(-3, 3).filter(bool))
    k = draw(st.integers(0, len(shape)))
    from_back = draw(st.booleans())   # index the last k axes after an Ellipsis, else the first k
    axes = range(len(shape) - k, len(shape)) if from_back else range(k)
    index = [Ellipsis] if from_back else []
    for axis in axes:
        if draw(st.integers(0, 4)) == 0:
            index.append(None)
        n = shape[axis]
        index.append(draw(st.integers(-n, n - 1)) if n and draw(st.booleans()) else draw(wide_slices))
    if not from_back and draw(st.booleans()):
        index.append(Ellipsis)
    return tuple(index)


@st.composite
def basic_index_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True) | wide_basic_indices(shape))
    return shape, index


@_settings(300)
@given(case=basic_index_cases(), seed=seeds)
def test_getitem_on_tracer_matches_numpy(case, seed):
    shape, idx = case
    x = np.random.default_rng(seed).standard_normal(shape)
    _assert_values_equal(fxad.jit(lambda x: x[idx])(x), x[idx], f"x[{idx!r}] for shape {shape}")


def _numpy_add_at(x, idx, v):
    y = x.copy()
    np.add.at(y, idx, v)
    return y


@_settings(300)
@given(case=basic_index_cases(), seed=seeds, scalar_value=st.booleans(), use_jit=st.booleans())
def test_at_set_and_add_match_numpy(case, seed, scalar_value, use_jit):
    shape, idx = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    v = 1.5 if scalar_value else rng.standard_normal(np.shape(x[idx]))
    expected_set = x.copy()
    expected_set[idx] = v
    set_fn = lambda x, v: fnp.at(x)[idx].set(v)
    add_fn = lambda x, v: fnp.at(x)[idx].add(v)
    if use_jit:
        set_fn, add_fn = fxad.jit(set_fn), fxad.jit(add_fn)
    _assert_values_equal(set_fn(x, v), expected_set, f"at[{idx!r}].set for shape {shape}")
    _assert_values_equal(add_fn(x, v), _numpy_add_at(x, idx, v), f"at[{idx!r}].add for shape {shape}")
