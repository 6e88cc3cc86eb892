"""nirverse plugin for brian2 (work in progress)."""
