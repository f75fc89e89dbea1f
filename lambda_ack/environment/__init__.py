"""The edges of Lambda's execution environment: extensions, SIGTERM, Managed Instances workers, the
managed-runtime mode, where an environment came from, error trackers' hook points."""
