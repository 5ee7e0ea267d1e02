"""The real Bolt app over signed HTTP, talking to the Slack sandbox: help, profiles, Home, DMs."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from datetime import timedelta

from sqlalchemy import func, select

from bot.core import ids
from bot.core.models import Member, MemberTopic, TopicKind, Workspace

MENTOR_VALUES = {
    ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTOR],
    ids.PROFILE_OFFERED_ACTION: "Public speaking, Storytelling",
    ids.PROFILE_BACKGROUND_ACTION: "Keynote speaker, 12 years in product.",
    ids.PROFILE_EXPERIENCE_ACTION: "Coached 30 first-time speakers.",
    ids.PROFILE_CAPACITY_ACTION: "3",
}


def members(bot):
    with bot.database.sessions.begin() as session:
        return {m.slack_user_id: m for m in session.scalars(select(Member)).all()}


def texts(seen):
    return "\n".join(item.text for item in seen)


def test_empty_command_and_help_show_the_guide(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    for text in ("", "help", "  HELP  "):
        reply = bot.driver.command(kenji, text)
        assert reply.status == 200
        assert reply.json["response_type"] == "ephemeral"
        assert "`/mentor profile`" in reply.json["text"]
        assert "`/mentor help`" in reply.json["text"]
    assert bot.slack.seen(kenji)[-1].kind == "ephemeral"


def test_unknown_subcommand_says_so_and_shows_the_guide(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    reply = bot.driver.command(kenji, "<!channel> please")
    assert reply.json["text"].startswith("I don't know `/mentor &lt;!channel&gt;`")
    assert "<!channel>" not in json.dumps(reply.json)
    assert "`/mentor profile`" in reply.json["text"]
    assert members(bot)[kenji].profile_saved_at is None


def test_first_touch_syncs_the_member_once_a_day(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.driver.command(kenji, "help")
    member = members(bot)[kenji]
    assert (member.display_name, member.real_name, member.tz) == (
        "Kenji",
        "Kenji Watanabe",
        "Asia/Tokyo",
    )
    bot.clock.advance(timedelta(hours=23, minutes=59))
    bot.driver.command(kenji, "help")
    assert len(bot.slack.calls_to("users.info")) == 1
    bot.clock.advance(timedelta(minutes=1))
    bot.driver.command(kenji, "help")
    assert len(bot.slack.calls_to("users.info")) == 2


def test_a_failed_user_lookup_still_answers_and_retries_next_time(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.slack.fail_next("users.info", error="user_not_found")
    reply = bot.driver.command(kenji, "help")
    assert "`/mentor profile`" in reply.json["text"]
    member = members(bot)[kenji]
    assert (member.tz, member.synced_at) == ("UTC", None)
    bot.driver.command(kenji, "help")
    assert members(bot)[kenji].tz == "Asia/Tokyo"


def test_profile_modal_creates_a_mentor_profile(bot):
    amara = bot.slack.add_user("Amara", real_name="Amara Okafor", tz="Africa/Lagos")
    bot.driver.command(amara, "profile")
    modal = bot.slack.open_modal(amara)
    assert modal["callback_id"] == ids.PROFILE_CALLBACK
    reply = bot.driver.submit(amara, MENTOR_VALUES)
    assert reply.status == 200 and not reply.body.strip("{} ")
    assert bot.slack.open_modal(amara) is None

    member = members(bot)[amara]
    assert (member.is_mentor, member.is_mentee, member.capacity) == (True, False, 3)
    assert member.background == "Keynote speaker, 12 years in product."
    assert member.topic_names(TopicKind.OFFERED) == ["Public speaking", "Storytelling"]
    saved = [
        s for s in bot.slack.seen(amara) if s.kind == "ephemeral" and "Profile saved" in s.text
    ]
    assert saved, texts(bot.slack.seen(amara))
    assert "Public speaking, Storytelling" in saved[-1].text
    assert "Mentees you can take:* 3" in saved[-1].text
    assert "Edit profile" in json.dumps(bot.slack.home(amara))


def test_profile_modal_is_prefilled_when_editing(bot):
    amara = bot.slack.add_user("Amara", real_name="Amara Okafor", tz="Africa/Lagos")
    bot.driver.command(amara, "profile")
    bot.driver.submit(amara, MENTOR_VALUES)
    bot.driver.command(amara, "profile")
    modal = json.dumps(bot.slack.open_modal(amara))
    assert "Public speaking, Storytelling" in modal
    assert "Keynote speaker, 12 years in product." in modal
    # Editing one field keeps the rest; dropping a topic removes it.
    bot.driver.submit(amara, {ids.PROFILE_OFFERED_ACTION: "storytelling"})
    member = members(bot)[amara]
    assert member.topic_names(TopicKind.OFFERED) == ["Storytelling"]
    assert member.capacity == 3


def test_invalid_profile_shows_inline_errors_and_changes_nothing(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.driver.command(kenji, "profile")
    reply = bot.driver.submit(
        kenji,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTOR],
            ids.PROFILE_OFFERED_ACTION: "",
            ids.PROFILE_GOALS_ACTION: "g" * 1001,
            ids.PROFILE_CAPACITY_ACTION: "11",
            ids.PROFILE_SOUGHT_ACTION: ", ".join(f"t{n}" for n in range(12)),
        },
    )
    assert reply.json["response_action"] == "errors"
    assert set(reply.json["errors"]) == {
        ids.PROFILE_OFFERED_BLOCK,
        ids.PROFILE_GOALS_BLOCK,
        ids.PROFILE_CAPACITY_BLOCK,
        ids.PROFILE_SOUGHT_BLOCK,
    }
    assert bot.slack.open_modal(kenji) is not None
    member = members(bot).get(kenji)
    assert member is None or member.profile_saved_at is None
    with bot.database.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(MemberTopic)) == 0


def test_home_tab_invites_setup_then_shows_the_profile(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.driver.open_home(kenji)
    home = json.dumps(bot.slack.home(kenji))
    assert "Hi Kenji!" in home and "Set up my profile" in home
    bot.driver.click(kenji, text="Set up my profile")
    bot.driver.submit(
        kenji,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTEE],
            ids.PROFILE_SOUGHT_ACTION: "public speaking",
            ids.PROFILE_GOALS_ACTION: "Give my first conference talk <!here>",
        },
    )
    home = json.dumps(bot.slack.home(kenji))
    assert "Edit profile" in home and "public speaking" in home
    assert "&lt;!here&gt;" in home and "<!here>" not in home
    assert members(bot)[kenji].goals == "Give my first conference talk <!here>"


def test_help_button_opens_the_profile_modal(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.driver.command(kenji, "help")
    bot.driver.click(kenji, action_id=ids.OPEN_PROFILE_ACTION)
    assert bot.slack.open_modal(kenji)["callback_id"] == ids.PROFILE_CALLBACK


def test_retried_events_are_handled_once(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    event = bot.driver.open_home(kenji)
    bot.driver.redeliver(event, retry_num=1)
    assert len(bot.slack.calls_to("views.publish")) == 1


def test_a_dm_gets_a_pointer_to_help(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.driver.dm(kenji, "hello?")
    history = bot.slack.history(bot.slack.im_channel(kenji))
    assert next(m.get("user") for m in history) == kenji
    assert "/mentor help" in history[-1]["text"]
    assert len(history) == 2


def test_bad_signature_or_old_timestamp_is_refused_and_changes_nothing(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    body = f"command=%2Fmentor&text=help&user_id={kenji}&team_id=T0MENTOR&trigger_id=1.2.3"
    bad = bot.driver.send_raw(
        body.encode(), content_type="application/x-www-form-urlencoded", signature="v0=deadbeef"
    )
    old = bot.driver.send_raw(
        body.encode(),
        content_type="application/x-www-form-urlencoded",
        timestamp=int(time.time()) - 6 * 60,
    )
    assert (bad.status, old.status) == (401, 401)
    fresh = bot.driver.send_raw(body.encode(), content_type="application/x-www-form-urlencoded")
    assert fresh.status == 200  # the same body, signed now, is accepted: the check is real
    bot.slack.reset()
    bot.driver.send_raw(
        body.encode(), content_type="application/x-www-form-urlencoded", signature="v0=00"
    )
    assert bot.slack.calls == []


def test_rejected_requests_leave_the_database_untouched(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    body = f"command=%2Fmentor&text=help&user_id={kenji}&team_id=T0MENTOR&trigger_id=1.2.3"
    bot.driver.send_raw(
        body.encode(), content_type="application/x-www-form-urlencoded", signature="v0=00"
    )
    with bot.database.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Workspace)) == 0
        assert session.scalar(select(func.count()).select_from(Member)) == 0


def test_unexpected_error_after_ack_gets_a_friendly_reply_and_a_log_line(bot, caplog):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.slack.fail_next("views.open", error="invalid_arguments")
    with caplog.at_level(logging.DEBUG):
        bot.driver.command(kenji, "profile")
    assert "something went wrong on my side" in bot.slack.seen(kenji)[-1].text
    errors = [r for r in caplog.records if r.name == "mentor_coach.errors"]
    assert errors and "/mentor" in errors[0].getMessage() and kenji in errors[0].getMessage()
    assert "xoxb-" not in caplog.text


def test_a_forged_modal_payload_gets_a_friendly_modal_not_a_slack_error(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    payload = {
        "type": "view_submission",
        "team": {"id": "T0MENTOR"},
        "user": {"id": kenji, "team_id": "T0MENTOR"},
        "api_app_id": "A0MENTOR",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": ids.PROFILE_CALLBACK,
            "state": "broken",
        },
    }
    body = "payload=" + urllib.request.quote(json.dumps(payload))
    reply = bot.driver.send_raw(body.encode(), content_type="application/x-www-form-urlencoded")
    assert reply.status == 200
    answer = json.loads(reply.body)
    assert answer["response_action"] == "update"
    assert "something went wrong" in json.dumps(answer["view"])
    assert kenji not in members(bot)


def test_health_check(bot):
    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True}


def test_a_failure_while_answering_a_dm_still_gets_an_apology(bot, caplog):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.slack.fail_next("chat.postMessage", error="invalid_arguments")
    with caplog.at_level(logging.ERROR):
        bot.driver.dm(kenji, "hello?")
    assert "something went wrong on my side" in bot.slack.seen(kenji)[-1].text
    assert "event_callback message" in caplog.text
