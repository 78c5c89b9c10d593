"""The LSTM controller: shapes, seeded determinism, probabilities, clipping."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from search.controller import Controller

DECISIONS = [("s1_kernel", 3), ("s1_se", 2), ("s2_width", 4)]


def test_sampling_is_seeded_and_scores_match_evaluation() -> None:
    torch.manual_seed(0)
    ctrl = Controller(DECISIONS, hidden_size=16)
    a = ctrl.sample(6, generator=torch.Generator().manual_seed(5))
    b = ctrl.sample(6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.choices, b.choices) and a.choices.shape == (6, 3)
    assert a.choices.max(0).values.tolist() <= [2, 1, 3]
    scored = ctrl.evaluate(a.choices)
    assert torch.allclose(scored.log_prob, a.log_prob) and torch.allclose(scored.entropy, a.entropy)
    assert scored.log_prob.requires_grad


def test_probabilities_of_all_vectors_sum_to_one_and_entropy_is_bounded() -> None:
    torch.manual_seed(1)
    ctrl = Controller(DECISIONS, hidden_size=8)
    vectors = list(itertools.product(range(3), range(2), range(4)))
    assert sum(ctrl.probability(v) for v in vectors) == pytest.approx(1.0, abs=1e-5)
    entropy = ctrl.evaluate([list(v) for v in vectors]).entropy.detach()
    assert 0 < float(entropy.max()) <= math.log(3) + math.log(2) + math.log(4)


def test_tanh_clipping_bounds_the_logits() -> None:
    ctrl = Controller(DECISIONS, hidden_size=8, temperature=0.01, tanh_clip=1.5)
    with torch.no_grad():
        for head in ctrl.heads:
            head.bias.copy_((torch.arange(head.out_features, dtype=torch.float32) - 1) * 100)
        logits = ctrl.logits(2, torch.zeros(1, 8))
    assert float(logits.max() - logits.min()) == pytest.approx(3.0)
    # the least likely choice keeps e^-1.5 / (e^-1.5 + 3 e^1.5) of the mass at each step
    floor = math.exp(-1.5) / (math.exp(-1.5) + 3 * math.exp(1.5))
    assert ctrl.probability([0, 0, 0]) > floor ** 3


def test_logits_are_divided_by_the_temperature_then_clipped_as_in_enas() -> None:
    ctrl = Controller(DECISIONS, hidden_size=8, temperature=2.0, tanh_clip=2.5)
    hidden = torch.randn(4, 8, generator=torch.Generator().manual_seed(0)) * 10
    raw = ctrl.heads[1](hidden)
    assert torch.allclose(ctrl.logits(1, hidden), 2.5 * torch.tanh(raw / 2.0))
    plain = Controller(DECISIONS, hidden_size=8, temperature=2.0, tanh_clip=None)
    plain.load_state_dict(ctrl.state_dict())
    assert torch.allclose(plain.logits(1, hidden), raw / 2.0)


def test_most_likely_follows_the_heads() -> None:
    ctrl = Controller(DECISIONS, hidden_size=8, tanh_clip=None)
    with torch.no_grad():
        for head, best in zip(ctrl.heads, [2, 1, 3]):
            head.bias.zero_()
            head.bias[best] = 50.0
    assert ctrl.most_likely() == [2, 1, 3]
    assert ctrl.probability([2, 1, 3]) > 0.99


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="positive number of choices"):
        Controller([("s1_kernel", 0)])
    ctrl = Controller(DECISIONS)
    with pytest.raises(ValueError, match="s1_se: choice index out of range 0..1"):
        ctrl.evaluate([[0, 2, 0]])
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        ctrl.evaluate([[0, 1]])
