"""A handler module that cannot be imported: init fails on every cold start."""

raise RuntimeError("broken at import")
