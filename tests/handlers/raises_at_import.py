raise LookupError("no config at import")
