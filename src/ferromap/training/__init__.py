"""Training: preprocessing, augmentation, magnitude filtering, training loop, evaluation."""
