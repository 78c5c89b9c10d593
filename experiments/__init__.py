"""The composition root: CLI, configs, datasets, training, Ray runners and reports."""
