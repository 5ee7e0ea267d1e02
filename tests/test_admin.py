"""Program admins through the sandbox: the dashboard, quiet pairs and Nudge, the CSV export,
the daily nudge and profile refresh jobs, and everyone else being politely refused."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.core import ids
from bot.core.models import FindRecord, Member, OutboxMessage, Pairing, PairingStatus
from bot.program.admins import NOT_AN_ADMIN
from bot.program.export import COLUMNS
from scheduler import nudge_quiet_pairs, refresh_profiles
from tests.test_find import last, member, mentee, mentor, send, shown
from tests.test_prepare import GOOD_TIME, book, pair
from tests.test_respect import CHECKIN_AT


def admin(bot, name="Priya"):
    """A workspace admin in Slack (users.info says is_admin), so a program admin here."""
    user = bot.slack.add_user(name, real_name=f"{name} Raman", tz="Asia/Kolkata")
    bot.slack.set_admin(user)
    return user


def dashboard(bot, user):
    bot.driver.command(user, "admin")
    return last(bot, user)


def readable(seen):
    """What a person reads: the fallback text and every text in the blocks, unescaped."""
    texts = [seen.text]

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(seen.blocks)
    return "\n".join(texts)


def nudges(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "pair_nudge")
            .order_by(OutboxMessage.id)
        ).all()


def dms(bot, user):
    return [s for s in bot.slack.seen(user) if s.kind == "dm"]


def a_full_cycle(bot):
    """Kenji finds Amara, she accepts, they meet; Kenji brings a question, thanks her and
    shares a success. Lucia searches but has not asked anyone yet; Ravi mentors with room."""
    amara, kenji = pair(bot)
    book(bot, amara, **{ids.MEETING_TOPIC_ACTION: "=HYPERLINK(evil) first talk"})
    bot.deliver()  # both prep notes go out
    bot.driver.dm(kenji, "Secret worry: my manager thinks I'm not ready")
    bot.clock.advance(CHECKIN_AT - bot.clock())
    bot.deliver()
    bot.driver.click(kenji, text="Yes")
    bot.driver.close(kenji)  # the advice form can wait
    bot.driver.click(kenji, text="Thank Amara")
    bot.driver.submit(kenji, {ids.THANKS_ACTION_ID: "Private thanks: the breathing trick worked"})
    bot.driver.command(kenji, "success I gave the talk!")
    bot.driver.submit(kenji)
    lucia = mentee(bot, "Lucia", "America/Sao_Paulo", topics="negotiation")
    bot.driver.command(lucia, "find")
    mentor(bot, "Ravi", "Asia/Kolkata", "python")
    bot.deliver()
    return amara, kenji, lucia


def test_an_admin_sees_the_program_at_a_glance_with_the_funnel_as_bars(bot):
    a_full_cycle(bot)
    priya = admin(bot)
    seen = dashboard(bot, priya)
    text = readable(seen)
    assert "Your mentoring program at a glance" in text
    fields = {
        f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1]
        for b in seen.blocks
        for f in b.get("fields", [])
    }
    assert fields == {
        "Members": "4",  # Amara, Kenji, Lucia, Ravi; Priya has no profile
        "Mentors with room": "2",  # Amara (1 of 2) and Ravi
        "Mentees waiting": "1",  # Lucia
        "Active pairs": "1",
        "Sessions held": "1",
        "Successes shared": "1",
        "Prep notes answered": "50% (1 of 2)",  # Kenji answered his, Amara didn't
        "Sessions followed by thanks": "100% (1 of 1)",
    }
    # Two searched, one went all the way: each bar is a share of those who searched.
    assert "find           ██████████ 100%  2" in text
    assert "request        █████░░░░░  50%  1" in text
    assert "success        █████░░░░░  50%  1" in text
    assert "Last 30 days" in text and "Last 90 days" in text
    assert "none. Every pair has met or booked recently" in text
    # Nothing private on the dashboard.
    assert "Secret worry" not in text and "breathing trick" not in text
    with bot.database.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(FindRecord)) == 2


def test_the_dashboard_counts_in_a_fixed_number_of_queries(bot):
    """However many members and pairs, the numbers cost the same handful of queries."""
    from sqlalchemy import event

    from bot.program.stats import program_stats

    a_full_cycle(bot)
    counts = []
    for extra in (0, 20):
        for i in range(extra):
            mentee(bot, f"Mentee{extra}x{i}", "UTC", topics="python")
        statements = []

        def count(*_args, statements=statements):
            statements.append(1)

        event.listen(bot.database.engine, "before_cursor_execute", count)
        try:
            with bot.database.sessions.begin() as session:
                program_stats(session, bot.slack.team_id, bot.clock())
        finally:
            event.remove(bot.database.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8


def test_the_admins_home_tab_has_the_dashboard_and_nobody_elses_does(bot):
    amara, kenji = pair(bot)
    priya = admin(bot)
    bot.driver.open_home(priya)
    assert "Your mentoring program at a glance" in json.dumps(bot.slack.home(priya))
    for person in (amara, kenji):
        bot.driver.open_home(person)
        home = json.dumps(bot.slack.home(person))
        assert "Welcome to Mentor Coach" in home and "mentoring program at a glance" not in home


@pytest.mark.settings(admin_user_ids=frozenset({"U01PRIYA"}))
def test_quiet_pairs_get_a_nudge_button_that_reaches_both_once_a_fortnight(bot):
    amara, kenji = pair(bot)
    priya = bot.slack.add_user("Priya", real_name="Priya Raman", tz="Asia/Kolkata")
    assert priya == "U01PRIYA"  # named in ADMIN_USER_IDS, not a Slack admin
    assert "none. Every pair" in shown(dashboard(bot, priya))

    bot.clock.advance(timedelta(days=31))
    text = shown(dashboard(bot, priya))
    assert "Pairs with no session in 30 days* (1)" in text
    assert f"<@{amara}> and <@{kenji}>: no session yet" in text
    bot.driver.click(priya, text="Nudge")
    assert f"Nudged: <@{amara}> and <@{kenji}> will each get a kind DM" in last(bot, priya).text
    assert bot.deliver() == 2
    for person, partner in ((amara, kenji), (kenji, amara)):
        note = dms(bot, person)[-1]
        assert f"since you and <@{partner}> met" in shown(note)
        assert "Schedule a session" in shown(note)

    bot.driver.click(priya, text="Nudge")  # a second click the same day
    assert "had a nudge in the last two weeks" in last(bot, priya).text
    bot.clock.advance(timedelta(days=13))
    bot.driver.click(priya, text="Nudge")
    assert "had a nudge in the last two weeks" in last(bot, priya).text
    assert len(nudges(bot)) == 2
    bot.clock.advance(timedelta(days=1))
    text = shown(dashboard(bot, priya))
    assert ", nudged <!date^" in text
    bot.driver.click(priya, text="Nudge")
    assert "Nudged:" in last(bot, priya).text
    assert len(nudges(bot)) == 4

    # The nudge's button books a session, and a booked pair needs no nudge.
    bot.deliver()
    bot.driver.click(kenji, text="Schedule a session")
    bot.driver.submit(kenji, {ids.WHEN_ACTION: int((bot.clock() + timedelta(days=2)).timestamp())})
    text = shown(dashboard(bot, priya))
    assert "none. Every pair has met or booked recently" in text


def test_the_export_is_a_csv_of_pairs_and_sessions_with_no_private_text(bot):
    amara, kenji, _lucia = a_full_cycle(bot)
    priya = admin(bot)
    bot.driver.command(priya, "admin export")
    assert "Sent to our DM: a CSV of 1 pair and 1 session" in last(bot, priya).text
    (upload,) = bot.slack.files(priya)
    assert upload["name"].startswith("mentor-coach-pairs-") and upload["name"].endswith(".csv")
    assert upload["channels"] == [bot.slack.im_channel(priya)]
    assert "Notes, goals, agenda questions and advice stay private" in upload["initial_comment"]
    content = upload["content"].decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert tuple(rows[0]) == COLUMNS
    (row,) = rows
    assert (row["mentor_id"], row["mentor"], row["mentee_id"], row["mentee"]) == (
        amara,
        "Amara",
        kenji,
        "Kenji",
    )
    assert (row["pair_status"], row["session_status"]) == ("active", "held")
    assert row["session_starts_utc"] == GOOD_TIME.strftime("%Y-%m-%d %H:%M")
    # A typed topic that a spreadsheet would run as a formula stays text.
    assert row["session_topic"] == "'=HYPERLINK(evil) first talk"
    assert row["pair_topic"] == "Public speaking"  # what Kenji looked for
    for private in ("Secret worry", "breathing trick", "conference talk", "I gave the talk"):
        assert private not in content


def test_people_who_are_not_admins_are_refused_and_nothing_runs(bot):
    amara, kenji = pair(bot)
    bot.clock.advance(timedelta(days=31))
    pairing_id = member_pairing(bot)
    for person in (kenji, amara):  # a mentee and a mentor
        for typed in ("admin", "admin export"):
            bot.driver.command(person, typed)
            assert last(bot, person).text == NOT_AN_ADMIN
            assert "mentoring program at a glance" not in shown(last(bot, person))
        send(bot, person, ids.ADMIN_NUDGE_ACTION, str(pairing_id))
        assert last(bot, person).text == NOT_AN_ADMIN
    assert nudges(bot) == []
    assert bot.slack.files() == []
    assert bot.slack.calls_to("files.getUploadURLExternal") == []


def test_an_admins_nudge_for_a_pair_elsewhere_or_ended_does_nothing(bot):
    pair(bot)
    priya = admin(bot)
    bot.clock.advance(timedelta(days=31))
    for forged in ("999999", "not-a-number", "-1"):
        send(bot, priya, ids.ADMIN_NUDGE_ACTION, forged)
        assert "That pair has ended" in last(bot, priya).text
    with bot.database.sessions.begin() as session:
        session.get(Pairing, member_pairing(bot)).status = PairingStatus.ENDED
    send(bot, priya, ids.ADMIN_NUDGE_ACTION, str(member_pairing(bot)))
    assert "That pair has ended" in last(bot, priya).text
    assert nudges(bot) == []


def member_pairing(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Pairing.id)).one()


def test_the_daily_job_nudges_quiet_pairs_once_a_fortnight_and_never_paused_or_ended(bot):
    amara, kenji = pair(bot)
    start = bot.clock()

    def day(n):
        bot.clock.advance(start + timedelta(days=n) - bot.clock())
        nudge_quiet_pairs(bot.database.sessions, bot.clock())
        bot.deliver()
        return len(nudges(bot))

    assert day(13) == 0  # not quiet long enough
    assert day(14) == 2  # one kind DM each
    assert "since you and" in shown(dms(bot, kenji)[-1])
    assert day(20) == 2  # at most once a fortnight
    assert day(28) == 4
    bot.driver.command(kenji, "pause 30")
    assert day(43) == 4  # Kenji paused: nobody nudges either of them
    bot.driver.command(kenji, "resume")
    book(bot, amara, when=GOOD_TIME + timedelta(days=49))  # a weekday, good for both
    assert day(44) == 4  # a session is booked
    assert day(60) == 4  # their session on day 50 is recent
    assert day(65) == 6  # two weeks after it with nothing booked: a nudge
    bot.driver.command(kenji, f"end <@{amara}> Thank you for everything")
    assert day(120) == 6  # ended pairs are left alone


def test_the_refresh_job_updates_names_and_zones_a_batch_at_a_time(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    ravi = mentor(bot, "Ravi", "Asia/Kolkata", "python")
    bot.slack.update_user(kenji, name="Kenji W.", tz="Europe/Berlin")
    calls = len(bot.slack.calls_to("users.info"))
    sessions, client = bot.database.sessions, bot.deliverer.client

    bot.clock.advance(timedelta(hours=12))
    assert refresh_profiles(sessions, client, bot.clock(), batch=2) == 0  # synced today
    bot.clock.advance(timedelta(hours=12))
    assert refresh_profiles(sessions, client, bot.clock(), batch=2) == 2  # oldest first
    assert len(bot.slack.calls_to("users.info")) == calls + 2
    assert (member(bot, kenji).display_name, member(bot, kenji).tz) == ("Kenji W.", "Europe/Berlin")
    assert member(bot, amara).synced_at == bot.clock()
    assert member(bot, ravi).synced_at < bot.clock()  # beyond the batch: next minute
    assert refresh_profiles(sessions, client, bot.clock(), batch=2) == 1
    assert member(bot, ravi).synced_at == bot.clock()
    assert refresh_profiles(sessions, client, bot.clock(), batch=2) == 0
    assert len(bot.slack.calls_to("users.info")) == calls + 3


def test_the_refresh_job_marks_people_who_left_and_skips_them_after(bot):
    kenji = mentee(bot)
    bot.slack.deactivate_user(kenji)
    bot.clock.advance(timedelta(days=1))
    sessions, client = bot.database.sessions, bot.deliverer.client
    assert refresh_profiles(sessions, client, bot.clock()) == 1
    assert member(bot, kenji).is_active is False
    bot.clock.advance(timedelta(days=2))
    assert refresh_profiles(sessions, client, bot.clock()) == 0
    with bot.database.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 1
