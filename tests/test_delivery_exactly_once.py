"""Nothing doubled, nothing silent: leases that live as long as their sender, posts that are
looked up before they are retried, and a kind word to whoever caused a message that can't arrive.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core import ids
from bot.core import outbox as outbox_module
from bot.core.models import OutboxMessage, OutboxStatus
from bot.core.outbox import NOTICE_KIND, Delivery, Outgoing, claim_due, record_failure, record_sent
from tests.test_find import ask, mentee, mentor, shown
from tests.test_outbox import Outbox, _fill_channel, _run_workers
from tests.test_prepare import book, pair
from tests.test_respect import dms

METADATA_TYPE = "mentor_coach_outbox"


@pytest.fixture
def outbox(bot):
    return Outbox(bot, quiet_hours=None)


def test_slow_slack_two_processes_and_a_short_lease_send_every_message_once(bot):
    # Scaled down from production (2-minute lease, 10 s timeout, 4 s a post, 50 a batch):
    # a 1.5 s lease, 0.5 s timeout, 0.15 s a post, 20 a batch: each batch outlives its claim.
    outbox = Outbox(bot, quiet_hours=None)
    outbox.bot.clock.advance(datetime.now(UTC) - outbox.bot.clock())
    channel = _fill_channel(outbox, 60)
    bot.slack.fail_next("chat.postMessage", hang_seconds=0.15, times=10_000)
    workers = _run_workers(bot, 2, 20, 1.5, 0.5)  # batch size, lease, client timeout
    sent = [int(worker.communicate(timeout=120)[0]) for worker in workers]
    texts = Counter(m["text"] for m in bot.slack.history(channel))
    assert set(texts) == {f"note race:{n}" for n in range(60)}
    assert [text for text, count in texts.items() if count > 1] == []
    assert sum(sent) == 60, sent
    with bot.database.sessions.begin() as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT}


def _metadata_ids(messages):
    return [
        m["metadata"]["event_payload"]["outbox_id"]
        for m in messages
        if m.get("metadata", {}).get("event_type") == METADATA_TYPE
    ]


def _user_id(outbox, member_id):
    return outbox.user_ids[member_id]


def test_every_post_carries_its_outbox_row_id_as_message_metadata(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.deliverer.tick()
    row = outbox.row("a")
    (post,) = outbox.bot.slack.calls_to("chat.postMessage")
    assert post.args["metadata"] == {
        "event_type": METADATA_TYPE,
        "event_payload": {"outbox_id": row.id},
    }
    assert _metadata_ids(outbox.bot.slack.history(_user_id(outbox, kenji))) == [row.id]
    assert (row.attempt_channel_id, row.attempt_started_at) == (None, None)
    assert outbox.bot.slack.calls_to("conversations.history") == []  # no lookup when all is well


def test_a_post_that_timed_out_after_slack_posted_it_is_found_not_sent_again(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", hang_seconds=1.5, act="before")
    assert outbox.deliverer.tick().retried == 1
    unsure = outbox.row("a")
    dm = outbox.bot.slack.im_channel(_user_id(outbox, kenji))
    assert (unsure.status, unsure.attempt_channel_id) == (OutboxStatus.PENDING, dm)
    assert unsure.attempt_started_at == outbox.bot.clock()
    outbox.bot.clock.advance(timedelta(minutes=1))
    report = outbox.deliverer.tick()
    assert (report.sent, report.found) == (1, 1)
    (message,) = outbox.bot.slack.history(dm)
    row = outbox.row("a")
    assert (row.status, row.sent_ts, row.sent_channel_id) == (OutboxStatus.SENT, message["ts"], dm)
    assert (row.attempt_channel_id, row.attempt_started_at) == (None, None)
    assert len(outbox.bot.slack.calls_to("chat.postMessage")) == 1
    (lookup,) = outbox.bot.slack.calls_to("conversations.history")
    assert lookup.args["channel"] == dm and lookup.args["include_all_metadata"] in ("1", "true")
    assert float(lookup.args["oldest"]) < unsure.attempt_started_at.timestamp()


def test_a_post_that_timed_out_before_slack_acted_is_posted_again_once(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", hang_seconds=1.5, act="never")
    assert outbox.deliverer.tick().retried == 1
    assert outbox.bot.slack.history(_user_id(outbox, kenji)) == []
    outbox.bot.clock.advance(timedelta(minutes=1))
    report = outbox.deliverer.tick()
    assert (report.sent, report.found) == (1, 0)
    assert [m["text"] for m in outbox.bot.slack.history(_user_id(outbox, kenji))] == ["note a"]
    assert len(outbox.bot.slack.calls_to("conversations.history")) == 1
    assert outbox.row("a").status == OutboxStatus.SENT


def test_the_lookup_pages_through_a_busy_conversation(outbox, monkeypatch):
    from scheduler import delivery

    monkeypatch.setattr(delivery, "HISTORY_PAGE", 2)
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", hang_seconds=1.5, act="before")
    outbox.deliverer.tick()
    user, dm = _user_id(outbox, kenji), outbox.bot.slack.im_channel(_user_id(outbox, kenji))
    for n in range(5):
        outbox.bot.slack.add_user_message(user, dm, f"agenda item {n}")
    outbox.bot.clock.advance(timedelta(minutes=1))
    assert outbox.deliverer.tick().found == 1
    assert len(outbox.bot.slack.calls_to("conversations.history")) == 3
    assert _metadata_ids(outbox.bot.slack.history(dm)) == [outbox.row("a").id]


def test_a_refused_post_needs_no_lookup_next_time(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", status=429, retry_after=5)
    assert outbox.deliverer.tick().deferred == 1
    assert outbox.row("a").attempt_channel_id is None  # Slack answered: nothing landed
    outbox.bot.clock.advance(timedelta(seconds=5))
    assert outbox.deliverer.tick().sent == 1
    assert outbox.bot.slack.calls_to("conversations.history") == []


def test_a_server_error_on_the_post_is_checked_before_the_retry(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", status=500)
    outbox.deliverer.tick()
    assert outbox.row("a").attempt_channel_id is not None  # a 500 may still have posted
    outbox.bot.clock.advance(timedelta(minutes=1))
    assert outbox.deliverer.tick().sent == 1
    assert len(outbox.bot.slack.calls_to("conversations.history")) == 1
    assert len(outbox.bot.slack.history(_user_id(outbox, kenji))) == 1


def test_a_row_whose_claim_ran_out_cannot_be_recorded_by_its_old_holder(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    sessions, clock = outbox.bot.database.sessions, outbox.bot.clock
    with sessions.begin() as session:
        (old,) = claim_due(session, clock(), 10)
        old_token, row_id = old.claimed_by, old.id
    clock.advance(outbox_module.LEASE + timedelta(seconds=1))
    with sessions.begin() as session:
        (new,) = claim_due(session, clock(), 10)
        new_token = new.claimed_by
    assert new_token != old_token
    delivery = Delivery(row_id, new.workspace_id, "D1", None, None, Outgoing(text="x"))
    with sessions.begin() as session:
        assert not outbox_module.hold(session, row_id, old_token, "D1", clock(), clock())
        assert not record_sent(session, delivery, "D1", "1.000001", clock(), token=old_token)
        assert not record_failure(
            session, row_id, "http_500", clock(), transient=True, token=old_token
        )
    stolen = outbox.row("a")
    assert (stolen.status, stolen.claimed_by, stolen.sent_ts) == (
        OutboxStatus.SENDING,
        new_token,
        None,
    )
    assert stolen.attempts == 2
    with sessions.begin() as session:
        assert record_sent(session, delivery, "D1", "1.000001", clock(), token=new_token)
    assert outbox.row("a").status == OutboxStatus.SENT


def test_a_lease_that_cannot_outlast_two_slack_calls_is_refused(outbox, monkeypatch):
    from scheduler.delivery import Deliverer, make_delivery_client

    monkeypatch.setattr(outbox_module, "LEASE", timedelta(seconds=20))
    with pytest.raises(ValueError, match="lease"):
        Deliverer(
            outbox.settings,
            outbox.bot.database.sessions,
            make_delivery_client(outbox.settings, timeout=10),
            outbox.bot.clock,
        )


def test_unreadable_history_falls_back_to_posting(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", hang_seconds=1.5, act="never")
    outbox.deliverer.tick()
    outbox.bot.slack.fail_next("conversations.history", error="missing_scope")
    outbox.bot.clock.advance(timedelta(minutes=1))
    assert outbox.deliverer.tick().sent == 1
    assert len(outbox.bot.slack.history(_user_id(outbox, kenji))) == 1


def test_history_trouble_that_may_pass_is_retried_without_posting(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", hang_seconds=1.5, act="before")
    outbox.deliverer.tick()
    outbox.bot.slack.fail_next("conversations.history", status=503)
    outbox.bot.clock.advance(timedelta(minutes=1))
    assert outbox.deliverer.tick().retried == 1
    outbox.bot.clock.advance(timedelta(minutes=2))
    assert outbox.deliverer.tick().found == 1
    assert len(outbox.bot.slack.history(_user_id(outbox, kenji))) == 1
    assert len(outbox.bot.slack.calls_to("chat.postMessage")) == 1


# --------------------------------------------------------------------------- nothing silent


def _rows(bot, kind):
    with bot.database.sessions.begin() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        ).all()


def _operator_report(bot, capsys):
    from app import print_outbox
    from bot.core.settings import Settings

    settings = Settings(
        slack_bot_token="xoxb-unused",
        slack_signing_secret="unused",
        database_url=bot.database.url,
    )
    print_outbox(settings)
    return capsys.readouterr().out


def test_a_mentor_who_left_never_gets_the_request_and_the_mentee_hears_what_to_do(bot, capsys):
    amara = mentor(bot, "Amara", "Africa/Lagos", "public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find public speaking")
    ask(bot, kenji, amara)
    bot.slack.deactivate_user(amara)
    bot.deliver()
    (request,) = _rows(bot, "intro_request")
    assert (request.status, request.last_error) == (OutboxStatus.FAILED, "user_disabled")
    assert bot.slack.history(amara) == []
    told = dms(bot, kenji)[-1]
    assert "Amara couldn't get your request for an intro" in shown(told)
    assert "no longer active" in shown(told) and "/mentor find" in shown(told)
    (notice,) = _rows(bot, NOTICE_KIND)
    assert (notice.subject_type, notice.subject_id) == ("outbox", request.id)
    assert notice.status == OutboxStatus.SENT and notice.actor_member_id is None
    report = _operator_report(bot, capsys)
    assert f"#{request.id} intro_request: user_disabled (to {amara}; {kenji} told (sent))" in report


def test_a_thank_you_to_someone_who_left_is_not_lost_silently(bot):
    amara, kenji = pair(bot)
    bot.driver.command(kenji, f"thanks <@{amara}|amara> You changed how I prepare")
    bot.slack.deactivate_user(amara)
    before = len(bot.slack.history(amara))
    bot.deliver()
    (thanks,) = _rows(bot, "thanks")
    assert (thanks.status, thanks.last_error) == (OutboxStatus.FAILED, "account_inactive")
    assert len(bot.slack.history(amara)) == before
    # Kenji hears why the note did not arrive, then (once) that the pair has ended.
    told, ended = (shown(dm) for dm in dms(bot, kenji)[-2:])
    assert "Amara couldn't get your thank-you note" in told and "no longer active" in told
    assert "Amara* is no longer in this workspace" in ended and "come to a close" in ended


@pytest.mark.settings(success_channel="#wins")
def test_an_archived_success_channel_is_explained_to_the_author(bot, capsys):
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id])
    amara, kenji = pair(bot)
    bot.driver.command(kenji, "success Promoted!")
    bot.driver.submit(kenji, {ids.SUCCESS_SCOPE_ACTION: "public"})
    bot.deliver()
    bot.slack.archive_channel(channel)
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    (post,) = _rows(bot, "success_post")
    assert (post.status, post.last_error) == (OutboxStatus.FAILED, "is_archived")
    told = shown(dms(bot, kenji)[-1])
    assert "couldn't post your success in the channel: the success channel is archived" in told
    assert "Amara has it" in told and "had a win" in shown(dms(bot, amara)[-1])
    assert bot.slack.history(channel) == []
    report = _operator_report(bot, capsys)
    assert f"#{post.id} success_post: is_archived (to #wins; {kenji} told (sent))" in report


def test_a_booking_the_partner_cannot_receive_is_explained_to_whoever_booked(bot):
    amara, kenji = pair(bot)
    bot.slack.deactivate_user(amara)
    book(bot, kenji)
    bot.deliver()
    (booked,) = _rows(bot, "meeting_booked")
    assert (booked.status, booked.last_error) == (OutboxStatus.FAILED, "user_disabled")
    told = shown(dms(bot, kenji)[-1])
    assert "Amara couldn't get the session you booked" in told


def test_a_notice_that_cannot_arrive_tells_nobody_and_stops_there(bot, capsys):
    amara, kenji = pair(bot)
    bot.driver.command(kenji, f"thanks <@{amara}|amara> Thank you")
    bot.slack.deactivate_user(amara)
    bot.slack.deactivate_user(kenji)
    bot.deliver()
    bot.clock.advance(timedelta(days=1))
    bot.deliver()
    (notice,) = _rows(bot, NOTICE_KIND)  # one notice, and none about the notice
    assert (notice.status, notice.last_error) == (OutboxStatus.FAILED, "user_disabled")
    report = _operator_report(bot, capsys)
    assert f"#{notice.id} {NOTICE_KIND}: user_disabled (to {kenji}; nobody to tell)" in report


def test_a_message_nobody_caused_fails_without_a_notice(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.deactivate_user(outbox.user_ids[kenji])
    assert outbox.deliverer.tick().failed == 1
    assert _rows(outbox.bot, NOTICE_KIND) == []


# --------------------------------------------------------------------------- the sandbox's part


def test_the_sandbox_keeps_metadata_pages_history_and_refuses_the_departed():
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from sandbox import FakeSlack

    with FakeSlack("secret") as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
        kenji = slack.add_user("Kenji", real_name="Kenji", tz="Asia/Tokyo")
        tagged = {"event_type": METADATA_TYPE, "event_payload": {"outbox_id": 7}}
        for n in range(3):
            client.chat_postMessage(channel=kenji, text=f"m{n}", metadata=tagged if n else None)
        with pytest.raises(SlackApiError) as bad:
            client.chat_postMessage(channel=kenji, text="x", metadata={"event_type": "x"})
        assert bad.value.response["error"] == "invalid_metadata_format"
        dm = slack.im_channel(kenji)
        plain = client.conversations_history(channel=dm)
        assert [m["text"] for m in plain["messages"]] == ["m2", "m1", "m0"]  # newest first
        assert all("metadata" not in m for m in plain["messages"])
        first = client.conversations_history(channel=dm, limit=2, include_all_metadata=True)
        assert first["has_more"] and [m["metadata"] for m in first["messages"]] == [tagged] * 2
        cursor = first["response_metadata"]["next_cursor"]
        rest = client.conversations_history(channel=dm, limit=2, cursor=cursor)
        assert [m["text"] for m in rest["messages"]] == ["m0"] and not rest["has_more"]
        newer = client.conversations_history(channel=dm, oldest=first["messages"][1]["ts"])
        assert [m["text"] for m in newer["messages"]] == ["m2"]

        slack.deactivate_user(kenji)
        for call, error in (
            (lambda: client.chat_postMessage(channel=dm, text="hi"), "account_inactive"),
            (lambda: client.conversations_open(users=kenji), "user_disabled"),
        ):
            with pytest.raises(SlackApiError) as refused:
                call()
            assert refused.value.response["error"] == error
        wins = slack.add_channel("wins", members=[slack.bot_user_id])
        client.chat_postMessage(channel=wins, text="before")
        slack.archive_channel(wins)
        with pytest.raises(SlackApiError) as archived:
            client.chat_postMessage(channel=wins, text="after")
        assert archived.value.response["error"] == "is_archived"
