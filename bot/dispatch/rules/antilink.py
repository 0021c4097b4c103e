"""Antilink: a link whose domain is not on the group's allow-list (an allowed domain covers its subdomains)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.dispatch.parsing import iter_links

MAX_LINKS = 50  # links looked at in one message: the first unallowed one is enough


def link_domain(link: str) -> str:
    """'https://M.YouTube.com/watch?v=1' -> 'm.youtube.com'; 'wa.me/1555' -> 'wa.me'."""
    text = link.lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    for stop in "/?#:":
        text = text.split(stop, 1)[0]
    return text.removeprefix("www.").rstrip(".")


def domain_allowed(domain: str, allow: Iterable[str]) -> bool:
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in allow)


def link_hit(text: str, allow: frozenset[str]) -> str:
    """The first link in ``text`` whose domain is not allowed ('' when there is none)."""
    for n, link in enumerate(iter_links(text)):
        if n >= MAX_LINKS:
            break
        if not domain_allowed(link_domain(link), allow):
            return link
    return ""
