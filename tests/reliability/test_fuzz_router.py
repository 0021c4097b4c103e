"""Fuzzing the router (``bot.dispatch``) through the in-memory transport.

Each example is a short conversation: arbitrary text (prefixed command names and aliases with
arbitrary arguments, or anything at all), mentions, quoted ids and senders, from owners, members, LID
senders and the bot's own number, in private chats and groups the bot may or may not know, with the
clock moved between messages; and group changes with arbitrary members. Nothing may raise, no
handler may crash (``result.error``), and whatever is sent is a well-formed reply to a real chat.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dispatch import registry
from bot.transport.base import GroupChange, IncomingMessage, Reply
from tests.bot.dispatch_kit import ALICE, ALICE_LID, BOB, BOT, GROUP, OWNER, group_info, make_bot
from tests.reliability.fuzzing import fuzz_settings

pytestmark = pytest.mark.django_db

FUZZ = fuzz_settings(80, deadline_ms=2000)
REPLY_KINDS = {"text", "video", "image", "sticker", "reaction", "delete", "group"}
OTHER_GROUP = "120363000000000777@g.us"  # a group the transport knows nothing about
_sessions = itertools.count(1)


def _command_words() -> list[str]:
    registry.discover()
    return sorted({name for spec in registry.specs() for name in spec.names()})


WORDS = _command_words()
jidish = st.one_of(
    st.sampled_from([ALICE, BOB, OWNER, BOT, ALICE_LID, GROUP, "", "@", "x@g.us", "15550000002"]),
    st.text(max_size=30),
    st.builds(lambda d: f"{d}@s.whatsapp.net", st.text(alphabet="0123456789", max_size=16)),
)
args = st.lists(
    st.one_of(
        st.text(max_size=25),
        st.sampled_from(["on", "off", "@15550000002", '"two words', "'", "999999999999999999999", "-1", "0", "all"]),
        st.builds(lambda d: f"@{d}", st.text(alphabet="0123456789", min_size=1, max_size=16)),
    ),
    max_size=4,
)
_ids = itertools.count(1)


def texts(prefixes: str) -> st.SearchStrategy[str]:
    """Mostly commands with this bot's prefixes (names, aliases, odd casing, arbitrary arguments)."""
    command = st.builds(
        lambda p, w, a, upper: f"{p}{w.upper() if upper else w} {' '.join(a)}".rstrip(),
        _mostly(st.sampled_from(list(prefixes)), st.sampled_from([" .", "..", ". ", "!", ""])),
        _mostly(st.sampled_from(WORDS), st.text(max_size=12)),
        args,
        st.booleans(),
    )
    anything = st.one_of(
        st.text(max_size=120),
        st.sampled_from(["", ".", "https://chat.whatsapp.com/abc", "www.example.com", "." + "a" * 5000]),
    )
    return _mostly(command, anything)


def _mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` eight times in ten (st.one_of would split evenly)."""
    return st.integers(0, 9).flatmap(lambda n: usual if n < 8 else other)


@st.composite
def messages(draw, prefixes: str) -> IncomingMessage:
    who = draw(st.sampled_from(["owner", "owner", "alice", "bob", "lid", "me"]))
    sender, alt = {
        "owner": (OWNER, ""),
        "alice": (ALICE, ""),
        "bob": (BOB, ""),
        "lid": (ALICE_LID, draw(st.sampled_from(["", ALICE, OWNER]))),
        "me": (BOT, ""),
    }[who]
    chat = draw(st.sampled_from([sender, GROUP, GROUP, OTHER_GROUP]))
    return IncomingMessage(
        id=draw(st.one_of(st.builds(lambda: f"FZ{next(_ids)}"), st.sampled_from(["DUP", ""]))),
        chat=chat,
        sender=sender,
        sender_alt=alt,
        text=draw(texts(prefixes)),
        is_group=chat.endswith("@g.us"),
        from_me=who == "me" or draw(st.integers(0, 9)) == 0,
        push_name=draw(st.text(max_size=20)),
        mentions=tuple(draw(st.lists(jidish, max_size=3))),
        quoted_id=draw(st.text(max_size=12)),
        quoted_sender=draw(jidish),
        kind=draw(st.sampled_from(["text", "text", "image", "reaction", "other"])),
    )


@st.composite
def conversations(draw) -> tuple[str, list[tuple[IncomingMessage, float]]]:
    prefix = draw(st.sampled_from([".", ".!", "/#"]))
    said = draw(st.lists(st.tuples(messages(prefix), st.floats(0, 4000)), min_size=1, max_size=6))
    return prefix, said


group_changes = st.builds(
    GroupChange,
    chat=st.sampled_from([GROUP, OTHER_GROUP, "", "nonsense"]),
    actor=jidish,
    joined=st.lists(jidish, max_size=3).map(tuple),
    left=st.lists(jidish, max_size=3).map(tuple),
    promoted=st.lists(jidish, max_size=2).map(tuple),
    demoted=st.lists(jidish, max_size=2).map(tuple),
    name=st.one_of(st.none(), st.text(max_size=30)),
    topic=st.one_of(st.none(), st.text(max_size=30)),
)


def _check_sent(sent: list[Reply]) -> None:
    for reply in sent:
        assert isinstance(reply, Reply) and reply.kind in REPLY_KINDS, reply
        assert reply.chat and isinstance(reply.text, str), reply


def test_any_conversation_through_the_router_is_answered_without_a_crash(settings):
    tally: Counter[str] = Counter()

    @FUZZ
    @given(
        talk=conversations(),
        bot_admin=st.booleans(),
        admins=st.lists(st.sampled_from([ALICE, BOB, ALICE_LID, OWNER]), max_size=2),
    )
    def converse(talk, bot_admin, admins):
        prefix, conversation = talk
        bot = make_bot(settings, prefix=prefix, session_name=f"fuzz{next(_sessions)}", user_per_minute=10)
        bot.add_group(group_info(admins=tuple(admins), bot_admin=bot_admin))
        for message, pause in conversation:
            bot.clock.advance(pause)
            before = len(bot.transport.sent)
            result = bot.router.handle_and_send(message)
            assert not result.error, (message.text, result.reason, result.command)
            _check_sent(bot.transport.sent[before:])
            tally["messages"] += 1
            tally["commands_run"] += bool(result.command)
            tally["replies_sent"] += len(bot.transport.sent) - before
            tally[f"reason_{result.reason or 'ran'}"] += 1

    converse()
    print(f"\nFIGURE fuzz_router {' '.join(f'{k}={v}' for k, v in sorted(tally.items()))}")
    assert tally["commands_run"] > tally["messages"] // 4, "the conversations rarely reached a command"


def test_any_group_change_through_the_router_is_handled_without_a_crash(settings):
    tally: Counter[str] = Counter()

    @FUZZ
    @given(changes=st.lists(group_changes, min_size=1, max_size=4), welcome=st.booleans())
    def change_group(changes, welcome):
        bot = make_bot(settings, session_name=f"fuzzg{next(_sessions)}")
        bot.add_group(group_info())
        bot.router.state.set_group(GROUP, welcome=welcome)
        for change in changes:
            result = bot.change(change)
            assert not result.error, (change, result.reason)
            _check_sent(result.replies)
            tally["changes"] += 1
            tally["replies"] += len(result.replies)

    change_group()
    print(f"\nFIGURE fuzz_group_changes changes={tally['changes']} replies={tally['replies']}")
