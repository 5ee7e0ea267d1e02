"""A delivery process for the outbox tests:
`python tests/outbox_worker.py DATABASE_URL API_URL [PAUSE [BATCH [LEASE_SECONDS [TIMEOUT]]]]`.

It delivers "note" messages until nothing is due, then prints how many it sent. A short lease
(and client timeout to match) shows in seconds what the real 2-minute lease does in minutes.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core import outbox
from bot.core.database import make_engine, make_session_factory
from bot.core.outbox import Outgoing
from bot.core.settings import Settings
from scheduler.delivery import Deliverer, make_delivery_client

TOKEN = "xoxb-sandbox-token"


def render_notes(session, rows, now, pause: float = 0.0):
    if pause:
        time.sleep(pause * len(rows))
    return {row.id: Outgoing(text=f"note {row.dedupe_key}") for row in rows}


def main(database_url: str, api_url: str, pause: float) -> None:
    if len(sys.argv) > 5:
        outbox.LEASE = timedelta(seconds=float(sys.argv[5]))
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 10
    settings = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret="unused",
        slack_api_url=api_url,
        database_url=database_url,
        quiet_hours=None,
        daily_nudge_limit=50,
    )
    engine = make_engine(database_url)
    deliverer = Deliverer(
        settings,
        make_session_factory(engine),
        make_delivery_client(settings, timeout=timeout),
        lambda: datetime.now(UTC),
        renderers={"note": lambda session, rows, now: render_notes(session, rows, now, pause)},
        batch_size=int(sys.argv[4]) if len(sys.argv) > 4 else 50,
    )
    sent = 0
    while (report := deliverer.tick()).claimed:
        sent += report.sent
    print(sent, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
