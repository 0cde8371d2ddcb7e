"""Plain-numpy reference implementations (loops and textbook formulas), independent of ``montecarlo``'s code."""

from __future__ import annotations

import numpy as np


def anova3(y: np.ndarray) -> dict[str, float]:
    """Classical three-way random-effects ANOVA with one observation per cell (Searle, Casella & McCulloch,
    *Variance Components*, 4.6), per test point, averaged over test points.

    ``y`` has shape ``(a, b, c, T)``. Returns the seven variance components (keys P, X, eps, PX, Peps, Xeps,
    PXeps), ``test_error = mean(y^2)`` and the bias corrected for the variance of the grand mean,
    ``mean_t ybar_t^2 - Var-hat(ybar)``.
    """
    a, b, c, n_t = y.shape
    comps = {k: 0.0 for k in ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps")}
    bias = 0.0
    for t in range(n_t):
        z = y[..., t]
        g = z.mean()
        m_a = np.array([z[i].mean() for i in range(a)])
        m_b = np.array([z[:, j].mean() for j in range(b)])
        m_c = np.array([z[:, :, k].mean() for k in range(c)])
        m_ab = np.array([[z[i, j].mean() for j in range(b)] for i in range(a)])
        m_ac = np.array([[z[i, :, k].mean() for k in range(c)] for i in range(a)])
        m_bc = np.array([[z[:, j, k].mean() for k in range(c)] for j in range(b)])
        ss_a = b * c * sum((m_a[i] - g) ** 2 for i in range(a))
        ss_b = a * c * sum((m_b[j] - g) ** 2 for j in range(b))
        ss_c = a * b * sum((m_c[k] - g) ** 2 for k in range(c))
        ss_ab = c * sum((m_ab[i, j] - m_a[i] - m_b[j] + g) ** 2 for i in range(a) for j in range(b))
        ss_ac = b * sum((m_ac[i, k] - m_a[i] - m_c[k] + g) ** 2 for i in range(a) for k in range(c))
        ss_bc = a * sum((m_bc[j, k] - m_b[j] - m_c[k] + g) ** 2 for j in range(b) for k in range(c))
        ss_abc = sum((z[i, j, k] - m_ab[i, j] - m_ac[i, k] - m_bc[j, k] + m_a[i] + m_b[j] + m_c[k] - g) ** 2
                     for i in range(a) for j in range(b) for k in range(c))
        ms_a, ms_b, ms_c = ss_a / (a - 1), ss_b / (b - 1), ss_c / (c - 1)
        ms_ab, ms_ac, ms_bc = ss_ab / ((a - 1) * (b - 1)), ss_ac / ((a - 1) * (c - 1)), ss_bc / ((b - 1) * (c - 1))
        ms_abc = ss_abc / ((a - 1) * (b - 1) * (c - 1))
        v = {
            "PXeps": ms_abc,
            "PX": (ms_ab - ms_abc) / c,
            "Peps": (ms_ac - ms_abc) / b,
            "Xeps": (ms_bc - ms_abc) / a,
            "P": (ms_a - ms_ab - ms_ac + ms_abc) / (b * c),
            "X": (ms_b - ms_ab - ms_bc + ms_abc) / (a * c),
            "eps": (ms_c - ms_ac - ms_bc + ms_abc) / (a * b),
        }
        var_mean = (v["P"] / a + v["X"] / b + v["eps"] / c + v["PX"] / (a * b) + v["Peps"] / (a * c)
                    + v["Xeps"] / (b * c) + v["PXeps"] / (a * b * c))
        bias += (g * g - var_mean) / n_t
        for k in comps:
            comps[k] += v[k] / n_t
    comps["test_error"] = float(np.mean(y * y))
    comps["bias"] = bias
    comps["variance"] = sum(comps[k] for k in ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps"))
    return comps


def rf_reference(draws, activation, *, n1: int, ridge: float, fstar2: float) -> dict[str, float]:
    """One repetition of random-feature ridge regression in plain numpy, from given draws, by the textbook kernel
    formula ``yhat(x) = Y (K + ridge I)^-1 F^T f(x) / n1`` with ``np.linalg.solve`` and explicit traces, whatever
    the sizes. The clean targets are recomputed from ``beta`` and the teacher direction."""
    w, x, eps, x_test = draws.w, draws.x, draws.eps, draws.x_test
    k_p, k_x, k_e = w.shape[0], x.shape[0], eps.shape[0]
    n0, m = x.shape[2], x.shape[1]

    def target(inputs):
        z = inputs @ draws.direction
        return inputs @ draws.beta / np.sqrt(n0) + np.sqrt(fstar2) * (z * z - 1.0) / np.sqrt(2.0)

    y_test = target(x_test)
    resid = np.empty((k_p, k_x, k_e, x_test.shape[0]))
    train, tau1, tau2 = [], [], []
    for p in range(k_p):
        f_test = activation(x_test @ w[p].T / np.sqrt(n0)) - draws.mu0
        for i in range(k_x):
            f = activation(x[i] @ w[p].T / np.sqrt(n0)) - draws.mu0
            kern = f @ f.T / n1
            inv = np.linalg.inv(kern + ridge * np.eye(m))
            tau1.append(np.trace(inv) / m)
            tau2.append(np.trace(x[i] @ x[i].T / n0 @ inv) / m)
            for e in range(k_e):
                y = target(x[i]) + eps[e]
                alpha = np.linalg.solve(kern + ridge * np.eye(m), y)
                resid[p, i, e] = f_test @ f.T @ alpha / n1 - y_test
                train.append(np.mean((y - kern @ alpha) ** 2))
    out = anova3(resid)
    out.update(train_error=float(np.mean(train)), tau1=float(np.mean(tau1)), tau2=float(np.mean(tau2)),
               y_test=y_test, y_train=np.stack([target(x[i]) for i in range(k_x)]))
    return out
