"""ts.Generator, as torch.Generator: a generator of its own for generator=, which leaves the
default generator (ts.manual_seed's) as it was."""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq.nn import init
from tinyseq.utils.data import (DataLoader, RandomSampler, SubsetRandomSampler,
                                WeightedRandomSampler, random_split)

DRAWS = {
    "randn": lambda g: ts.randn(4, 3, generator=g),
    "rand": lambda g: ts.rand(5, generator=g, dtype=ts.float64),
    "randint": lambda g: ts.randint(0, 100, (6,), generator=g),
    "randperm": lambda g: ts.randperm(8, generator=g),
    "bernoulli": lambda g: ts.bernoulli(ts.full((7,), 0.5), generator=g),
    "normal": lambda g: ts.normal(ts.zeros(3), ts.ones(3), generator=g),
    "normal_sized": lambda g: ts.normal(1.0, 2.0, (3,), generator=g),
    "poisson": lambda g: ts.poisson(ts.full((4,), 3.0), g),
    "multinomial": lambda g: ts.ones(2, 6).multinomial(3, generator=g),
    "uniform_": lambda g: ts.empty(5).uniform_(-1, 1, generator=g),
    "normal_": lambda g: ts.empty(5).normal_(generator=g),
    "bernoulli_": lambda g: ts.empty(5).bernoulli_(0.3, generator=g),
    "random_": lambda g: ts.empty(5).random_(0, 9, generator=g),
    "init.uniform_": lambda g: init.uniform_(ts.empty(3, 4), generator=g),
    "init.trunc_normal_": lambda g: init.trunc_normal_(ts.empty(3, 4), generator=g),
    "init.xavier_normal_": lambda g: init.xavier_normal_(ts.empty(3, 4), generator=g),
    "init.kaiming_uniform_": lambda g: init.kaiming_uniform_(ts.empty(3, 4), generator=g),
    "init.orthogonal_": lambda g: init.orthogonal_(ts.empty(3, 4), generator=g),
    "init.sparse_": lambda g: init.sparse_(ts.empty(4, 3), 0.5, generator=g),
    "random_split": lambda g: [list(s) for s in random_split(range(10), [7, 3], generator=g)],
    "RandomSampler": lambda g: list(RandomSampler(range(9), generator=g)),
    "SubsetRandomSampler": lambda g: list(SubsetRandomSampler([3, 5, 7, 9], generator=g)),
    "WeightedRandomSampler": lambda g: list(WeightedRandomSampler([1.0, 2.0, 3.0], 6,
                                                                  generator=g)),
    "DataLoader": lambda g: [b.tolist() for b in DataLoader(list(range(8)), batch_size=3,
                                                             shuffle=True, generator=g)],
}


def plain(result):
    return result.tolist() if isinstance(result, ts.Tensor) else result


@pytest.mark.parametrize("name", DRAWS)
def test_a_seeded_generator_repeats_its_draws_and_leaves_the_default_one_alone(name):
    draw = DRAWS[name]
    ts.manual_seed(11)
    expected_default = ts.rand(3).tolist()
    ts.manual_seed(11)
    first = plain(draw(ts.Generator().manual_seed(5)))
    assert ts.rand(3).tolist() == expected_default        # the default stream did not move
    assert plain(draw(ts.Generator().manual_seed(5))) == first
    generator = ts.Generator().manual_seed(6)
    if name not in ("bernoulli_", "init.sparse_"):        # few, coarse values could repeat
        assert plain(draw(generator)) != first or plain(draw(generator)) != first


def test_seeds_state_and_pytorchs_defaults():
    g = ts.Generator()
    assert g.initial_seed() == 67280421310721
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    state = g.get_state()
    a = ts.randn(4, generator=g).tolist()
    g.set_state(state)
    assert ts.randn(4, generator=g).tolist() == a
    seed = g.seed()
    assert g.initial_seed() == seed and 0 <= seed < 2 ** 64
    assert ts.Generator().manual_seed(-1).initial_seed() == 2 ** 64 - 1
    ts.manual_seed(-1)                                    # wraps around, as PyTorch's
    b = ts.randn(2).tolist()
    ts.manual_seed(2 ** 64 - 1)
    assert ts.randn(2).tolist() == b
    with pytest.raises(ValueError, match="set_state: not a state get_state returned"):
        g.set_state({"bit_generator": "nothing"})
    assert g.initial_seed() == seed


def test_a_generator_that_is_not_one_is_refused_before_anything_changes():
    t = ts.full((3,), 7.0)
    with pytest.raises(TypeError, match="generator must be a tinyseq Generator, got int"):
        t.uniform_(generator=3)
    assert t.tolist() == [7.0, 7.0, 7.0]
    with pytest.raises(TypeError, match="generator must be a tinyseq Generator"):
        ts.randn(2, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="seed must be an int"):
        ts.Generator().manual_seed(1.5)


def test_generator_with_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    assert ts.Generator().initial_seed() == torch.Generator().initial_seed()
    assert ts.Generator().manual_seed(-1).initial_seed() == \
        torch.Generator().manual_seed(-1).initial_seed()
