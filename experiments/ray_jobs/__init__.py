"""Everything of experiments/ that imports Ray: the runtime (start or join a cluster), capped task
fan-out, the search children as Ray Tune trials, and NetAdapt proposals as Ray tasks."""
