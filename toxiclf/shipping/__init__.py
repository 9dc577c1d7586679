"""Shipping: a checkpoint becomes a verified model folder, with its model card."""
