"""L-BFGS, as PyTorch's ``torch.optim.LBFGS`` (``optimizer.step(closure)``), without a line
search: each iteration steps by ``lr`` along the quasi-Newton direction."""
from .. import backend, checks
from ..autograd import enable_grad
from .optimizer import Optimizer, add_to_parameter

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731
_positive_int = lambda op, name, v: checks.integer(op, name, v, minimum=1)  # noqa: E731


class LBFGS(Optimizer):
    """Each ``step(closure)`` runs up to ``max_iter`` iterations on all parameters as one flat
    vector x with gradient g: the direction d = -H g comes from the last ``history_size`` pairs
    (s = x_k+1 - x_k, y = g_k+1 - g_k) by the two-loop recursion, H's scale is s.y / y.y, and
    x += t d with t = lr (the very first step: t = lr * min(1, 1 / sum|g|)). It stops early
    when max|g| <= tolerance_grad, a step or the change of the loss is below
    tolerance_change, or after ``max_eval`` evaluations of the closure."""

    hyperparameters = {**Optimizer.hyperparameters, "max_iter": _positive_int,
                       "max_eval": _positive_int, "tolerance_grad": _nonnegative,
                       "tolerance_change": _nonnegative, "history_size": _positive_int,
                       "line_search_fn": lambda op, name, v: _no_line_search(op, v)}

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

        with enable_grad():
            first_loss = closure()
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
            self._add_to_parameters(step, direction)
            converged = False
            if iteration != max_iter:
                with enable_grad():
                    loss = float(closure())
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


def _no_line_search(op, value):
    if value is not None:
        raise ValueError(f"{op}: line_search_fn={value!r} is not supported (tinyseq's LBFGS "
                         f"steps by lr without a line search); use line_search_fn=None")
    return None
