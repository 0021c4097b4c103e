"""The bot child (``runbot --child``): the one process that runs beside neonize.

It connects the transport, feeds connection signals to the state machine, dispatches messages
(``bot.dispatch``), beats to its supervisor over a pipe and guards its own memory.
"""
