"""Models of the media_cdn app."""
