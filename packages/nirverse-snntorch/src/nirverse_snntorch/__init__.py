"""nirverse plugin for snntorch (work in progress)."""
