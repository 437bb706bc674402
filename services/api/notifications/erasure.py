"""What erasing a worker profile means for the notices about them.

A notice carries no name, ID number or phone, but it does carry the person's profile (trades, skills, home
county, age band, expected wage …), copied when it was recorded: in the inbox row, in each webhook body, in
digests that folded it in. Erasure (worker_profiles.service.erase_worker, in its transaction) strips those
copies down to what stays true and says nothing about the person: that a now-erased profile matched this job.
Pushes not yet made are cancelled; a retry later sends only the stripped body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.api.notifications import repository
from services.api.notifications.delivery import notification_body
from services.api.notifications.service import MATCH_EVENT, SUBSCRIPTION_EVENT

ERASED_REASON = "person erased"

# Kept from a notice about an erased person: the job side and the references, nothing of the profile
# (match.created's `worker`, score, reasons and distance; a workers subscription's profile summary).
_KEPT = ("direction", "job", "job_id", "kind", "subscription_ids", "worker_id")
# The notices that copy the profile. Others about the person (a placement reminder: which placement, when)
# carry none of it and stay as they are: the broker still has to act on them.
_CARRY_PROFILE = frozenset({MATCH_EVENT, SUBSCRIPTION_EVENT})


def strip_person(payload: Mapping[str, Any], worker_id: UUID) -> dict[str, Any]:
    """The notice's payload with nothing of the erased person but their (tombstone) id."""
    stripped = {key: payload[key] for key in _KEPT if key in payload}
    stripped["worker"] = {"id": str(worker_id), "erased": True}
    return stripped


def _strip_digest(body: str, stripped: Mapping[str, dict[str, Any]]) -> str:
    message = orjson.loads(body)
    for item in message.get("data", {}).get("items", ()):
        if item.get("notification_id") in stripped:
            item["data"] = stripped[item["notification_id"]]
    return orjson.dumps(message).decode()


async def forget_worker(conn: asyncpg.Connection, worker_id: UUID) -> int:
    """Strip the person from every notice, webhook body and digest about them; cancel pushes still to come.
    In the caller's transaction. Returns how many notices were stripped."""
    notices = [n for n in await repository.notifications_about_worker(conn, worker_id)
               if n["event"] in _CARRY_PROFILE]
    if notices:
        payloads = {n["id"]: strip_person(n["payload"], worker_id) for n in notices}
        await repository.set_payloads(conn, list(payloads.items()))
        await repository.drop_open_holds(conn, list(payloads))
        by_text_id = {str(k): v for k, v in payloads.items()}
        notice_of = {n["id"]: n for n in notices}
        for delivery in await repository.deliveries_carrying(conn, list(payloads)):
            own = delivery["notification_id"]
            if own in payloads:
                body = notification_body({**notice_of[own], "payload": payloads[own]})
            else:
                body = _strip_digest(delivery["body"], by_text_id)
            # A digest also carries other people's notices: it still goes out, without this person.
            await repository.rewrite_delivery(conn, delivery["id"], body=body, cancel=own in payloads,
                                              reason=ERASED_REASON)
    await repository.cancel_sms_to_worker(conn, worker_id, reason=ERASED_REASON)
    return len(notices)
