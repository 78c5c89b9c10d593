"""The RNN controller of the block search (MnasNet / ENAS style).

An LSTM cell takes one step per decision. Step i reads the embedding of the choice made at step
i - 1 (a learned start vector at step 0), and a softmax head of its own turns the hidden state into
logits over decision i's choices. As in ENAS's controller (Pham et al. 2018, which MnasNet's
follows), the head's output z is divided by the temperature T and then, optionally, clipped:

    logits = c * tanh(z / T)    (tanh_clip c; with c None: logits = z / T)

so logits lie in (-c, c), which bounds how sure the controller can get and keeps it exploring.
The controller sees only `(name, n_choices)` per decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Rollout:
    """Choices (batch, n_decisions) with their log-probabilities and entropies (batch,)."""

    choices: torch.Tensor
    log_prob: torch.Tensor
    entropy: torch.Tensor


HIDDEN_SIZE = 32
TEMPERATURE = 1.0
TANH_CLIP = 3.0  # ENAS logit clipping


class Controller(nn.Module):
    """LSTM policy over a sequence of categorical decisions; `seed` fixes the initial weights.

    `hidden_size` is the LSTM width, `embedding_size` the width of the choice embeddings fed back
    (default: hidden_size).
    """

    def __init__(self, decisions: Sequence[tuple[str, int]], hidden_size: int = HIDDEN_SIZE, embedding_size: int | None = None,
                 temperature: float = TEMPERATURE, tanh_clip: float | None = TANH_CLIP, seed: int = 0) -> None:
        super().__init__()
        if not decisions:
            raise ValueError("a controller needs at least one decision (name, n_choices)")
        bad = [(name, n) for name, n in decisions if not isinstance(n, int) or n < 1]
        if bad:
            raise ValueError(f"decisions need a positive number of choices; got {bad}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if tanh_clip is not None and not tanh_clip > 0:
            raise ValueError(f"tanh_clip must be positive or None (no clipping), got {tanh_clip!r}")
        self.names = tuple(name for name, _ in decisions)
        self.sizes = tuple(n for _, n in decisions)
        self.hidden_size = hidden_size
        embedding = embedding_size or hidden_size
        self.temperature = temperature
        self.tanh_clip = tanh_clip
        self.start = nn.Parameter(torch.zeros(1, embedding))
        self.cell = nn.LSTMCell(embedding, hidden_size)
        self.embeddings = nn.ModuleList(nn.Embedding(n, embedding) for n in self.sizes)
        self.heads = nn.ModuleList(nn.Linear(hidden_size, n) for n in self.sizes)
        widest = max(self.sizes)
        self._sizes = torch.tensor(self.sizes)
        # (steps, widest): True where a decision has fewer choices than the widest (padding, see _score)
        self._padding = torch.arange(widest).unsqueeze(0) >= self._sizes.unsqueeze(1) if widest > min(self.sizes) else None
        init = torch.Generator().manual_seed(seed)
        for param in self.parameters():
            nn.init.uniform_(param, -0.1, 0.1, generator=init)

    def logits(self, step: int, hidden: torch.Tensor) -> torch.Tensor:
        return self._clip(self.heads[step](hidden))

    def _clip(self, z: torch.Tensor) -> torch.Tensor:
        """Head outputs -> logits: divided by the temperature, then c * tanh (see the module doc)."""
        z = z / self.temperature
        return z if self.tanh_clip is None else self.tanh_clip * torch.tanh(z)

    def forward(self, batch_size: int = 1, choices: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> Rollout:
        """Sample `batch_size` choice vectors, or score the given `choices` (teacher forcing)."""
        if choices is not None:
            return self._score(torch.as_tensor(choices, dtype=torch.long))
        inputs = self.start.expand(batch_size, -1)
        state = None
        picked, log_probs, entropies = [], [], []
        for step in range(len(self.sizes)):
            state = self.cell(inputs, state)
            log_p = torch.log_softmax(self.logits(step, state[0]), dim=1)
            p = log_p.exp()
            pick = torch.multinomial(p.detach(), 1, generator=generator).squeeze(1)
            picked.append(pick)
            log_probs.append(log_p.gather(1, pick.unsqueeze(1)).squeeze(1))
            entropies.append(-(p * log_p).sum(1))
            inputs = self.embeddings[step](pick)
        return Rollout(torch.stack(picked, 1), torch.stack(log_probs, 1).sum(1), torch.stack(entropies, 1).sum(1))

    def _score(self, choices: torch.Tensor) -> Rollout:
        """Teacher forcing: the LSTM inputs are the given choices, so the LSTM runs over the whole sequence in
        one call (`torch.lstm` with the cell's weights) and then every decision's head at once (one batched
        matmul over heads padded to the largest choice count; the padding gets a logit of -1e9, i.e.
        probability 0). The same numbers as sampling up to float rounding (the sequence LSTM computes the
        input projections of all steps in one matmul), in fewer ops: the policy update's forward and backward."""
        if choices.dim() != 2 or choices.shape[1] != len(self.sizes):
            raise ValueError(f"choices must have shape (batch, {len(self.sizes)}), got {tuple(choices.shape)}")
        bad = ((choices < 0) | (choices >= self._sizes)).any(0)
        if bad.any():
            step = int(bad.nonzero()[0])
            raise ValueError(f"{self.names[step]}: choice index out of range 0..{self.sizes[step] - 1}")
        batch = choices.shape[0]
        inputs = torch.stack([self.start.expand(batch, -1),
                              *(self.embeddings[step](choices[:, step]) for step in range(len(self.sizes) - 1))])
        zeros = inputs.new_zeros(1, batch, self.hidden_size)
        cell = self.cell
        hidden, _, _ = torch.lstm(inputs, (zeros, zeros), (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh),
                                  True, 1, 0.0, False, False, False)  # biases, 1 layer, no dropout, uni, seq-first
        widest = max(self.sizes)
        pad = nn.functional.pad
        weight = torch.stack([pad(h.weight, (0, 0, 0, widest - n)) for h, n in zip(self.heads, self.sizes)])
        bias = torch.stack([pad(h.bias, (0, widest - n)) for h, n in zip(self.heads, self.sizes)])
        z = self._clip(torch.baddbmm(bias.unsqueeze(1), hidden, weight.transpose(1, 2)))
        if self._padding is not None:
            z = z.masked_fill(self._padding.unsqueeze(1), -1e9)
        log_p = torch.log_softmax(z, dim=2)  # (steps, batch, widest)
        log_prob = log_p.gather(2, choices.t().unsqueeze(2)).squeeze(2).sum(0)
        entropy = -(log_p.exp() * log_p).sum(2).sum(0)
        return Rollout(choices, log_prob, entropy)

    def sample(self, batch_size: int = 1, generator: torch.Generator | None = None) -> Rollout:
        return self(batch_size, generator=generator)

    def evaluate(self, choices: torch.Tensor | Sequence[Sequence[int]]) -> Rollout:
        """Log-probability and entropy of given choice vectors (differentiable; for PPO)."""
        return self(choices=torch.as_tensor(choices, dtype=torch.long))

    @torch.no_grad()
    def probability(self, choices: Sequence[int]) -> float:
        """Probability that one sample is exactly `choices`."""
        return float(self.evaluate([list(choices)]).log_prob.exp()[0])

    @torch.no_grad()
    def most_likely(self) -> list[int]:
        """Greedy decode: the most probable choice at each step given the previous ones."""
        inputs, state, picks = self.start, None, []
        for step in range(len(self.sizes)):
            state = self.cell(inputs, state)
            pick = self.logits(step, state[0]).argmax(1)
            picks.append(int(pick))
            inputs = self.embeddings[step](pick)
        return picks
