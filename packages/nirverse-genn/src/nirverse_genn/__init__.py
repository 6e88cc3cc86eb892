"""nirverse plugin for genn (work in progress)."""
