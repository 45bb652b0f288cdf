"""viz/contribution_matrix.png: where each loss step's gradient of W_ih comes from, for a plain
RNN and an LSTM trained on examples/dilution.py's recall task (T = 40, seed 0).

Row t is the loss at step t, L_t = (head(h_t) - v_0)^2, column s the step whose use of W_ih
sent the term (``tr.contributions(weight, by="loss_step")``), each row as shares of its total
on a log colour scale. The RNN's rows fade away from the diagonal: L_t learns from the last
few steps only. The trained LSTM's rows keep a large share at s = 0, where v_0 came in.

    PYTHONPATH=. python viz/contribution_matrix.py        (about a minute)
"""
import pathlib
import sys

from matplotlib.figure import Figure

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import dilution  # noqa: E402
from tinyseq.render import plot_contribution_matrix  # noqa: E402


def main(seq_len=40, output=ROOT / "viz" / "contribution_matrix.png"):
    results = dilution.main(seq_len=seq_len, output=None)
    figure = Figure(figsize=(12, 5.2), constrained_layout=True)
    for axis, name in zip(figure.subplots(1, 2), ("RNN", "LSTM")):
        model = results[name]["model"]
        tr, losses = dilution.traced_step_losses(model, seq_len)
        matrix = tr.contributions(model.rnn.weight_ih_l0, by="loss_step", losses=losses)
        title = (f"{name} trained to recall v_0 (MSE {results[name]['mse']:.3f})\n"
                 f"share of ‖dL_t/dW_ih‖ from step s; "
                 f"{dilution.far_share(matrix):.3f} from 10+ steps back")
        plot_contribution_matrix(tr, model.rnn.weight_ih_l0, matrix=matrix, axis=axis,
                                 vmin=1e-6, title=title)
    figure.savefig(output, dpi=100)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
