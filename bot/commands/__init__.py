"""Command modules, one per category; each is imported on first use (see bot.dispatch.registry).

Modules whose names start with ``_`` hold shared data and helpers, not commands.
"""
