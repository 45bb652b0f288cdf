"""docs/compat.md (written by scripts/compat_table.py) claims tinyseq has a set of PyTorch
names; each of them must be there."""
import pathlib
import re

import pytest

import tinyseq as ts
import tinyseq.functional

COMPAT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "compat.md"
NAMESPACES = {"torch": ts, "torch.nn": ts.nn, "torch.nn.functional": tinyseq.functional,
              "torch.optim": ts.optim, "torch.optim.lr_scheduler": ts.optim.lr_scheduler,
              "torch.utils.data": ts.utils.data, "Tensor": ts.Tensor}


def claimed():
    """(section, name) for every name the page marks as in tinyseq."""
    section, names = None, []
    for line in COMPAT.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        row = re.fullmatch(r"\| `(\w+)` \| \d+ \| yes \|", line)
        if row:
            names.append((section, row.group(1)))
        elif line.startswith("Not used by the ported scripts, in tinyseq"):
            names += [(section, name) for name in re.findall(r"`(\w+)`", line)]
    return names


def test_the_page_covers_every_namespace_and_claims_the_rnn_essentials():
    names = claimed()
    assert {section for section, _ in names} == set(NAMESPACES)
    for essential in [("torch.nn", "LSTM"), ("torch.nn", "GRU"), ("Tensor", "backward"),
                      ("torch", "no_grad"), ("torch.optim", "Adam")]:
        assert essential in names


@pytest.mark.parametrize("section", sorted(NAMESPACES))
def test_every_name_the_docs_list_as_supported_exists(section):
    missing = [name for where, name in claimed() if where == section
               and not hasattr(NAMESPACES[section], name)]
    assert not missing, f"docs/compat.md lists {section} names tinyseq lacks: {missing}"
