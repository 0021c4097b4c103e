"""An example BLACKSKY-MD command pack (see docs/command-packs.md): kept light, the bot imports it on first use."""
