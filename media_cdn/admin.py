"""Admin registrations of the media_cdn app."""
