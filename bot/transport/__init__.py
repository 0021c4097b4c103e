"""Transports: the seam between the bot and WhatsApp (see base.py)."""
