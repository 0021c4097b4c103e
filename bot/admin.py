"""Admin registrations of the bot app."""
