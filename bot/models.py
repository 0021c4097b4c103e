"""Models of the bot app."""
