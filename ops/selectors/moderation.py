"""The moderation figures of one session for /stats; imported by the web dyno.

Counted from the ``ModerationLog`` rows the bot child writes when it acts (one row per action, a
flood's later deletes added to its row as ``messages``), over the last 24 hours, from the
(session, at) index: how many actions of each kind, which rules fired, in how many groups.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Sum

from bot.models import ModerationLog, ModerationRule


def moderation_figures(*, session_name: str, now: datetime) -> dict:
    rows = ModerationLog.objects.filter(session_name=session_name, at__gte=now - timedelta(hours=24))
    by_action = dict(rows.order_by().values("action").annotate(n=Count("id")).values_list("action", "n"))
    by_rule = dict(rows.order_by().values("rule").annotate(n=Count("id")).values_list("rule", "n"))
    totals = rows.aggregate(actions=Count("id"), messages=Sum("messages"), groups=Count("chat", distinct=True))
    return {
        "last_24h": {
            "actions": totals["actions"],
            "messages": totals["messages"] or 0,  # messages those actions covered (a flood's deletes)
            "groups": totals["groups"],
            "by_action": {action: by_action.get(action, 0) for action in ModerationRule.Action.values},
            "by_rule": {rule: by_rule.get(rule, 0) for rule in (*ModerationRule.Rule.values, "manual")},
        },
        "groups_with_rules_on": ModerationRule.objects.filter(session_name=session_name, enabled=True)
        .values("chat")
        .distinct()
        .count(),
    }
