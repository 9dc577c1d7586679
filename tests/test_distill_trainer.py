import math

import pytest
import torch
import torch.nn.functional as F
from conftest import make_tiny_bert
from transformers import TrainingArguments

from toxiclf.training.distill_trainer import DistillationTrainer
from toxiclf.training.models import TEACHER_LAYERS, build_student


@pytest.fixture
def batch(tokenizer):
    encoded = tokenizer(["you idiot", "thanks for the citation please", "the page"], padding=True, return_tensors="pt")
    return {**encoded, "labels": torch.tensor([1, 0, 0])}


def make_trainer(tmp_path, student, teacher, **kwargs):
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True, learning_rate=1e-2,
                             per_device_train_batch_size=3, max_steps=1)  # fmt: skip
    return DistillationTrainer(model=student, args=args, teacher=teacher, **kwargs)


def hand_loss(student, teacher, batch, t, weights, pairs):
    features = {k: v for k, v in batch.items() if k != "labels"}
    s, te = student(**features, output_hidden_states=True), teacher(**features, output_hidden_states=True)
    ce = F.cross_entropy(s.logits, batch["labels"])
    p, log_q = F.softmax(te.logits / t, -1), F.log_softmax(s.logits / t, -1)
    kl = (p * (p.log() - log_q)).sum(-1).mean() * t * t
    mask = batch["attention_mask"].bool()
    cos = sum((1 - F.cosine_similarity(s.hidden_states[i], te.hidden_states[j], dim=-1))[mask].mean()
              for i, j in pairs) / len(pairs)  # fmt: skip
    return weights[0] * ce + weights[1] * kl + weights[2] * cos


@pytest.mark.parametrize("align", [False, True])
def test_compute_loss_equals_hand_computation(tmp_path, tiny_teacher, batch, align):
    student = build_student(tiny_teacher, "even")
    with torch.no_grad():  # make the student disagree with the teacher so that every term is non-zero
        for p in student.parameters():
            p.add_(0.05 * torch.randn_like(p))
    student.train()  # compute_loss blends the terms in training mode only
    torch.manual_seed(0)
    for module in student.modules():  # dropout off, so that both forwards see the same network
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    weights = (0.2, 0.5, 0.3)
    layer_map = TEACHER_LAYERS["even"] if align else None
    trainer = make_trainer(tmp_path, student, tiny_teacher, temperature=3.0, alpha_ce=weights[0],
                           alpha_kl=weights[1], alpha_cos=weights[2], layer_map=layer_map)  # fmt: skip
    loss = trainer.compute_loss(student, dict(batch))
    pairs = [(i + 1, t + 1) for i, t in enumerate(layer_map)] if align else [(-1, -1)]
    with torch.no_grad():
        expected = hand_loss(student, tiny_teacher.eval(), batch, 3.0, weights, pairs)
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-5)


def test_kl_and_cosine_terms_vanish_when_student_is_the_teacher(tmp_path, batch):
    teacher = make_tiny_bert(num_layers=6)
    student = make_tiny_bert(num_layers=6).train()
    for module in student.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    trainer = make_trainer(tmp_path, student, teacher, alpha_ce=0.0, alpha_kl=0.5, alpha_cos=0.5)
    assert abs(trainer.compute_loss(student, dict(batch)).item()) < 1e-6


def test_evaluation_loss_is_plain_cross_entropy(tmp_path, tiny_teacher, batch):
    student = build_student(tiny_teacher, "odd").eval()
    trainer = make_trainer(tmp_path, student, tiny_teacher)
    loss, outputs = trainer.compute_loss(student, dict(batch), return_outputs=True)
    assert math.isclose(loss.item(), F.cross_entropy(outputs.logits, batch["labels"]).item(), rel_tol=1e-6)
    assert set(outputs.keys()) == {"loss", "logits"}  # no hidden states gathered as predictions


def test_training_step_updates_student_but_never_the_teacher(tmp_path, tiny_teacher, batch):
    teacher_before = {k: v.clone() for k, v in tiny_teacher.state_dict().items()}
    student = build_student(tiny_teacher, "odd")
    student_before = {k: v.clone() for k, v in student.state_dict().items()}
    trainer = make_trainer(tmp_path, student, tiny_teacher)
    trainer.create_optimizer_and_scheduler(num_training_steps=1)
    optimized = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in tiny_teacher.parameters()}

    trainer.current_gradient_accumulation_steps = 1  # set by train(); this test calls one step directly
    loss = trainer.training_step(student, dict(batch))
    assert loss.item() > 0
    assert all(p.grad is None for p in tiny_teacher.parameters())
    trainer.optimizer.step()
    assert all(torch.equal(v, teacher_before[k]) for k, v in tiny_teacher.state_dict().items())
    assert not tiny_teacher.training
    changed = [k for k, v in student.state_dict().items() if not torch.equal(v, student_before[k])]
    assert changed


def test_each_loss_term_is_logged(tmp_path, tiny_teacher, batch):
    student = build_student(tiny_teacher, "odd").train()
    trainer = make_trainer(tmp_path, student, tiny_teacher)
    trainer.compute_loss(student, dict(batch))
    logged = {"loss": 1.0}
    trainer.log(logged)
    assert {"loss_ce", "loss_kl", "loss_cos"} <= logged.keys()
    assert logged["loss_kl"] >= 0 and logged["loss_cos"] >= 0


def test_ce_only_ablation_never_runs_the_teacher(tmp_path, tiny_teacher, batch):
    student = build_student(tiny_teacher, "odd").train()
    for module in student.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    trainer = make_trainer(tmp_path, student, tiny_teacher, alpha_ce=1.0, alpha_kl=0.0, alpha_cos=0.0)
    trainer.teacher.forward = None  # any call would fail
    loss = trainer.compute_loss(student, dict(batch))
    features = {k: v for k, v in batch.items() if k != "labels"}
    expected = F.cross_entropy(student(**features).logits, batch["labels"])
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-6)


def _without_dropout(model):
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model.train()


def test_kl_share_moves_each_rows_kl_weight_to_its_label(tmp_path, tiny_teacher, batch):
    """Row i: (w_ce + w_kl * (1 - share_i)) * CE_i + w_kl * share_i * KL_i, averaged over the rows."""
    student = _without_dropout(build_student(tiny_teacher, "odd"))
    with torch.no_grad():
        for p in student.parameters():
            p.add_(0.05 * torch.randn_like(p))
    stored = torch.tensor([[2.0, -1.0], [-0.5, 0.5], [1.0, 1.5]])
    share = torch.tensor([1.0, 0.0, 0.25])
    trainer = make_trainer(tmp_path, student, None, temperature=2.0, alpha_ce=0.4, alpha_kl=0.6, alpha_cos=0.0)
    loss = trainer.compute_loss(student, {**batch, "teacher_logits": stored, "kl_share": share})
    with torch.no_grad():
        features = {k: v for k, v in batch.items() if k != "labels"}
        logits = student(**features).logits
        ce = F.cross_entropy(logits, batch["labels"], reduction="none")
        p, log_q = F.softmax(stored / 2, -1), F.log_softmax(logits / 2, -1)
        kl = (p * (p.log() - log_q)).sum(-1) * 4
    expected = [(0.4 + 0.6 * (1 - s)) * c + 0.6 * s * k for s, c, k in zip(share, ce, kl, strict=True)]
    assert math.isclose(loss.item(), (sum(expected) / 3).item(), rel_tol=1e-5)
    # a share of 1 everywhere is the plain blend, and a share of 0 is plain CE with the KL weight added to it
    ones = trainer.compute_loss(student, {**batch, "teacher_logits": stored, "kl_share": torch.ones(3)})
    plain = trainer.compute_loss(student, {**batch, "teacher_logits": stored})
    assert math.isclose(ones.item(), plain.item(), rel_tol=1e-6)
    zeros = trainer.compute_loss(student, {**batch, "teacher_logits": stored, "kl_share": torch.zeros(3)})
    assert math.isclose(zeros.item(), ce.mean().item(), rel_tol=1e-5)


def test_kl_share_is_not_passed_to_the_model_and_evaluation_ignores_it(tmp_path, tiny_teacher, batch):
    student = build_student(tiny_teacher, "odd").eval()
    trainer = make_trainer(tmp_path, student, None, alpha_ce=0.5, alpha_kl=0.5, alpha_cos=0.0)
    loss, outputs = trainer.compute_loss(student, {**batch, "kl_share": torch.zeros(3)}, return_outputs=True)
    assert math.isclose(loss.item(), F.cross_entropy(outputs.logits, batch["labels"]).item(), rel_tol=1e-6)


def test_row_weight_scales_each_rows_loss(tmp_path, tiny_teacher, batch):
    student = _without_dropout(build_student(tiny_teacher, "odd"))
    stored = torch.tensor([[2.0, -1.0], [-0.5, 0.5], [1.0, 1.5]])
    trainer = make_trainer(tmp_path, student, None, temperature=2.0, alpha_ce=0.5, alpha_kl=0.5, alpha_cos=0.0)
    inputs = {**batch, "teacher_logits": stored}
    rows = []
    for row in range(3):  # each row's loss alone (the mean over one row)
        single = {k: v[row : row + 1] for k, v in inputs.items()}
        rows.append(trainer.compute_loss(student, single).item())
    weighted = trainer.compute_loss(student, {**inputs, "row_weight": torch.tensor([1.0, 2.0, 0.5])})
    assert math.isclose(weighted.item(), (rows[0] + 2 * rows[1] + 0.5 * rows[2]) / 3, rel_tol=1e-5)
