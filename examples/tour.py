"""A short tour of fxad: print a jaxpr, evaluate it, then differentiate and batch the function."""
import numpy as np

import fxad
import fxad.numpy as fnp
from fxad.core import eval_jaxpr


def f(x, y):
    return fnp.sin(x) * y + 2.0


print("f(x, y) = sin(x) * y + 2")
closed = fxad.make_jaxpr(f)(1.0, 2.0)
print("\nIts jaxpr:")
print(closed)
print("\nEvaluating the jaxpr at (1, 2):", eval_jaxpr(closed.jaxpr, closed.consts, 1.0, 2.0)[0])
print("Calling f directly:             ", f(1.0, 2.0))

# Forward mode: the derivative along a direction, in one pass.
primal, tangent = fxad.jvp(f, (1.0, 2.0), (1.0, 0.0))
print("\njvp along x:  df/dx =", tangent, "  (cos(1) * 2 =", np.cos(1.0) * 2, ")")

# Reverse mode: linearize, then transpose.
dfdx, dfdy = fxad.grad(f, argnums=(0, 1))(1.0, 2.0)
print(f"grad:         (df/dx, df/dy) = ({float(dfdx):.6f}, {float(dfdy):.6f})")
print("\nThe gradient's jaxpr (primal work, then the transposed linear part):")
print(fxad.make_jaxpr(fxad.grad(f))(1.0, 2.0))

# vmap: the same function over a batch, as array operations (no Python loop).
xs = np.linspace(0.0, 1.0, 4)
print("\nvmap over x:", fxad.vmap(f, in_axes=(0, None))(xs, 2.0))
print("per-example gradients:", fxad.vmap(fxad.grad(f), in_axes=(0, None))(xs, 2.0))
print("\nThe batched jaxpr:")
print(fxad.make_jaxpr(fxad.vmap(f, in_axes=(0, None)))(xs, 2.0))

# Jacobians and Hessians compose from the same pieces.
g = lambda x, y: x * x * y + y + 2
H = fxad.hessian(g, argnums=(0, 1))(3.0, 4.0)
print("\nhessian of x^2 y + y + 2 at (3, 4):", [[float(h) for h in row] for row in H])
