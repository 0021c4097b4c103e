"""Models of the sessions_store app."""
