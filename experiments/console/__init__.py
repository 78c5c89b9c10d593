"""What a person sees while a run works, and what is kept of it: `capture` (every output of the process
into the run's logs/, on the terminal only with --verbose), `monitor` (the console: phase headers,
progress bars with ETA, one line per child and per NetAdapt proposal), `lines` (their text),
`scalars` (TensorBoard scalars in tb/) and `netadapt_progress` (NetAdapt's lines from its state)."""
