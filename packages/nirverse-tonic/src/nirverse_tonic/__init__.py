"""nirverse plugin for tonic (work in progress)."""
