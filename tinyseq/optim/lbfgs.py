"""L-BFGS, as PyTorch's ``torch.optim.LBFGS`` (``optimizer.step(closure)``): each iteration
steps along the quasi-Newton direction by ``lr``, or by the step a strong-Wolfe line search
finds (``line_search_fn="strong_wolfe"``)."""
import numbers

from .. import backend, checks
from ..modes import enable_grad
from ..tensor import Tensor
from .optimizer import Optimizer, add_to_parameter

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731
_positive_int = lambda op, name, v: checks.integer(op, name, v, minimum=1)  # noqa: E731


class LBFGS(Optimizer):
    """Each ``step(closure)`` runs up to ``max_iter`` iterations on all parameters as one flat
    vector x with gradient g: the direction d = -H g comes from the last ``history_size`` pairs
    (s = x_k+1 - x_k, y = g_k+1 - g_k) by the two-loop recursion, H's scale is s.y / y.y, and
    x += t d with t = lr (the very first step: t = lr * min(1, 1 / sum|g|)). It stops early
    when max|g| <= tolerance_grad, a step or the change of the loss is below
    tolerance_change, or after ``max_eval`` evaluations of the closure. With
    ``line_search_fn="strong_wolfe"`` the step t along d is searched for (starting from the
    t above) until the loss decreases enough and the slope flattens enough (the strong Wolfe
    conditions), by bracketing and cubic interpolation."""

    hyperparameters = {**Optimizer.hyperparameters, "max_iter": _positive_int,
                       "max_eval": _positive_int, "tolerance_grad": _nonnegative,
                       "tolerance_change": _nonnegative, "history_size": _positive_int,
                       "line_search_fn": lambda op, name, v: _line_search(op, v)}

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None and isinstance(max_iter, int):
            max_eval = max_iter * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad,
                                  "tolerance_change": tolerance_change,
                                  "history_size": history_size,
                                  "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _flat_grad(self):
        xp = backend.device_of(self._params[0].array).xp
        return xp.concatenate([xp.zeros(p.array.size, p.array.dtype) if p.grad is None
                               else p.grad.array.reshape(-1) for p in self._params])

    def _add_to_parameters(self, step, direction):
        offset = 0
        for p in self._params:
            size = p.array.size
            add_to_parameter(p, step * direction[offset:offset + size].reshape(p.shape))
            offset += size

    def _parameters_copy(self):
        return [p.array.copy() for p in self._params]

    def _set_parameters(self, arrays):
        for p, array in zip(self._params, arrays):
            p.array[...] = array

    def _directional_evaluate(self, closure, x, step, direction):
        """The loss and flat gradient at x + step * direction; the parameters go back to x."""
        self._add_to_parameters(step, direction)
        loss = _loss_of(closure)
        flat_grad = self._flat_grad()
        self._set_parameters(x)
        return loss, flat_grad

    def step(self, closure=None):
        """Run the iterations; ``closure`` clears the gradients, evaluates the model, calls
        backward and returns the loss. Returns the loss of the first evaluation."""
        if closure is None:
            raise TypeError("LBFGS.step: needs a closure that re-evaluates the model and "
                            "returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        xp = backend.device_of(self._params[0].array).xp

        first_loss = _evaluate(closure)
        loss = float(first_loss)
        evaluations = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:
            return first_loss

        direction, step = state.get("d"), state.get("t")
        old_dirs, old_steps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        iteration = 0
        while iteration < max_iter:
            iteration += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                direction = -flat_grad
                old_dirs, old_steps, ro, h_diag = [], [], [], 1
            else:
                y = flat_grad - prev_flat_grad
                s = direction * step
                ys = y.dot(s)
                if ys > 1e-10:              # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        del old_dirs[0], old_steps[0], ro[0]
                    old_dirs.append(y)
                    old_steps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                alphas = [None] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = old_steps[i].dot(q) * ro[i]
                    q = q - alphas[i] * old_dirs[i]
                direction = r = q * h_diag
                for i in range(len(old_dirs)):
                    beta = old_dirs[i].dot(r) * ro[i]
                    r += (alphas[i] - beta) * old_steps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                step = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                step = lr
            if flat_grad.dot(direction) > -tolerance_change:  # not a descent direction
                break
            converged = False
            if group["line_search_fn"] == "strong_wolfe":
                x = self._parameters_copy()
                loss, flat_grad, step, searched = strong_wolfe(
                    lambda x, t, d: self._directional_evaluate(closure, x, t, d), x, step,
                    direction, loss, flat_grad, flat_grad.dot(direction), xp)
                self._add_to_parameters(step, direction)
                converged = xp.abs(flat_grad).max() <= tolerance_grad
                evaluations += searched
                state["func_evals"] += searched
            else:
                self._add_to_parameters(step, direction)
            if iteration != max_iter and group["line_search_fn"] is None:
                loss = _loss_of(closure)
                flat_grad = self._flat_grad()
                converged = xp.abs(flat_grad).max() <= tolerance_grad
                evaluations += 1
                state["func_evals"] += 1
            if iteration == max_iter or evaluations >= max_eval or converged:
                break
            if xp.abs(direction * step).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break
        state.update(d=direction, t=step, old_dirs=old_dirs, old_stps=old_steps, ro=ro,
                     H_diag=h_diag, prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return first_loss


def _line_search(op, value):
    if value not in (None, "strong_wolfe"):
        raise ValueError(f"{op}: line_search_fn must be None or 'strong_wolfe', got {value!r}")
    return value


def cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser, clamped to ``bounds`` (default: between x1 and x2), of the cubic through
    (x1, f1) and (x2, f2) with slopes g1 and g2; the middle of the bounds when it has none."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = d2_square ** 0.5
    if x1 <= x2:
        minimum = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        minimum = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(minimum, low), high)


def strong_wolfe(evaluate, x, t, d, f, g, gtd, xp, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    """A step t along d from x meeting the strong Wolfe conditions, f(x + t d) <= f + c1 t gtd
    and |g(x + t d) . d| <= -c2 gtd, as PyTorch's LBFGS searches for it: grow t until a bracket
    holds a minimum, then shrink the bracket by cubic interpolation (a step too close to an end
    is pushed 10% in). ``evaluate(x, t, d)`` returns (loss, flat gradient) at x + t d.
    Returns (loss, flat gradient, t, evaluations)."""
    d_norm = xp.abs(d).max()
    f_new, g_new = evaluate(x, t, d)
    evaluations = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        satisfied = abs(gtd_new) <= -c2 * gtd
        too_far = f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev)
        if too_far or (gtd_new >= 0 and not satisfied):     # a minimum lies in [t_prev, t]
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if satisfied:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        t_prev, t = t, cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                     bounds=(t + 0.01 * (t - t_prev), t * 10))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = evaluate(x, t, d)
        evaluations += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_minimum(bracket[0], bracket_f[0], bracket_gtd[0],
                          bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(x, t, d)
        evaluations += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evaluations


def _evaluate(closure):
    """What ``closure()`` returns, checked to be a loss: a one-element tensor or a number."""
    with enable_grad():
        loss = closure()
    if isinstance(loss, Tensor) and loss.numel() == 1 or \
            isinstance(loss, numbers.Real) and not isinstance(loss, bool):
        return loss
    shown = f"a tensor of shape {tuple(loss.shape)}" if isinstance(loss, Tensor) else \
        f"{type(loss).__name__} {loss!r}"[:80]
    raise TypeError(f"LBFGS.step: the closure must return the loss (a one-element tensor), "
                    f"got {shown}")


def _loss_of(closure):
    return float(_evaluate(closure))

