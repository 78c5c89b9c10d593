"""NetAdapt: proposals on specs priced on a width grid, selection against a control, the resumable
shrinking loop over typed state records, and its history."""
