"""nirverse plugin for jaxsnn (work in progress)."""
