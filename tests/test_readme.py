"""The README's first two Python snippets run as written and say what is true."""
import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_training_and_tracing_snippets(tmp_path, monkeypatch):
    training, tracing = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[:2]
    monkeypatch.chdir(tmp_path)                      # tr.render("bptt.svg") writes here
    namespace = {}
    exec(training, namespace)
    assert namespace["loss"].item() < 0.05           # one epoch on sine waves learns something
    exec(tracing, namespace)
    trace, weight = namespace["tr"], namespace["w"]
    assert trace.steps == 50
    total = sum(g for _, g in trace.contributions(weight))
    np.testing.assert_allclose(total, weight.grad.numpy(), atol=1e-6)
    assert list(tmp_path.glob("bptt.svg*"))          # the SVG, or its .dot when dot is missing


def test_readme_op_example_is_the_example_script():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Writing your own op"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = (README.parent / "examples" / "custom_op.py").read_text(encoding="utf-8")
    assert block in script
