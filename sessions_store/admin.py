"""Admin registrations of the sessions_store app."""
