"""The run directory: every run-relative path as a named constant (`layout`), the one run-directory
class (`run_dir`), the manifest, and the run's configured latency source."""
