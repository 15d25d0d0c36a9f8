"""Use cases: each opens what it needs, calls the core, and owns the transaction."""
