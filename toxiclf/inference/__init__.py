"""Inference: the classifier over a model folder, the ONNX backend, calibration, canaries, preprocessing,
explanations. Imports nothing from training, evaluation or the lab."""
