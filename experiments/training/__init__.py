"""Training: the plain PyTorch loop (`loop`), training one whole architecture (`arch`), fine-tuning a
narrowed NetAdapt proposal (`finetune`), and `load_trained`, the one way a trained model is loaded."""
