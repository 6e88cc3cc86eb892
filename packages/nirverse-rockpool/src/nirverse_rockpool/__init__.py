"""nirverse plugin for rockpool (work in progress)."""
