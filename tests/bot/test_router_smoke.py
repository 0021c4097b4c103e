"""The first end-to-end proof: `.ping` through the real router and registry answers pong."""

from __future__ import annotations

import pytest

from bot.dispatch import build_router
from bot.transport.base import IncomingMessage
from tests.support.memory_transport import MemoryTransport

pytestmark = pytest.mark.django_db


def test_it_answers_ping_with_pong_through_the_project_registry():
    transport = MemoryTransport()
    router = build_router(transport=transport, session_name="smoke")
    result = router.handle(
        IncomingMessage(id="M1", chat="15550001111@s.whatsapp.net", sender="15550001111@s.whatsapp.net", text=".ping")
    )
    assert result.command == "ping"
    assert not result.error
    assert result.replies[0].text.startswith("pong")
    assert result.replies[0].reply_to == "M1"
