"""pytest plugin: registered now, filled by the conformance kit."""
