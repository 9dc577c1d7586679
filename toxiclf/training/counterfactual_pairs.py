"""Batches of counterfactual pairs for the logit-pairing term of DistillationTrainer.

The pairs are not training rows: they ride beside each training batch, a few per step, so that the pairing term
sees every pair about once per pass whatever the batch size. Each batch is the pairs' first halves followed by
their twins, padded together; the trainer splits the logits in two.
"""

import numpy as np
import torch


class CounterfactualPairs:
    """Tokenized (text, twin) pairs, served `per_step` at a time in a seeded order that reshuffles each pass."""

    def __init__(self, pairs: list[tuple[str, str]], tokenizer, per_step: int, max_length: int, seed: int):
        if not pairs:
            raise ValueError("no counterfactual pairs: the training comments name no swappable group")
        if per_step < 1:
            raise ValueError(f"pairs per step must be at least 1, got {per_step}")
        firsts = tokenizer([a for a, _ in pairs], truncation=True, max_length=max_length)
        twins = tokenizer([b for _, b in pairs], truncation=True, max_length=max_length)
        self._encoded = [(firsts["input_ids"][i], twins["input_ids"][i]) for i in range(len(pairs))]
        self._tokenizer, self.per_step = tokenizer, per_step
        self._rng = np.random.default_rng(seed)
        self._order, self._next = self._rng.permutation(len(pairs)), 0

    def __len__(self) -> int:
        return len(self._encoded)

    def next_batch(self, device) -> dict[str, torch.Tensor]:
        """The next `per_step` pairs as one padded batch: rows [0, n) the texts, rows [n, 2n) their twins."""
        chosen = []
        while len(chosen) < self.per_step:
            if self._next == len(self._order):
                self._order, self._next = self._rng.permutation(len(self._encoded)), 0
            chosen.append(self._encoded[self._order[self._next]])
            self._next += 1
        rows = [{"input_ids": ids} for ids, _ in chosen] + [{"input_ids": ids} for _, ids in chosen]
        batch = self._tokenizer.pad(rows, return_tensors="pt")
        return {name: tensor.to(device) for name, tensor in batch.items()}
