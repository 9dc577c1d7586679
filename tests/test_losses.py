import math

import torch

from toxiclf.training.losses import masked_cosine_loss, soft_target_kl


def test_kl_is_zero_when_student_matches_teacher():
    logits = torch.tensor([[2.0, -1.0], [0.3, 0.7]])
    assert soft_target_kl(logits, logits.clone(), temperature=2.0).item() == 0.0


def test_kl_equals_hand_computation():
    student = torch.tensor([[1.0, 0.0]])
    teacher = torch.tensor([[0.0, 2.0]])
    t = 2.0
    p = torch.softmax(teacher / t, -1)[0].tolist()  # teacher soft targets
    q = torch.softmax(student / t, -1)[0].tolist()
    expected = t**2 * sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    assert math.isclose(soft_target_kl(student, teacher, t).item(), expected, rel_tol=1e-5)


def test_kl_is_averaged_over_the_batch():
    student = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    teacher = torch.tensor([[0.0, 2.0], [1.0, 0.0]])  # the second row contributes zero
    one = soft_target_kl(student[:1], teacher[:1], 2.0)
    assert math.isclose(soft_target_kl(student, teacher, 2.0).item(), one.item() / 2, rel_tol=1e-6)


def test_cosine_loss_is_zero_for_identical_states():
    hidden = torch.randn(2, 5, 8)
    mask = torch.ones(2, 5)
    assert abs(masked_cosine_loss(hidden, hidden.clone(), mask).item()) < 1e-6


def test_cosine_loss_ignores_padding_and_matches_hand_computation():
    student = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [5.0, 5.0]]])
    teacher = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-5.0, 5.0]]])
    mask = torch.tensor([[1, 1, 0]])  # the third token is padding: its cos of 0 must not count
    # token 1: cos 1 -> 0 ; token 2: cos 0 -> 1 ; mean over the two real tokens = 0.5
    assert math.isclose(masked_cosine_loss(student, teacher, mask).item(), 0.5, rel_tol=1e-6)


def test_per_row_kl_averages_to_the_batch_kl():
    student = torch.tensor([[1.0, 0.0], [0.2, 0.1], [-1.0, 2.0]])
    teacher = torch.tensor([[0.0, 2.0], [1.0, 0.0], [-1.0, 2.0]])
    rows = soft_target_kl(student, teacher, 2.0, per_row=True)
    assert rows.shape == (3,)
    assert rows[2].item() == 0.0  # the third student matches its teacher
    assert math.isclose(rows.mean().item(), soft_target_kl(student, teacher, 2.0).item(), rel_tol=1e-6)
