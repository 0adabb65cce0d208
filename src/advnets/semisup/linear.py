"""The classifier every feature set gets: multinomial logistic regression with an L2 penalty.

Features are standardised with the mean and standard deviation of the *unlabelled* pool (no labels
needed); the penalty is chosen from a grid by 5-fold cross-validation on the labelled examples alone
(never on validation or test labels, which a 100-label user would not have); the model is then
refitted on all labelled examples with L-BFGS.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
FOLDS = 5


def with_bias_column(x: torch.Tensor) -> torch.Tensor:
    """[m, d] -> [m, d + 1], a column of ones last (the bias's input)."""
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)


def fit_logistic(x: torch.Tensor, y: torch.Tensor, n_classes: int, penalty: float, iterations: int = 200) -> torch.Tensor:
    """Weights [d + 1, n_classes] (last row: bias) minimising mean CE + penalty/2 |W|^2 (bias free)."""
    x1 = with_bias_column(x)
    w = torch.zeros(x1.shape[1], n_classes, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x1 @ w, y) + 0.5 * penalty * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def predict(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (with_bias_column(x) @ w).argmax(1)


def choose_penalty(x: torch.Tensor, y: torch.Tensor, n_classes: int, seed: int = 0) -> tuple[float, dict[float, float]]:
    """The grid's penalty with the lowest 5-fold cross-validated error on (x, y), and every error."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    folds = order.chunk(FOLDS)
    errors = {}
    for penalty in PENALTIES:
        wrong = 0
        for k, held in enumerate(folds):
            kept = torch.cat([f for j, f in enumerate(folds) if j != k])
            w = fit_logistic(x[kept], y[kept], n_classes, penalty)
            wrong += int((predict(w, x[held]) != y[held]).sum())
        errors[penalty] = wrong / len(x)
    best = min(PENALTIES, key=lambda p: (errors[p], -p))  # ties: the stronger penalty
    return best, errors


def linear_probe_error(pool: torch.Tensor, labelled: torch.Tensor, y_labelled: torch.Tensor, test: torch.Tensor,
                       y_test: torch.Tensor, n_classes: int = 10) -> dict:
    """Test error of the classifier on features: pool [N, d] (unlabelled, for standardising),
    labelled [n, d] with y_labelled [n], test [T, d] with y_test [T]."""
    mean, std = pool.mean(0), pool.std(0).clamp_min(1e-6)
    scale = lambda f: ((f - mean) / std).double()  # noqa: E731
    xl, xt = scale(labelled), scale(test)
    penalty, cv = choose_penalty(xl, y_labelled, n_classes)
    w = fit_logistic(xl, y_labelled, n_classes, penalty)
    error = float((predict(w, xt) != y_test).double().mean())
    return {"test_error": error, "penalty": penalty, "cv_errors": {str(k): v for k, v in cv.items()}}
