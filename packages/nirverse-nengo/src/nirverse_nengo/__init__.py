"""nirverse plugin for nengo (work in progress)."""
