"""Pure loss functions for distillation, and the knowledge adjustment of stored teacher logits they learn from."""

import numpy as np
import torch
import torch.nn.functional as F


def soft_target_kl(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float, per_row: bool = False
) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)), averaged over the batch (or one value per row).

    The T^2 factor keeps the gradient scale of the soft targets independent of T (Hinton et al., 2015).
    """
    student_log_probs = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher_log_probs = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    if per_row:
        kl = F.kl_div(student_log_probs, teacher_log_probs, reduction="none", log_target=True).sum(dim=-1)
    else:
        kl = F.kl_div(student_log_probs, teacher_log_probs, reduction="batchmean", log_target=True)
    return kl * temperature**2


def masked_cosine_loss(
    student_hidden: torch.Tensor, teacher_hidden: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Mean of 1 - cos(student, teacher) over the real (non-padding) tokens of the batch."""
    cosine = F.cosine_similarity(student_hidden.float(), teacher_hidden.float(), dim=-1)
    mask = attention_mask.to(cosine.dtype)
    return ((1.0 - cosine) * mask).sum() / mask.sum().clamp(min=1.0)


def adjust_to_labels(logits: np.ndarray, labels, rows: range) -> tuple[np.ndarray, int]:
    """(logits, how many were changed): knowledge adjustment (Wen et al., 2019), where a row in `rows` has a teacher
    whose larger logit is not its label, the two logits swap: the student learns the teacher's confidence and the
    similarity it saw, on the right side. A teacher that reads a new template wrongly then no longer teaches the
    mistake through the KL term while cross-entropy teaches the opposite."""
    logits = np.array(logits, copy=True)
    chosen = slice(rows.start, rows.stop)
    wrong = np.zeros(len(logits), dtype=bool)
    wrong[chosen] = logits[chosen].argmax(axis=1) != np.asarray(labels)[chosen]
    logits[wrong] = logits[wrong][:, ::-1]
    return logits, int(wrong.sum())


def logit_pair_gap(logits: torch.Tensor, twin_logits: torch.Tensor) -> torch.Tensor:
    """Counterfactual logit pairing (Garg et al., 2019): the mean absolute difference of the toxic log-odds
    (logit 1 - logit 0) of each text and its counterfactual twin. Zero when the model scores every pair alike."""
    log_odds = logits[:, 1].float() - logits[:, 0].float()
    twin_log_odds = twin_logits[:, 1].float() - twin_logits[:, 0].float()
    return (log_odds - twin_log_odds).abs().mean()
