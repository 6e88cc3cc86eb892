"""nirverse plugin for norse (work in progress)."""
