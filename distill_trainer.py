"""The seed's name for the trainer, kept where users expect it: `from distill_trainer import DistillationTrainer`."""

from toxiclf.training.distill_trainer import DistillationTrainer

__all__ = ["DistillationTrainer"]
