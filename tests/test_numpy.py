"""fxad.numpy against NumPy: one row per function, checked eagerly, under jit, by derivatives
against central finite differences (forward and reverse mode) and under vmap against a loop."""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad.core import Tracer
from fxad.errors import ConcretizationTypeError
from fxad.tree_util import tree_flatten

from helpers import check_jvp_fd, check_vjp_fd, check_vmap_vs_loop, rand


class A:
    """A random argument: shape, domain (see helpers.DOMAINS) and dtype."""

    def __init__(self, shape, domain='real', dtype=None):
        self.shape, self.domain, self.dtype = shape, domain, dtype

    def draw(self, rng):
        return rand(rng, self.shape, self.domain, self.dtype)


class Case:
    """f(m, *args) is run with m = fxad.numpy and m = numpy on the same random args."""

    def __init__(self, name, f, args, grad=True, vmap=False, rtol=1e-10, atol=1e-12):
        self.name, self.f, self.args = name, f, args
        self.grad, self.vmap, self.rtol, self.atol = grad, vmap, rtol, atol

    def draw(self, seed=0):
        rng = np.random.default_rng(seed)
        return [a.draw(rng) if isinstance(a, A) else a for a in self.args]


M = (3, 4)
V = (4,)
T3 = (2, 3, 4)
SQ = (4, 4)

UNARY = [
    ('sin', 'real'), ('cos', 'real'), ('tan', 'tan'), ('arcsin', 'unit'), ('arccos', 'unit'),
    ('arctan', 'real'), ('sinh', 'real'), ('cosh', 'real'), ('tanh', 'real'), ('arcsinh', 'real'),
    ('arccosh', 'gt1'), ('arctanh', 'unit'), ('exp', 'real'), ('exp2', 'real'), ('log', 'positive'),
    ('log2', 'positive'), ('log10', 'positive'), ('log1p', 'gt_m1'), ('expm1', 'real'),
    ('sqrt', 'positive'), ('cbrt', 'nonzero'), ('abs', 'nonzero'), ('absolute', 'nonzero'),
    ('fabs', 'nonzero'), ('negative', 'real'), ('positive', 'real'), ('square', 'real'),
    ('reciprocal', 'nonzero'), ('deg2rad', 'real'), ('rad2deg', 'real'), ('sinc', 'real'),
    ('real', 'real'), ('imag', 'real'), ('conj', 'real'), ('conjugate', 'real'),
]
UNARY_NONDIFF = [
    ('sign', 'nonzero'), ('floor', 'away_from_int'), ('ceil', 'away_from_int'), ('rint', 'away_from_half'),
    ('trunc', 'away_from_int'), ('fix', 'away_from_int'), ('isnan', 'with_nonfinite'),
    ('isinf', 'with_nonfinite'), ('isfinite', 'with_nonfinite'), ('signbit', 'real'),
    ('logical_not', 'small_int_float'),
]
BINARY = [
    ('add', 'real', 'real'), ('subtract', 'real', 'real'), ('multiply', 'real', 'real'),
    ('divide', 'real', 'nonzero'), ('true_divide', 'real', 'nonzero'), ('power', 'positive', 'real'),
    ('float_power', 'positive', 'real'), ('maximum', 'real', 'real'), ('minimum', 'real', 'real'),
    ('arctan2', 'nonzero', 'nonzero'), ('hypot', 'nonzero', 'nonzero'), ('logaddexp', 'real', 'real'),
    ('logaddexp2', 'real', 'real'), ('copysign', 'real', 'nonzero'),
]
BINARY_NONDIFF = [
    ('equal', 'small_int_float', 'small_int_float'), ('not_equal', 'small_int_float', 'small_int_float'),
    ('less', 'real', 'real'), ('less_equal', 'small_int_float', 'small_int_float'),
    ('greater', 'real', 'real'), ('greater_equal', 'small_int_float', 'small_int_float'),
    ('floor_divide', 'real', 'nonzero'), ('remainder', 'real', 'nonzero'), ('mod', 'real', 'nonzero'),
    ('fmod', 'real', 'nonzero'), ('heaviside', 'small_int_float', 'real'),
    ('logical_and', 'small_int_float', 'small_int_float'), ('logical_or', 'small_int_float', 'small_int_float'),
    ('logical_xor', 'small_int_float', 'small_int_float'), ('isclose', 'small_int_float', 'small_int_float'),
]


def _ufunc(name):
    return lambda m, *xs: getattr(m, name)(*xs)


CASES = (
    [Case(n, _ufunc(n), [A(M, d)], vmap=n in ('sin', 'log', 'abs')) for n, d in UNARY]
    + [Case(n, _ufunc(n), [A(M, d)], grad=False) for n, d in UNARY_NONDIFF]
    + [Case(n, _ufunc(n), [A(M, d1), A(V, d2)], vmap=n in ('add', 'maximum', 'logaddexp')) for n, d1, d2 in BINARY]
    + [Case(n, _ufunc(n), [A(M, d1), A(V, d2)], grad=False) for n, d1, d2 in BINARY_NONDIFF]
    + [
        Case('round_decimals', lambda m, x: m.round(x, 2), [A(M, 'real')], grad=False),
        Case('power_int_exponent', lambda m, x: m.power(x, 3), [A(M)]),
        Case('power_negative_int', lambda m, x: m.power(x, -2), [A(M, 'nonzero')]),
        Case('power_int_arrays', lambda m, x, y: m.power(x, y), [A(M, 'int'), A(M, 'positive', np.int64)], grad=False),
        Case('floor_divide_int', lambda m, x, y: m.floor_divide(x, y), [A(M, 'int'), np.array([3, -2, 5, -7])],
             grad=False),
        Case('remainder_int', lambda m, x, y: m.remainder(x, y), [A(M, 'int'), np.array([3, -2, 5, -7])], grad=False),
        Case('add_scalar', lambda m, x: m.add(x, 2.5), [A(M)]),
        Case('rsub_scalar', lambda m, x: m.subtract(1, x), [A(M)]),
        Case('fmax', lambda m, x, y: m.fmax(x, y), [A(M), A(V)]),
        Case('fmax_nan', lambda m, x, y: m.fmax(x, y), [A(M, 'with_nan'), A(V)], vmap=True),
        Case('fmin_nan', lambda m, x, y: m.fmin(x, y), [A(V), A(M, 'with_nan')], vmap=True),
        Case('fmin_int', lambda m, x, y: m.fmin(x, y), [A(M, 'int'), A(V, 'int')], grad=False),
        Case('rint_int', lambda m, x: m.rint(x), [A(M, 'int')], grad=False),
        Case('heaviside_int', lambda m, x, y: m.heaviside(x, y), [A(M, 'int'), A(V, 'int')], grad=False),
        Case('heaviside_int_scalar', lambda m, x: m.heaviside(x, 1), [A(M, 'int')], grad=False),
        Case('left_shift', lambda m, x, y: m.left_shift(x, y), [A(M, 'int'), A(V, 'shift')], grad=False, vmap=True),
        Case('left_shift_int32', lambda m, x, y: m.left_shift(x, y), [A(M, 'int', np.int32), np.array([0, 5, 31, 32])],
             grad=False),
        Case('right_shift', lambda m, x, y: m.right_shift(x, y), [A(M, 'int'), A(V, 'shift')], grad=False, vmap=True),
        Case('right_shift_uint8', lambda m, x, y: m.right_shift(x, y),
             [A(M, 'shift', np.uint8), np.array([0, 3, 7, 9])], grad=False),
        # Reductions
        Case('sum', lambda m, x: m.sum(x), [A(T3)], vmap=True),
        Case('sum_axis', lambda m, x: m.sum(x, axis=1), [A(T3)]),
        Case('sum_axes_keepdims', lambda m, x: m.sum(x, axis=(0, 2), keepdims=True), [A(T3)], vmap=True),
        Case('sum_negative_axis', lambda m, x: m.sum(x, -1), [A(T3)]),
        Case('sum_initial', lambda m, x: m.sum(x, 0, initial=1.5), [A(M)]),
        Case('sum_int', lambda m, x: m.sum(x, 0), [A(M, 'int', np.int32)], grad=False),
        Case('sum_bool', lambda m, x: m.sum(x), [A(M, 'bool')], grad=False),
        Case('sum_dtype', lambda m, x: m.sum(x, 1, dtype=np.float32), [A(M)], grad=False),
        Case('mean', lambda m, x: m.mean(x), [A(T3)]),
        Case('mean_axis', lambda m, x: m.mean(x, axis=(1, 2), keepdims=True), [A(T3)], vmap=True),
        Case('mean_int', lambda m, x: m.mean(x, 0), [A(M, 'int')], grad=False),
        Case('var', lambda m, x: m.var(x), [A(T3)]),
        Case('var_axis_ddof', lambda m, x: m.var(x, axis=1, ddof=1), [A(T3)], vmap=True),
        Case('var_keepdims', lambda m, x: m.var(x, (0, 2), keepdims=True), [A(T3)]),
        Case('std', lambda m, x: m.std(x, 0), [A(M)], vmap=True),
        Case('std_ddof', lambda m, x: m.std(x, ddof=1), [A(M)]),
        Case('prod', lambda m, x: m.prod(x, 1), [A(M, 'nonzero')], vmap=True),
        Case('prod_all', lambda m, x: m.prod(x), [A(M, 'nonzero')]),
        Case('max', lambda m, x: m.max(x), [A(T3)]),
        Case('max_axis', lambda m, x: m.max(x, axis=1), [A(T3)], vmap=True),
        Case('max_keepdims', lambda m, x: m.max(x, axis=(0, 2), keepdims=True), [A(T3)]),
        Case('max_initial', lambda m, x: m.max(x, 0, initial=0.5), [A(M)]),
        Case('min', lambda m, x: m.min(x, axis=0), [A(T3)], vmap=True),
        Case('amax', lambda m, x: m.amax(x, -1), [A(M)]),
        Case('amin', lambda m, x: m.amin(x), [A(M)]),
        Case('ptp', lambda m, x: m.ptp(x, 1), [A(M)]),
        Case('argmax', lambda m, x: m.argmax(x), [A(T3)], grad=False),
        Case('argmax_axis', lambda m, x: m.argmax(x, axis=1), [A(T3)], grad=False, vmap=True),
        Case('argmax_keepdims', lambda m, x: m.argmax(x, axis=-1, keepdims=True), [A(T3)], grad=False),
        Case('argmax_none_keepdims', lambda m, x: m.argmax(x, keepdims=True), [A(M)], grad=False),
        Case('argmin', lambda m, x: m.argmin(x, 0), [A(M)], grad=False),
        Case('argmin_flat', lambda m, x: m.argmin(x), [A(M)], grad=False),
        Case('cumsum', lambda m, x: m.cumsum(x), [A(M)]),
        Case('cumsum_axis', lambda m, x: m.cumsum(x, axis=1), [A(T3)], vmap=True),
        Case('cumsum_bool', lambda m, x: m.cumsum(x, 0), [A(M, 'bool')], grad=False),
        Case('cumprod', lambda m, x: m.cumprod(x, 0), [A(M, 'nonzero')], vmap=True),
        Case('cumprod_flat', lambda m, x: m.cumprod(x), [A(M, 'nonzero')]),
        Case('all', lambda m, x: m.all(x), [A(M, 'bool')], grad=False),
        Case('all_axis', lambda m, x: m.all(x, axis=0, keepdims=True), [A(M, 'small_int_float')], grad=False),
        Case('any', lambda m, x: m.any(x, 1), [A(M, 'bool')], grad=False, vmap=True),
        Case('any_float', lambda m, x: m.any(x), [A(M, 'small_int_float')], grad=False),
        Case('count_nonzero', lambda m, x: m.count_nonzero(x, axis=0), [A(M, 'small_int_float')], grad=False),
        Case('average', lambda m, x: m.average(x, 1), [A(M)]),
        Case('average_weights', lambda m, x, w: m.average(x, 1, weights=w), [A(M), A(V, 'positive')]),
        Case('average_returned', lambda m, x, w: m.average(x, 0, weights=w, returned=True),
             [A(M), A(M, 'positive')]),
        Case('allclose', lambda m, x: m.allclose(x, x + 1e-9), [A(M)], grad=False),
        Case('argmax_empty_rows', lambda m, x: m.argmax(x, axis=1), [np.zeros((0, 3))], grad=False),
        Case('argmin_empty_rows_keepdims', lambda m, x: m.argmin(x, -1, keepdims=True), [np.zeros((2, 0, 3))],
             grad=False),
        Case('nansum', lambda m, x: m.nansum(x), [A(M, 'with_nan')], vmap=True),
        Case('nansum_axis', lambda m, x: m.nansum(x, axis=1, keepdims=True), [A(T3, 'with_nan')]),
        Case('nansum_int', lambda m, x: m.nansum(x, 0), [A(M, 'int')], grad=False),
        Case('nanmean', lambda m, x: m.nanmean(x), [A(M, 'with_nan')]),
        Case('nanmean_axis', lambda m, x: m.nanmean(x, axis=1), [A(T3, 'with_nan')], vmap=True),
        Case('nanmean_int', lambda m, x: m.nanmean(x, 0), [A(M, 'int')], grad=False),
        Case('median', lambda m, x: m.median(x), [A(M)], vmap=True),
        Case('median_odd_axis', lambda m, x: m.median(x, axis=0), [A(M)], vmap=True),
        Case('median_even_axis', lambda m, x: m.median(x, axis=-1), [A(T3)]),
        Case('median_axes_keepdims', lambda m, x: m.median(x, axis=(0, 2), keepdims=True), [A(T3)], vmap=True),
        Case('median_nan', lambda m, x: m.median(x, axis=1), [A(T3, 'with_nan')], grad=False),
        Case('median_int', lambda m, x: m.median(x, 1), [A(M, 'int')], grad=False),
        # Shapes
        Case('reshape', lambda m, x: m.reshape(x, (4, -1)), [A(M)], vmap=True),
        Case('reshape_int', lambda m, x: m.reshape(x, 12), [A(M)]),
        Case('reshape_F', lambda m, x: m.reshape(x, (2, 6), order='F'), [A(M)]),
        Case('ravel', lambda m, x: m.ravel(x), [A(T3)], vmap=True),
        Case('transpose', lambda m, x: m.transpose(x), [A(T3)]),
        Case('transpose_axes', lambda m, x: m.transpose(x, (1, 0, 2)), [A(T3)], vmap=True),
        Case('transpose_negative', lambda m, x: m.transpose(x, (-1, 0, 1)), [A(T3)]),
        Case('swapaxes', lambda m, x: m.swapaxes(x, 0, 2), [A(T3)], vmap=True),
        Case('moveaxis', lambda m, x: m.moveaxis(x, 0, -1), [A(T3)]),
        Case('moveaxis_many', lambda m, x: m.moveaxis(x, (0, 1), (2, 0)), [A(T3)]),
        Case('squeeze', lambda m, x: m.squeeze(x), [A((1, 3, 1, 2))]),
        Case('squeeze_axis', lambda m, x: m.squeeze(x, axis=2), [A((1, 3, 1, 2))], vmap=True),
        Case('expand_dims', lambda m, x: m.expand_dims(x, 1), [A(M)], vmap=True),
        Case('expand_dims_tuple', lambda m, x: m.expand_dims(x, (0, -1)), [A(M)]),
        Case('broadcast_to', lambda m, x: m.broadcast_to(x, (2, 3, 4)), [A(V)], vmap=True),
        Case('broadcast_arrays', lambda m, x, y: m.broadcast_arrays(x, y), [A((3, 1)), A(V)]),
        Case('concatenate', lambda m, x, y: m.concatenate([x, y]), [A(M), A((2, 4))], vmap=True),
        Case('concatenate_axis1', lambda m, x, y: m.concatenate((x, y, x), axis=1), [A(M), A((3, 2))]),
        Case('concatenate_none', lambda m, x, y: m.concatenate([x, y], axis=None), [A(M), A(V)]),
        Case('concatenate_array', lambda m, x: m.concatenate(x, axis=1), [A(T3)]),
        Case('stack', lambda m, x, y: m.stack([x, y]), [A(M), A(M)], vmap=True),
        Case('stack_axis', lambda m, x, y: m.stack((x, y), axis=-1), [A(M), A(M)]),
        Case('hstack', lambda m, x, y: m.hstack([x, y]), [A(M), A((3, 2))]),
        Case('hstack_1d', lambda m, x, y: m.hstack([x, y]), [A(V), A((2,))]),
        Case('vstack', lambda m, x, y: m.vstack([x, y]), [A(V), A(V)]),
        Case('split', lambda m, x: m.split(x, 2, axis=1), [A(M)], vmap=True),
        Case('split_indices', lambda m, x: m.split(x, [1, -1]), [A((5, 2))]),
        Case('array_split', lambda m, x: m.array_split(x, 3), [A((7, 2))]),
        Case('where', lambda m, c, x, y: m.where(c, x, y), [A(M, 'bool'), A(M), A(V)], vmap=True),
        Case('where_scalar', lambda m, c, x: m.where(c, x, 0.0), [A(M, 'bool'), A(M)]),
        Case('where_nonbool', lambda m, c, x, y: m.where(c, x, y), [A(M, 'small_int_float'), A(M), A(M)], grad=False),
        Case('clip', lambda m, x: m.clip(x, -0.9, 0.9), [A(M, 'clamp_x')], vmap=True),
        Case('clip_kwargs', lambda m, x: m.clip(x, min=-0.9), [A(M, 'clamp_x')]),
        Case('clip_upper', lambda m, x: m.clip(x, None, 0.9), [A(M, 'clamp_x')]),
        Case('clip_arrays', lambda m, x, lo, hi: m.clip(x, lo, hi),
             [A(M, 'clamp_x'), A(V, 'clamp_lo'), A(V, 'clamp_hi')]),
        Case('sort', lambda m, x: m.sort(x), [A(M)], vmap=True),
        Case('sort_axis0', lambda m, x: m.sort(x, axis=0), [A(T3)]),
        Case('sort_none', lambda m, x: m.sort(x, axis=None), [A(M)]),
        Case('sort_int', lambda m, x: m.sort(x), [A(M, 'int')], grad=False),
        Case('argsort', lambda m, x: m.argsort(x), [A(M)], grad=False, vmap=True),
        Case('argsort_stable', lambda m, x: m.argsort(x, axis=0, kind='stable'), [A((6, 3), 'small_int_float')],
             grad=False),
        Case('argsort_none', lambda m, x: m.argsort(x, axis=None), [A(M)], grad=False),
        Case('flip', lambda m, x: m.flip(x), [A(T3)]),
        Case('flip_axis', lambda m, x: m.flip(x, 1), [A(T3)], vmap=True),
        Case('flip_axes', lambda m, x: m.flip(x, (0, 2)), [A(T3)]),
        Case('fliplr', lambda m, x: m.fliplr(x), [A(M)]),
        Case('flipud', lambda m, x: m.flipud(x), [A(M)]),
        Case('roll', lambda m, x: m.roll(x, 5), [A(M)]),
        Case('roll_axis', lambda m, x: m.roll(x, -1, axis=1), [A(M)], vmap=True),
        Case('roll_axes', lambda m, x: m.roll(x, (1, 2), axis=(0, 1)), [A(M)]),
        Case('tile', lambda m, x: m.tile(x, (2, 1, 3)), [A(M)], vmap=True),
        Case('tile_int', lambda m, x: m.tile(x, 2), [A(V)]),
        Case('repeat', lambda m, x: m.repeat(x, 2, axis=1), [A(M)], vmap=True),
        Case('repeat_flat', lambda m, x: m.repeat(x, 3), [A(M)]),
        Case('pad', lambda m, x: m.pad(x, 1), [A(M)], vmap=True),
        Case('pad_pairs', lambda m, x: m.pad(x, ((1, 2), (0, 3)), constant_values=2.5), [A(M)]),
        Case('pad_pair', lambda m, x: m.pad(x, (2, 1)), [A(V)]),
        Case('pad_values', lambda m, x: m.pad(x, 1, constant_values=((1, 2), (3, 4))), [A(M)]),
        Case('pad_edge', lambda m, x: m.pad(x, ((2, 1), (0, 3)), 'edge'), [A(M)], vmap=True),
        Case('pad_reflect', lambda m, x: m.pad(x, ((2, 5), (1, 0)), 'reflect'), [A(M)], vmap=True),
        Case('pad_reflect_wide', lambda m, x: m.pad(x, 9, mode='reflect'), [A(V)]),
        Case('pad_symmetric', lambda m, x: m.pad(x, ((4, 1), (2, 9)), 'symmetric'), [A(M)], vmap=True),
        Case('pad_wrap', lambda m, x: m.pad(x, ((3, 7), (5, 1)), 'wrap'), [A(M)], vmap=True),
        Case('pad_wrap_3d', lambda m, x: m.pad(x, 2, 'wrap'), [A(T3)]),
        Case('tril', lambda m, x: m.tril(x), [A(SQ)], vmap=True),
        Case('tril_k', lambda m, x: m.tril(x, -1), [A(T3)]),
        Case('triu', lambda m, x: m.triu(x, 1), [A(M)], vmap=True),
        Case('triu_1d', lambda m, x: m.triu(x), [A(V)]),
        Case('diag', lambda m, x: m.diag(x), [A(V)], vmap=True),
        Case('diag_k', lambda m, x: m.diag(x, 2), [A(V)]),
        Case('diag_negative_k', lambda m, x: m.diag(x, -1), [A(V)]),
        Case('diag_2d', lambda m, x: m.diag(x, 1), [A(M)]),
        Case('atleast_1d', lambda m, x: m.atleast_1d(x), [A(())]),
        Case('atleast_2d', lambda m, x, y: m.atleast_2d(x, y), [A(V), A(M)]),
        Case('atleast_3d', lambda m, x, y, z: m.atleast_3d(x, y, z), [A(()), A(V), A(M)]),
        Case('astype', lambda m, x: m.astype(x, np.float32), [A(M)], grad=False),
        Case('astype_int', lambda m, x: m.astype(x, np.int32), [A(M)], grad=False),
        Case('copy', lambda m, x: m.copy(x), [A(M)]),
        # linalg.norm
        Case('norm', lambda m, x: m.linalg.norm(x), [A(T3)], vmap=True),
        Case('norm_vector_axis', lambda m, x: m.linalg.norm(x, axis=1), [A(M)]),
        Case('norm_keepdims', lambda m, x: m.linalg.norm(x, axis=0, keepdims=True), [A(M)]),
        Case('norm_1', lambda m, x: m.linalg.norm(x, 1), [A(V, 'nonzero')]),
        Case('norm_inf', lambda m, x: m.linalg.norm(x, np.inf), [A(V)]),
        Case('norm_neg_inf', lambda m, x: m.linalg.norm(x, -np.inf), [A(V)]),
        Case('norm_3', lambda m, x: m.linalg.norm(x, 3), [A(V, 'nonzero')]),
        Case('norm_0', lambda m, x: m.linalg.norm(x, 0), [A(V, 'small_int_float')], grad=False),
        Case('norm_fro', lambda m, x: m.linalg.norm(x, 'fro'), [A(M)]),
        Case('norm_fro_axes', lambda m, x: m.linalg.norm(x, 'fro', axis=(2, 0), keepdims=True), [A(T3)]),
        Case('norm_matrix_1', lambda m, x: m.linalg.norm(x, 1), [A(M)]),
        Case('norm_matrix_inf', lambda m, x: m.linalg.norm(x, np.inf, axis=(1, 2)), [A(T3)]),
        Case('norm_matrix_neg1', lambda m, x: m.linalg.norm(x, -1, axis=(0, 2)), [A(T3)]),
        Case('norm_spectral', lambda m, x: m.linalg.norm(x, 2), [A(M)], rtol=1e-8),
        Case('norm_nuclear', lambda m, x: m.linalg.norm(x, 'nuc', axis=(0, 1)), [A(T3)], rtol=1e-8),
    ]
)
IDS = [c.name for c in CASES]
GRAD_CASES = [c for c in CASES if c.grad]
VMAP_CASES = [c for c in CASES if c.vmap]


def _leaves(x):
    return tree_flatten(x)[0] if isinstance(x, (list, tuple)) else [x]


def assert_matches_numpy(actual, expected, rtol=1e-10, atol=1e-12, what=''):
    """Same structure, NumPy types (never a Python scalar or a tracer), shapes, dtypes and values."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), f"{what}: {actual!r}"
        for a, e in zip(actual, expected):
            assert_matches_numpy(a, e, rtol, atol, what)
        return
    assert isinstance(actual, (np.ndarray, np.generic)), f"{what}: got {type(actual).__name__}"
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs NumPy's {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} vs NumPy's {expected.dtype}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_eager_matches_numpy(case):
    args = case.draw()
    assert_matches_numpy(case.f(fnp, *args), case.f(np, *args), case.rtol, case.atol, case.name)


@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_jit_matches_numpy(case):
    args = case.draw()
    seen = []

    def traced(*xs):
        out = case.f(fnp, *xs)
        seen.extend(isinstance(o, Tracer) for o in _leaves(out))
        return out
    out = fxad.jit(traced)(*args)
    assert all(seen), f"{case.name}: some outputs were not traced values under jit"
    assert_matches_numpy(out, case.f(np, *args), case.rtol, case.atol, case.name)


def _float_args_fn(case, args):
    """f of the float arguments only (the others fixed), and those float arguments."""
    idx = [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == 'f']

    def f(*floats):
        full = list(args)
        for i, x in zip(idx, floats):
            full[i] = x
        return case.f(fnp, *full)
    return f, [args[i] for i in idx]


@pytest.mark.parametrize('case', GRAD_CASES, ids=[c.name for c in GRAD_CASES])
def test_derivatives_match_finite_differences(case):
    f, xs = _float_args_fn(case, case.draw())
    check_jvp_fd(f, xs, seed=1)
    check_vjp_fd(f, xs, seed=1)


@pytest.mark.parametrize('case', VMAP_CASES, ids=[c.name for c in VMAP_CASES])
def test_vmap_matches_loop(case):
    rng = np.random.default_rng(2)
    batched = [np.stack([a.draw(rng) for _ in range(3)]) if isinstance(a, A) else a for a in case.args]
    check_vmap_vs_loop(lambda *xs: case.f(fnp, *xs), batched, in_axes=0, rtol=1e-12, atol=1e-14)


def test_vmap_with_unbatched_argument():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5, 3, 4)), rng.standard_normal((3, 4))
    check_vmap_vs_loop(lambda a, b: fnp.where(a > b, a, fnp.sum(b, 0)), (x, y), in_axes=(0, None))
    check_vmap_vs_loop(lambda a, b: fnp.concatenate([a, b], axis=1), (x, y), in_axes=(0, None))
    check_vmap_vs_loop(lambda a: fnp.var(a, axis=0), (x,), in_axes=2)


# ---------------------------------------------------------------------------------------------
# Creation


CREATION = [
    ('zeros', lambda m: m.zeros((2, 3))),
    ('zeros_int', lambda m: m.zeros(3, dtype=np.int32)),
    ('ones', lambda m: m.ones([2, 2])),
    ('full', lambda m: m.full((2, 3), 7)),
    ('full_float', lambda m: m.full(4, 2.5, np.float32)),
    ('full_array', lambda m: m.full((2, 3), np.arange(3.0))),
    ('empty_shape', lambda m: m.empty((0, 3)).shape),
    ('eye', lambda m: m.eye(3)),
    ('eye_rect_k', lambda m: m.eye(3, 4, k=1, dtype=np.int64)),
    ('identity', lambda m: m.identity(2)),
    ('arange', lambda m: m.arange(5)),
    ('arange_float', lambda m: m.arange(0.5, 3.0, 0.5)),
    ('linspace', lambda m: m.linspace(0.0, 1.0, 7)),
    ('linspace_noendpoint', lambda m: m.linspace(-1, 2, 4, endpoint=False)),
    ('asarray', lambda m: m.asarray([[1, 2], [3, 4]])),
    ('asarray_dtype', lambda m: m.asarray([1, 2], dtype=np.float32)),
    ('array', lambda m: m.array([1.0, 2.0], ndmin=2)),
    ('meshgrid', lambda m: m.meshgrid(np.arange(3.0), np.arange(2.0))),
    ('meshgrid_ij', lambda m: m.meshgrid(np.arange(3.0), np.arange(2.0), np.arange(4.0), indexing='ij')),
    ('meshgrid_sparse', lambda m: m.meshgrid(np.arange(3.0), np.arange(2.0), sparse=True)),
    ('zeros_like', lambda m: m.zeros_like(np.ones((2, 3), np.float32))),
    ('ones_like_dtype', lambda m: m.ones_like(np.ones((2, 3)), dtype=np.int64)),
    ('full_like', lambda m: m.full_like(np.ones(3), 4.5)),
]


@pytest.mark.parametrize('f', [f for _, f in CREATION], ids=[n for n, _ in CREATION])
def test_creation_matches_numpy(f):
    expected = f(np)
    if isinstance(expected, tuple) and all(isinstance(s, int) for s in expected):
        assert f(fnp) == expected
        return
    assert_matches_numpy(f(fnp), expected)


def test_like_functions_under_transformations():
    x = np.arange(6.0).reshape(2, 3)
    out = fxad.jit(lambda x: (fnp.zeros_like(x), fnp.ones_like(x, dtype=np.int32), fnp.full_like(x, 3.0)))(x)
    assert_matches_numpy(out, (np.zeros_like(x), np.ones_like(x, dtype=np.int32), np.full_like(x, 3.0)))
    check_vmap_vs_loop(lambda x: fnp.zeros_like(x) + fnp.full((3,), fnp.sum(x)), (x,), in_axes=0)
    g = fxad.grad(lambda v: fnp.sum(fnp.full((2,), v[0]) * fnp.ones_like(v)[0] + fnp.zeros_like(v)[1]))(x[0])
    np.testing.assert_allclose(g, [2.0, 0.0, 0.0])


@pytest.mark.parametrize('like', [
    lambda x: fnp.zeros_like(x), lambda x: fnp.ones_like(x), lambda x: fnp.full_like(x, 2.0),
    lambda x: fnp.full_like(x, x), lambda x: fnp.zeros_like(x, shape=(2,)),
], ids=['zeros_like', 'ones_like', 'full_like', 'full_like_traced', 'zeros_like_shape'])
def test_like_functions_of_weak_values_are_weak(like):
    # JAX's rule: like(weak x) is weak, so beside float32 it gives float32; a strong x stays strong.
    f32 = np.ones(2, np.float32)
    assert fxad.jit(lambda x: like(x) * f32)(1.0).dtype == np.float32
    assert fxad.jit(lambda x: like(x) * f32)(np.float64(1.0)).dtype == np.float64
    assert fxad.vmap(lambda x: like(x) * f32)(np.ones(3)).dtype == np.float64
    assert [a.weak_type for a in fxad.make_jaxpr(like)(1.0).out_avals] == [True]
    assert [a.weak_type for a in fxad.make_jaxpr(like)(np.float64(1.0)).out_avals] == [False]


def test_full_like_of_weak_value_stages_a_literal():
    jaxpr = fxad.make_jaxpr(lambda x: fnp.full_like(x, 2.0))(1.0)
    assert not jaxpr.jaxpr.eqns and type(jaxpr.jaxpr.outvars[0].val) is float
    assert fxad.jit(lambda x: fnp.full_like(x, 2.0))(1.0) == 2.0


@pytest.mark.parametrize('convert', [lambda x: x.astype(np.float64), lambda x: fnp.asarray(x, np.float64),
                                     lambda x: fnp.astype(x, 'float64'), lambda x: fnp.array(x, np.float64)],
                         ids=['method', 'asarray', 'astype', 'array'])
def test_explicit_dtype_makes_a_weak_value_strong(convert):
    # As in JAX: naming a dtype makes a strong value, so float64 beside float32 stays float64.
    assert [a.weak_type for a in fxad.make_jaxpr(convert)(1.0).out_avals] == [False]
    assert fxad.jit(lambda x: convert(x) * np.ones(2, np.float32))(1.0).dtype == np.float64
    assert fxad.grad(lambda x: convert(x) * 3.0)(1.0) == 3.0


@pytest.mark.parametrize('make', [
    lambda m, n: m.ones(n), lambda m, n: m.zeros((n, 2)), lambda m, n: m.full((2, n), 1.0),
    lambda m, n: m.empty([n]), lambda m, n: m.zeros_like(np.ones(2), shape=(n,)),
    lambda m, n: m.reshape(np.ones(4), (n, -1)), lambda m, n: m.broadcast_to(1.0, (n,)),
    lambda m, n: m.tile(np.ones(2), n),
], ids=['ones', 'zeros', 'full', 'empty', 'zeros_like', 'reshape', 'broadcast_to', 'tile'])
def test_traced_shapes_raise_concretization_errors(make):
    # Shapes are static: a traced size is a ConcretizationTypeError, never a plain TypeError.
    with pytest.raises(ConcretizationTypeError):
        fxad.jit(lambda n: make(fnp, n))(2)
    out, expected = make(fnp, np.int64(2)), make(np, np.int64(2))   # a concrete NumPy integer is a fine size
    assert out.shape == expected.shape and out.dtype == expected.dtype


def test_traced_linspace_and_asarray():
    f = lambda a, b: fnp.linspace(a, b, 5)
    assert_matches_numpy(fxad.jit(f)(1.0, 3.0), np.linspace(1.0, 3.0, 5))
    # d/da linspace(a, b, n)[i] = 1 - i/(n-1)
    np.testing.assert_allclose(fxad.jacfwd(f)(1.0, 3.0), 1 - np.arange(5) / 4)
    g = lambda x: fnp.asarray([x, 2 * x, 1.0])
    assert_matches_numpy(fxad.jit(g)(2.0), np.array([2.0, 4.0, 1.0]))
    np.testing.assert_allclose(fxad.jacfwd(g)(2.0), [1.0, 2.0, 0.0])


# ---------------------------------------------------------------------------------------------
# Dtypes, NumPy values, errors


def test_dtype_promotion():
    x32 = np.ones(3, np.float32)
    i64 = np.arange(3)
    for f in (lambda x: x + 2.0, lambda x: 2 * x, lambda x: fnp.maximum(x, 0.5), lambda x: fnp.where(x > 0, x, 0.0),
              lambda x: fnp.clip(x, 0, 1), lambda x: fnp.sum(x), lambda x: fnp.mean(x), lambda x: fnp.var(x),
              lambda x: fnp.linalg.norm(x), lambda x: x ** 2, lambda x: fnp.power(x, 0.5), lambda x: fnp.exp(x)):
        assert fxad.jit(f)(x32).dtype == np.float32
    assert fnp.add(x32, 2.0).dtype == np.float32
    assert fnp.add(i64, 2.5).dtype == np.float64
    assert fxad.jit(lambda i: i + 2.5)(i64).dtype == np.float64
    assert fxad.jit(lambda i: i + 2)(i64).dtype == np.int64
    assert fnp.sin(i64).dtype == np.float64
    assert fnp.true_divide(i64, 2).dtype == np.float64
    assert fnp.add(np.ones(2, np.int32), np.ones(2, np.float32)).dtype == np.float64
    assert fnp.argmax(x32).dtype == np.int64
    assert fnp.sum(np.ones(3, np.int8)).dtype == np.int64
    assert fnp.any(x32).dtype == np.bool_
    assert fxad.jit(lambda x: fnp.mean(x))(i64).dtype == np.float64


@pytest.mark.parametrize('f', [
    lambda m: m.sum(2.0), lambda m: m.squeeze(3), lambda m: m.reshape(2.0, ()), lambda m: m.where(True, 1.0, 2.0),
    lambda m: m.clip(2.0, None, None), lambda m: m.reciprocal(2.0), lambda m: m.floor(3), lambda m: m.abs(True),
    lambda m: m.max(1.5), lambda m: m.transpose(1.0), lambda m: m.positive(1), lambda m: m.real(2.0),
    lambda m: m.mean(3),
], ids=['sum', 'squeeze', 'reshape', 'where', 'clip', 'reciprocal', 'floor', 'abs', 'max', 'transpose', 'positive',
        'real', 'mean'])
def test_eager_results_of_python_scalars_are_numpy_values(f):
    assert_matches_numpy(f(fnp), f(np))


@pytest.mark.parametrize('f', [lambda m, x: m.power(x, -1), lambda m, x: m.power(x, np.array([1, -1])),
                               lambda m, x: m.power(x.astype(bool), -2)], ids=['scalar', 'array', 'bool'])
def test_integers_to_negative_integer_powers_raise_as_in_numpy(f):
    x = np.array([2, 3])
    for g in (lambda x: f(np, x), lambda x: f(fnp, x), fxad.jit(lambda x: f(fnp, x)),
              fxad.vmap(lambda x: f(fnp, x)), fxad.jit(lambda x: x ** -1)):
        with pytest.raises(ValueError, match='Integers to negative integer powers are not allowed'):
            g(x)


@pytest.mark.filterwarnings('ignore::RuntimeWarning')  # NumPy warns of ddof >= n, and of 0 / 0
@pytest.mark.parametrize('f', [lambda m, x: m.std(x, ddof=3), lambda m, x: m.var(x, ddof=2),
                               lambda m, x: m.var(x, axis=0, ddof=5), lambda m, x: m.std(x[:1], ddof=1)],
                         ids=['std_nan', 'var_inf', 'var_axis', 'std_one'])
def test_var_and_std_with_ddof_at_least_n_match_numpy(f):
    for x in (np.ones(2), np.array([1.0, 2.0]), np.arange(6.0).reshape(2, 3)):
        assert_matches_numpy(f(fnp, x), f(np, x))
        assert_matches_numpy(fxad.jit(lambda x: f(fnp, x))(x), f(np, x))


def test_tolist_of_concrete_values_only():
    x = np.arange(6.0).reshape(2, 3)
    seen = []
    fxad.grad(lambda x: (seen.append(x.tolist()), fnp.sum(x))[1])(x)
    assert seen == [x.tolist()]
    fxad.jvp(lambda x: (seen.append(x.tolist()), x)[1], (2.5,), (1.0,))
    assert seen[-1] == 2.5 and type(seen[-1]) is float
    with pytest.raises(ConcretizationTypeError, match='tolist'):
        fxad.jit(lambda x: x.tolist())(x)


def test_shift_operators_on_integer_tracers():
    x, s = np.arange(-5, 5), np.arange(10) * 7
    ops = lambda x, s: (x << 3, x >> 1, x << s, x >> s, 1 << (s % 64), 1000 >> (s % 64))
    assert_matches_numpy(fxad.jit(ops)(x, s), ops(x, s))
    assert_matches_numpy(fxad.vmap(ops)(x, s), ops(x, s))


def test_python_scalars_stay_weak_under_jit():
    def f(x):
        y = fnp.sum(2.0) * x  # a weak float64 scalar beside float32 stays float32
        return y, fnp.where(True, 1.0, 2.0) * x
    a, b = fxad.jit(f)(np.ones(2, np.float32))
    assert a.dtype == np.float32 and b.dtype == np.float32


@pytest.mark.parametrize('call, exc, words', [
    (lambda: fnp.add(np.ones(3), np.ones(4)), ValueError, ['add', '(3,)', '(4,)']),
    (lambda: fnp.sin('abc'), TypeError, ['sin', 'str']),
    (lambda: fnp.sum(np.array(['a', 'b'])), TypeError, ['sum', 'dtype']),
    (lambda: fnp.multiply(object(), 1.0), TypeError, ['multiply', 'object']),
    (lambda: fnp.reshape(np.ones(6), (4, -1)), ValueError, ['reshape', '(6,)']),
    (lambda: fnp.reshape(np.ones(6), (4, 2)), ValueError, ['reshape', '(4, 2)']),
    (lambda: fnp.sum(np.ones((2, 3)), axis=2), ValueError, ['sum', 'axis 2']),
    (lambda: fnp.sum(np.ones((2, 3)), axis=(0, 0)), ValueError, ['sum', 'repeated']),
    (lambda: fnp.concatenate([np.ones((2, 3)), np.ones((2, 4))]), ValueError, ['concatenate', '(2, 3)', '(2, 4)']),
    (lambda: fnp.concatenate([np.ones(2), np.ones((2, 2))]), ValueError, ['concatenate', 'dimensions']),
    (lambda: fnp.stack([np.ones(2), np.ones(3)]), ValueError, ['stack', '(2,)', '(3,)']),
    (lambda: fnp.broadcast_to(np.ones(3), (4,)), ValueError, ['broadcast_to', '(3,)', '(4,)']),
    (lambda: fnp.where(np.ones(3) > 0, np.ones(3), np.ones(2)), ValueError, ['where', '(3,)', '(2,)']),
    (lambda: fnp.where(np.ones(3), np.ones(3)), ValueError, ['where']),
    (lambda: fnp.squeeze(np.ones((2, 3)), 0), ValueError, ['squeeze', '(2, 3)']),
    (lambda: fnp.split(np.ones(5), 2), ValueError, ['split', 'equal division']),
    (lambda: fnp.transpose(np.ones((2, 3)), (0, 0)), ValueError, ['transpose', 'permutation']),
    (lambda: fnp.max(np.ones((0, 3))), ValueError, ['max', 'zero-size']),
    (lambda: fnp.argmax(np.ones(0)), ValueError, ['argmax', 'empty']),
    (lambda: fnp.pad(np.ones(3), 1, mode='mean'), NotImplementedError, ['pad', 'mean']),
    (lambda: fnp.pad(np.ones((0, 2)), 1, mode='wrap'), ValueError, ['pad', 'empty axis 0']),
    (lambda: fnp.pad(np.ones(3), 1, mode='edge', constant_values=1), ValueError, ['pad', 'constant_values']),
    (lambda: fnp.argmax(np.ones((0, 3)), axis=0), ValueError, ['argmax', 'empty', '(0, 3)']),
    (lambda: fnp.left_shift(np.ones(3), 1), TypeError, ['left_shift', 'integer']),
    (lambda: fnp.power(np.arange(3), -1), ValueError, ['Integers to negative integer powers']),
    (lambda: fnp.linalg.norm(np.ones(3), 'fro'), ValueError, ['norm', 'vectors']),
    (lambda: fnp.linalg.norm(np.ones((2, 2, 2)), 1), ValueError, ['norm']),
    (lambda: fnp.diag(np.ones((2, 2, 2))), ValueError, ['diag', '(2, 2, 2)']),
    (lambda: fnp.clip(np.ones(3), 0, 1, min=0), TypeError, ['clip']),
    (lambda: fnp.zeros((2, -1)), ValueError, ['zeros', 'negative']),
    (lambda: fnp.sum(np.ones(3), out=np.ones(())), TypeError, ['sum', 'out']),
])
def test_bad_input_errors(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


def test_concrete_only_functions_under_jit():
    x = np.array([0.0, 1.0, 0.0, 2.0])
    np.testing.assert_array_equal(fnp.where(x)[0], [1, 3])
    np.testing.assert_array_equal(fnp.nonzero(x)[0], [1, 3])
    with pytest.raises(ConcretizationTypeError, match='nonzero'):
        fxad.jit(lambda x: fnp.where(x))(x)
    with pytest.raises(ConcretizationTypeError, match='roll'):
        fxad.jit(lambda x, s: fnp.roll(x, s))(x, 1)
    # Concrete values under grad (not jit) are fine.
    np.testing.assert_allclose(fxad.grad(lambda x: fnp.sum(x[fnp.nonzero(x)]) ** 2)(x), [0.0, 6.0, 0.0, 6.0])


def test_argsort_ties_are_stable_and_nan_last():
    x = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, 0.0]])
    np.testing.assert_array_equal(fnp.argsort(x), np.argsort(x, kind='stable'))
    np.testing.assert_array_equal(fnp.sort(x), np.sort(x))
    np.testing.assert_array_equal(fxad.jit(fnp.argsort)(x), np.argsort(x, kind='stable'))


def test_norm_gradient_at_zero_is_finite():
    for f in (lambda x: fnp.linalg.norm(x), lambda x: fnp.linalg.norm(x, axis=1),
              lambda x: fnp.linalg.norm(x, 'fro')):
        g = fxad.grad(lambda x: fnp.sum(f(x)))(np.zeros((2, 3)))
        np.testing.assert_array_equal(g, np.zeros((2, 3)))


def test_clip_and_max_ties_split_gradient():
    # At a tie, NumPy-style max/clip pass half the cotangent to each side (JAX's convention).
    np.testing.assert_allclose(fxad.grad(lambda x: fnp.max(fnp.stack([x, 1.0])))(1.0), 0.5)
    np.testing.assert_allclose(fxad.grad(lambda x: fnp.sum(fnp.maximum(x, 0.0)))(np.array([-1.0, 2.0])), [0.0, 1.0])


# ---------------------------------------------------------------------------------------------
# Tracer operators and methods (compared with the same method on a NumPy array)


METHODS = [
    ('reshape_varargs', lambda x: x.reshape(4, 3)),
    ('reshape_tuple', lambda x: x.reshape((2, -1))),
    ('transpose_varargs', lambda x: x.transpose(1, 0)),
    ('transpose_none', lambda x: x.transpose()),
    ('T', lambda x: x.T),
    ('mT', lambda x: x.mT),
    ('sum', lambda x: x.sum(axis=0, keepdims=True)),
    ('mean', lambda x: x.mean(1)),
    ('max', lambda x: x.max()),
    ('min', lambda x: x.min(axis=1)),
    ('prod', lambda x: x.prod(0)),
    ('var', lambda x: x.var(ddof=1)),
    ('std', lambda x: x.std(axis=0)),
    ('astype', lambda x: x.astype(np.float32)),
    ('clip', lambda x: x.clip(-0.5, 0.5)),
    ('round', lambda x: x.round(1)),
    ('squeeze', lambda x: x[None].squeeze()),
    ('ravel', lambda x: x.ravel()),
    ('flatten', lambda x: x.flatten()),
    ('argmax', lambda x: x.argmax(axis=1)),
    ('argmin', lambda x: x.argmin()),
    ('cumsum', lambda x: x.cumsum(axis=1)),
    ('cumprod', lambda x: x.cumprod()),
    ('any', lambda x: (x > 1).any()),
    ('all', lambda x: (x > -3).all(axis=0)),
    ('swapaxes', lambda x: x.swapaxes(0, 1)),
    ('sort', lambda x: x.sort(axis=0) if isinstance(x, Tracer) else np.sort(x, axis=0)),
    ('matmul', lambda x: x @ x.T),
    ('rmatmul', lambda x: np.ones((2, 3)) @ x),
    ('dot', lambda x: x.dot(x.T)),
    ('arith', lambda x: (2 - x) * 3 / (x + 5) // 0.3 % 0.7 + (-x) ** 2 + abs(x)),
    ('compare', lambda x: (x < 0.5) & (x >= -0.5) | (x == x) ^ (x != 0.1)),
    ('rpow', lambda x: 2.0 ** x),
    ('neg_pos', lambda x: -(+x)),
    ('invert', lambda x: ~(x > 0)),
    ('real_imag', lambda x: x.real + x.imag),
    ('len_iter', lambda x: sum(row.sum() for row in x) + len(x)),
]


@pytest.mark.parametrize('f', [f for _, f in METHODS], ids=[n for n, _ in METHODS])
def test_tracer_methods_match_numpy(f):
    x = np.random.default_rng(4).standard_normal((3, 4))
    assert_matches_numpy(fxad.jit(f)(x), f(x))


def test_tracer_equality_and_hash():
    def f(x):
        eq = x == x
        assert isinstance(eq, Tracer)
        assert (x == None) is False  # noqa: E711
        assert (x != 'a') is True
        with pytest.raises(TypeError):
            hash(x)
        return eq
    np.testing.assert_array_equal(fxad.jit(f)(np.ones(3)), [True, True, True])


def test_special_values():
    with np.errstate(all='ignore'):  # NumPy warns on these values too
        _check_special_values()


def _check_special_values():
    x = np.array([-0.0, 0.0, -np.inf, np.inf, -1.0, 1.0, np.nan])
    for name in ('signbit', 'isnan', 'isinf', 'isfinite', 'sinc', 'sign'):
        assert_matches_numpy(getattr(fnp, name)(x), getattr(np, name)(x), what=name)
        assert_matches_numpy(fxad.jit(getattr(fnp, name))(x), getattr(np, name)(x), what=name)
    assert_matches_numpy(fnp.copysign(2.0, x), np.copysign(2.0, x))
    assert_matches_numpy(fnp.heaviside(x, 0.5), np.heaviside(x, 0.5))
    assert_matches_numpy(fnp.logaddexp(x, -np.inf), np.logaddexp(x, -np.inf))
    assert_matches_numpy(fnp.isclose(x, x, equal_nan=True), np.isclose(x, x, equal_nan=True))
    # sinc's derivative at 0 is 0 (its Taylor series is 1 - (pi x)^2 / 6 + ...).
    np.testing.assert_allclose(fxad.grad(fnp.sinc)(0.0), 0.0)
    np.testing.assert_allclose(fxad.grad(fxad.grad(fnp.sinc))(1e-3), -np.pi ** 2 / 3, rtol=1e-5)


def test_pad_with_traced_constant():
    # d/dc sum(pad(x, 1, constant_values=c)) counts the padded cells.
    x = np.ones((2, 3))
    g = fxad.grad(lambda c: fnp.sum(fnp.pad(x, 1, constant_values=c)))(0.5)
    np.testing.assert_allclose(g, 4 * 5 - 2 * 3)
