"""DistillationTrainer: a Trainer whose loss blends cross-entropy, soft-target KL and hidden-state cosine."""

import torch
from transformers import Trainer
from transformers.modeling_outputs import SequenceClassifierOutput

from toxiclf.training.losses import logit_pair_gap, masked_cosine_loss, soft_target_kl

# What a batch may carry for the loss alone: never passed to the model
_LOSS_COLUMNS = ("labels", "teacher_logits", "kl_share", "row_weight")


class DistillationTrainer(Trainer):
    """Train a student on `w_ce * CE + w_kl * T^2 * KL + w_cos * (1 - cos)` against a frozen teacher.

    `layer_map` pairs student hidden-state layers with teacher ones for the cosine term: `None` aligns only
    the last layer; a tuple of teacher layers (zero-based, one per student layer) aligns every student layer
    with the teacher layer it was copied from.

    Soft labels: a batch that carries `teacher_logits` (stored by toxiclf.training.soft_labels) takes the KL term from
    them instead of a teacher forward pass; `teacher` may then be None unless the cosine term needs hidden states.

    Per-row weights: a batch that carries `kl_share` (one value in [0, 1] per row) gives row i the weights
    `w_kl * kl_share[i]` and `w_ce + w_kl * (1 - kl_share[i])`: a row with share 0 learns only from its label.
    Learning without forgetting (Li & Hoiem, 2017) teaches the old data from an older model and the new data
    from its own labels. A batch that carries `row_weight` scales each row's CE and KL terms by it (the mean over
    the batch stays a plain mean; the cosine term is one per batch and is not scaled): rows of a kind worth more
    than their number count more.

    Counterfactual logit pairing (Garg et al., 2019): with `counterfactual_pairs`
    (toxiclf.training.counterfactual_pairs.CounterfactualPairs) and `alpha_clp` > 0, each training step also scores a
    few pairs of a benign sentence naming a group and its twin naming another, and adds `alpha_clp` times the mean
    absolute gap of their toxic log-odds. The pairs carry no label: only their difference is taught.
    """

    def __init__(
        self, *args, teacher, temperature=2.0, alpha_ce=1 / 3, alpha_kl=1 / 3, alpha_cos=1 / 3, layer_map=None,
        counterfactual_pairs=None, alpha_clp=0.0, **kwargs,
    ):  # fmt: skip
        super().__init__(*args, **kwargs)
        # The teacher is not the Trainer's model: never in the optimizer, never wrapped by DDP.
        self.teacher = teacher.to(self.args.device).eval().requires_grad_(False) if teacher is not None else None
        self.temperature = temperature
        self.alpha_ce, self.alpha_kl, self.alpha_cos = alpha_ce, alpha_kl, alpha_cos
        self.layer_map = layer_map
        if alpha_clp and counterfactual_pairs is None:
            raise ValueError("alpha_clp > 0 needs counterfactual_pairs")
        self.counterfactual_pairs, self.alpha_clp = counterfactual_pairs, alpha_clp
        # Our loss is a mean per batch and ignores num_items_in_batch; without this flag the Trainer would
        # rescale it under gradient accumulation as if it were a sum.
        self.model_accepts_loss_kwargs = False
        self._term_sums, self._term_steps = {}, 0

    def _hidden_pairs(self, student_hidden, teacher_hidden):
        if self.layer_map is None:
            return [(student_hidden[-1], teacher_hidden[-1])]
        # hidden_states[0] is the embedding output, so encoder layer i is at index i + 1.
        return [(student_hidden[i + 1], teacher_hidden[t + 1]) for i, t in enumerate(self.layer_map)]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        features = {k: v for k, v in inputs.items() if k not in _LOSS_COLUMNS}
        student = model(**features, output_hidden_states=True)
        ce = torch.nn.functional.cross_entropy(student.logits.float(), inputs["labels"], reduction="none")
        if model.training:
            kl, cos = self._teacher_terms(features, student, inputs.get("teacher_logits"))
            kl_share = inputs["kl_share"].float() if "kl_share" in inputs else torch.ones_like(ce)
            kl_weight = self.alpha_kl * kl_share
            ce_weight = self.alpha_ce + self.alpha_kl - kl_weight
            row_loss = ce_weight * ce + kl_weight * kl
            if "row_weight" in inputs:
                row_loss = inputs["row_weight"].float() * row_loss
            loss = row_loss.mean() + self.alpha_cos * cos
            terms = {"ce": ce.mean(), "kl": kl.mean(), "cos": cos}
            if self.alpha_clp:
                terms["clp"] = self._pair_gap(model)
                loss = loss + self.alpha_clp * terms["clp"]
            self._remember_terms(**terms)
        else:
            loss = ce.mean()  # evaluation reports plain CE, comparable across methods
        # Only the logits go back: hidden states would be gathered as predictions during evaluation.
        outputs = SequenceClassifierOutput(loss=loss, logits=student.logits)
        return (loss, outputs) if return_outputs else loss

    def _pair_gap(self, model):
        """The logit-pairing term on the next batch of counterfactual pairs (texts first, then their twins)."""
        pairs = self.counterfactual_pairs.next_batch(self.args.device)
        logits = model(**pairs).logits
        half = logits.shape[0] // 2
        return logit_pair_gap(logits[:half], logits[half:])

    def _teacher_terms(self, features, student, stored_logits=None):
        """(KL to the teacher's softened logits per row, mean hidden-state cosine loss)."""
        zero = torch.zeros((), device=student.logits.device)
        zeros = torch.zeros(student.logits.shape[0], device=student.logits.device)
        needs_live_teacher = self.alpha_cos or (self.alpha_kl and stored_logits is None)
        if not needs_live_teacher:  # the CE-only ablation and soft-label KL runs never run the teacher
            return self._kl(student.logits, stored_logits, zeros), zero
        with torch.no_grad():
            teacher = self.teacher(**features, output_hidden_states=True)
        reference = stored_logits if stored_logits is not None else teacher.logits
        kl = self._kl(student.logits, reference, zeros)
        if not self.alpha_cos:
            return kl, zero
        pairs = self._hidden_pairs(student.hidden_states, teacher.hidden_states)
        cos = sum(masked_cosine_loss(s, t, features["attention_mask"]) for s, t in pairs) / len(pairs)
        return kl, cos

    def _kl(self, student, teacher, zeros):
        """Per-row KL term (zeros when it carries no weight)."""
        return soft_target_kl(student, teacher, self.temperature, per_row=True) if self.alpha_kl else zeros

    def _remember_terms(self, **terms):
        for name, value in terms.items():
            # Kept as tensors: an .item() here would synchronise the GPU on every step.
            self._term_sums[name] = self._term_sums.get(name, 0.0) + value.detach().float()
        self._term_steps += 1

    def log(self, logs, *args, **kwargs):
        """Add the mean of each loss term since the last training log."""
        if "loss" in logs and self._term_steps:
            logs.update({f"loss_{k}": round(v.item() / self._term_steps, 4) for k, v in self._term_sums.items()})
            self._term_sums, self._term_steps = {}, 0
        super().log(logs, *args, **kwargs)
