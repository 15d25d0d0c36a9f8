"""The web app (being built)."""
