"""Block-wise search: search space, LSTM controller, policy gradient, rewards, Ray Tune searcher adapter."""
