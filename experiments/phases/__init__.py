"""The pipeline's phases (search, references, seed, NetAdapt, export) and the pipeline that sequences
them. No module here imports Ray: what runs on Ray lives in `experiments.ray_jobs`."""
