"""Training: the DistillationTrainer and its losses, model building, the teacher's conversion, soft labels."""
