"""The tinyseq demo: train a Seq2Seq model with attention, then look inside its training.

1. Trains an encoder-decoder with attention to turn human-readable dates into ISO dates
   ("thursday, march 3, 1994" -> "1994-03-03") for about a minute and prints its exact-match
   accuracy on 1,000 held-out dates (examples/seq2seq_dates.py, with a smaller budget).
2. Traces one training step of the trained model and writes the unrolled BPTT graph: the
   encoder's row of step boxes above the decoder's, shared weights drawn once with each
   step's share of their gradient, the long source elided in the middle.
3. Writes the gradient-flow plot: how much gradient reaches each time step's state, and each
   step's share of the gradient of the encoder's recurrent weight W_hh.
4. Writes the attention weights of one translation as a heat map, for the greedy output and
   for the hypothesis beam search chose (read back with ``ts.trace(values=True)``).
5. Writes the interactive explorer of the traced step (out/demo_explorer.html): hover, click
   a weight for its per-step shares, expand a step, walk the backward pass through time.
6. Prints its lesson: the gradient of the encoder's shared W_hh is the sum of one
   contribution per time step (backpropagation through time), checked on the traced step.
"""
import os

import numpy
import seq2seq_dates

import tinyseq as ts
from tinyseq.render import plot_attention, plot_gradient_flow
from tinyseq.trace import gradient_flow


def main(output_dir="out", n_train=4000, epochs=4):
    os.makedirs(output_dir, exist_ok=True)
    result = seq2seq_dates.main(n_train=n_train, epochs=epochs, beam_width=None)
    model, data = result["model"], result["data"]
    source_vocab, target_vocab = data.source_vocab, data.target_vocab

    text, target_text = min(data.test[:50], key=lambda pair: len(pair[0]))
    source = [source_vocab.encode(text)]
    target = [target_vocab.encode(target_text, add_sos=True, add_eos=True)]
    model.train()
    model.zero_grad()                                     # the traced step's gradient alone
    with ts.trace() as tr:
        logits, _ = model(source, target)
        loss = model.loss(logits, target)
    loss.backward()
    line = lesson(tr, model.encoder.weight_hh_l0)       # before gradient_flow adds its own backward
    graph = tr.render(os.path.join(output_dir, "demo_bptt.svg"), grads=True)
    print(f"BPTT graph of one training step on {text!r} ({tr.steps} time steps: "
          f"{len(text)} encoder + {len(target_text) + 1} decoder): {graph}")
    explorer = tr.to_html(os.path.join(output_dir, "demo_explorer.html"),
                          title=f"tinyseq explorer: one training step on {text!r}")
    print(f"interactive explorer (open it in a browser): {explorer}")

    flow = gradient_flow(lambda: model.loss(model(source, target)[0], target),
                         model.encoder.weight_hh_l0)
    plot = plot_gradient_flow({"Seq2Seq (trained)": flow}, os.path.join(output_dir, "demo_gradient_flow.svg"),
                              title=f"Gradient flow while learning {text!r} -> {target_text!r}")
    print(f"gradient flow (||dL/dh_t|| for t = 0..{len(flow['steps']) - 1}): {plot}")

    model.eval()
    outputs, weights = model.greedy_decode(source, max_len=seq2seq_dates.MAX_LEN)
    guess = target_vocab.decode(outputs[0])
    heat_map = plot_attention(weights[0], list(text), list(guess), os.path.join(output_dir, "demo_attention.svg"),
                              title=f"Attention: {text!r} -> {guess!r}")
    print(f"attention heat map: {heat_map}")
    beam = model.beam_search(source, beam_width=4, max_len=seq2seq_dates.MAX_LEN)[0]
    for name, tokens in (("greedy", outputs[0]), ("beam", beam)):
        chosen = target_vocab.decode(tokens)
        heat_map = plot_attention(attention_over(model, source, tokens), list(text), list(chosen),
                                  os.path.join(output_dir, f"demo_attention_{name}.svg"),
                                  title=f"Attention ({name}): {text!r} -> {chosen!r}")
        print(f"attention over the {name} output {chosen!r}: {heat_map}")
    result["lesson"] = line
    print(line)
    return result


def lesson(tr, weight):
    """The lesson line: dL/dW of a weight shared over time steps is the sum of one contribution
    per step that used it, here to float32 rounding."""
    contributions = tr.contributions(weight)
    total = sum(grad for _, grad in contributions)
    gap = float(numpy.linalg.norm(total - weight.grad.numpy()) / numpy.linalg.norm(weight.grad.numpy()))
    steps = [t for t, _ in contributions if t is not None]
    holds = gap < 1e-5 and len(steps) > 1
    return (f"lesson demo: the gradient of the encoder's shared W_hh is the sum of one contribution "
            f"per time step: {len(steps)} steps, ||sum_t dL/dW_hh from t - W_hh.grad|| / "
            f"||W_hh.grad|| = {gap:.1e} -> {'holds' if holds else 'does not hold'}")


def attention_over(model, source, tokens):
    """The attention weights (output steps, source steps) of the decoder fed ``tokens``, read
    from a trace that keeps forward values."""
    target = [[model.sos_id] + list(tokens) + [model.eos_id]]
    with ts.no_grad(), ts.trace(values=True) as tr:
        model(source, target)
    return tr.activations("attention", "weights")[:, 0, :]


if __name__ == "__main__":
    main()
