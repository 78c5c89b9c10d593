"""NetAdapt: proposals on specs, selection, the resumable shrinking loop and its history."""
