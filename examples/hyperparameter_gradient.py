"""Choosing a regularization strength by gradient descent, differentiating through an optimizer.

Ridge regression fits x*(lam) = argmin_x ||X x - y||^2 + lam ||x||^2 on training data. We want
the lam whose fit does best on held-out data: minimize V(lam) = ||X_val x*(lam) - y_val||^2.
fxad.solvers.minimize finds x* with BFGS and differentiates it through the optimality condition
grad_x = 2 X^T (X x - y) + 2 lam x = 0 (the implicit function theorem), never through the BFGS
iterations:

    dx*/dlam = -(X^T X + lam I)^-1 x*,

solved by CG on Hessian-vector products. The script checks dx*/dlam in both modes against that
closed form and against differentiating the closed-form solution written with fnp.linalg.solve,
then runs gradient descent on log(lam) and compares with a grid search.

Run: python examples/hyperparameter_gradient.py
"""
import numpy as np

import fxad
import fxad.numpy as fnp
from fxad.solvers import minimize

rng = np.random.default_rng(0)
n_train, n_val, dim = 30, 200, 12
x_true = rng.standard_normal(dim)
X_train = rng.standard_normal((n_train, dim))
y_train = X_train @ x_true + 3.0 * rng.standard_normal(n_train)
X_val = rng.standard_normal((n_val, dim))
y_val = X_val @ x_true + 3.0 * rng.standard_normal(n_val)


def train_loss(x, lam):
    r = X_train @ x - y_train
    return fnp.sum(r ** 2) + lam * fnp.sum(x ** 2)


def fit(lam):
    return minimize(train_loss, np.zeros(dim), lam)


def fit_closed_form(lam):
    return fnp.linalg.solve(X_train.T @ X_train + lam * np.eye(dim), X_train.T @ y_train)


def val_loss(log_lam, fit=fit):
    r = X_val @ fit(fnp.exp(log_lam)) - y_val
    return fnp.mean(r ** 2)


def main():
    lam = 2.0
    x = fit(lam)
    closed = -np.linalg.solve(X_train.T @ X_train + lam * np.eye(dim), x)
    fwd, rev = fxad.jacfwd(fit)(lam), fxad.jacrev(fit)(lam)
    dense = fxad.jacfwd(fit_closed_form)(lam)
    print(f"dx*/dlam at lam = {lam}:")
    print(f"  jacfwd through minimize       {np.array2string(fwd[:4], precision=8)} ...")
    print(f"  jacrev through minimize       {np.array2string(rev[:4], precision=8)} ...")
    print(f"  -(X^T X + lam I)^-1 x*        {np.array2string(closed[:4], precision=8)} ...")
    print(f"  jacfwd of fnp.linalg.solve    {np.array2string(dense[:4], precision=8)} ...")
    for name, value in [('jacfwd', fwd), ('jacrev', rev), ('fnp.linalg.solve', dense)]:
        np.testing.assert_allclose(value, closed, atol=1e-9, err_msg=name)

    # Gradient descent on log(lam); each step fits the model and differentiates the fit.
    step = fxad.jit(fxad.value_and_grad(val_loss))
    log_lam = 0.0
    print(f"\n{'step':>4} {'lam':>10} {'val loss':>12} {'dV/dlog(lam)':>14} {'closed form':>14}")
    for i in range(16):
        value, g = step(log_lam)
        if i % 3 == 0:
            check = fxad.grad(val_loss)(log_lam, fit_closed_form)
            print(f"{i:4d} {np.exp(log_lam):10.4f} {value:12.6f} {g:14.8f} {check:14.8f}")
            assert abs(g - check) < 1e-8 * max(1.0, abs(check))
        log_lam = log_lam - 0.7 * g

    grid = np.linspace(-3.0, 6.0, 901)
    losses = [val_loss(s, fit_closed_form) for s in grid]
    best = grid[int(np.argmin(losses))]
    print(f"\ngradient descent: lam = {np.exp(log_lam):.4f}; grid search: lam = {np.exp(best):.4f}")
    assert abs(log_lam - best) < 0.02


if __name__ == '__main__':
    main()
