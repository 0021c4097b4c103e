"""The WhatsApp transport over neonize: the only package of the project that imports neonize.

``client`` runs the neonize client, ``translate`` turns its protobuf events into the seam's
dataclasses, ``media`` builds and uploads media messages. Imported only in the bot child.
"""
