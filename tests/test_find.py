"""Find, end to end through the sandbox: search, ask for an intro, accept or decline, pairing."""

from __future__ import annotations

import json
import threading
import urllib.parse
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from bot.core import ids
from bot.core.errors import MentorCoachError
from bot.core.models import (
    Block,
    Member,
    MentorRequest,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    RequestStatus,
    Wish,
)
from bot.find.intros import accept_request

GOALS = "Give my first conference talk next spring without freezing up."


def mentor(bot, name, tz, topics, *, capacity="2", background="", experience=""):
    user = bot.slack.add_user(name, real_name=f"{name} Example", tz=tz)
    bot.driver.command(user, "profile")
    bot.driver.submit(
        user,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTOR],
            ids.PROFILE_OFFERED_ACTION: topics,
            ids.PROFILE_BACKGROUND_ACTION: background,
            ids.PROFILE_EXPERIENCE_ACTION: experience,
            ids.PROFILE_CAPACITY_ACTION: capacity,
        },
    )
    return user


def mentee(bot, name="Kenji", tz="Asia/Tokyo", goals=GOALS, topics="public speaking"):
    user = bot.slack.add_user(name, real_name=f"{name} Example", tz=tz)
    bot.driver.command(user, "profile")
    bot.driver.submit(
        user,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTEE],
            ids.PROFILE_SOUGHT_ACTION: topics,
            ids.PROFILE_GOALS_ACTION: goals,
        },
    )
    return user


def last(bot, user):
    return bot.slack.seen(user)[-1]


def shown(seen):
    """Everything a person can read in one message: fallback text and blocks."""
    return seen.text + json.dumps(seen.blocks)


def ask(
    bot, seeker, mentor_user, note="I loved your talk on storytelling; I want to learn it.", **kw
):
    """From the seeker's latest results, ask this mentor for an intro with a note.

    `kw` goes to the driver's submit (copies=2: the same submission twice at once)."""
    member_id = member(bot, mentor_user).id
    value = next(
        b["accessory"]["value"]
        for s in reversed(bot.slack.seen(seeker))
        for b in s.blocks
        if b.get("accessory", {}).get("action_id") == ids.ASK_INTRO_ACTION
        and json.loads(b["accessory"]["value"])["m"] == member_id
    )
    bot.driver.click(seeker, action_id=ids.ASK_INTRO_ACTION, value=value)
    return bot.driver.submit(seeker, {ids.INTRO_NOTE_ACTION: note}, **kw)


def member(bot, user):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Member).where(Member.slack_user_id == user)).one()


def requests(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(MentorRequest).order_by(MentorRequest.id)).all()


def pairings(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Pairing)).all()


def test_first_find_asks_for_goals_then_shows_ranked_mentors(bot):
    amara = mentor(
        bot,
        "Amara",
        "Africa/Lagos",
        "Public speaking, storytelling",
        background="Product lead. Regular conference speaker.",
        experience="Coached thirty first-time conference speakers.",
    )
    mentor(bot, "Lucia", "America/Sao_Paulo", "presentations", background="Designer.")
    mentor(bot, "Ravi", "Asia/Kolkata", "python")
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")

    bot.driver.command(kenji, "find public speaking")
    modal = bot.slack.open_modal(kenji)
    assert modal["callback_id"] == ids.GOALS_CALLBACK
    assert "public speaking" in json.dumps(modal)  # the topic typed is carried over
    reply = bot.driver.submit(kenji, {ids.GOALS_ACTION: "  "})
    assert set(reply.json["errors"]) == {ids.GOALS_BLOCK}
    bot.driver.submit(kenji, {ids.GOALS_ACTION: GOALS})

    results = last(bot, kenji)
    assert results.kind == "ephemeral"
    text = "\n".join(b["text"]["text"] for b in results.blocks if b["type"] == "section")
    # Amara first: same topic, goals match her experience; Lucia via the synonym; not Ravi.
    assert text.index("Amara") < text.index("Lucia") and "Ravi" not in text
    assert "offers Public speaking" in text and "offers presentations" in text
    assert "_Product lead_" in text
    assert "8 h behind you" in text  # Lagos is UTC+1, Tokyo UTC+9
    assert "2 free slots" in text
    assert [b["accessory"]["text"]["text"] for b in results.blocks if "accessory" in b] == [
        "Ask for an intro"
    ] * 2
    saved = member(bot, kenji)
    assert (saved.is_mentee, saved.goals) == (True, GOALS)
    assert amara != kenji


def test_find_without_words_uses_the_profile_topics_and_pages_on(bot):
    for n in range(5):
        mentor(bot, f"Mentor{n}", "Europe/Berlin", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    first = last(bot, kenji)
    asks = [b for b in first.blocks if "accessory" in b]
    assert len(asks) == 3 and "(5 found)" in first.text + json.dumps(first.blocks)
    bot.driver.click(kenji, text="Show more")
    second = last(bot, kenji)
    assert len([b for b in second.blocks if "accessory" in b]) == 2
    assert "4 to 5 of 5" in json.dumps(second.blocks)
    assert not any(b["type"] == "actions" for b in second.blocks)  # no more pages
    shown = {
        b["text"]["text"].split("*")[1]
        for s in (first, second)
        for b in s.blocks
        if "accessory" in b
    }
    assert shown == {f"Mentor{n}" for n in range(5)}


def test_nobody_offers_it_suggests_nearby_topics_and_saves_a_wish(bot):
    mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find public relations")
    answer = last(bot, kenji)
    assert "Nobody offers *public relations*" in answer.text
    assert "`Public speaking`" in json.dumps(answer.blocks)
    bot.driver.click(kenji, text="Tell me when someone offers this")
    assert "I'll message you when a mentor" in last(bot, kenji).text
    with bot.database.sessions.begin() as session:
        wish = session.scalars(select(Wish)).one()
        assert (wish.topic_key, wish.notified_at) == ("public relation", None)

    full = mentor(bot, "Bo", "Europe/Berlin", "Cooking", capacity="1")
    with bot.database.sessions.begin() as session:
        session.add(
            Pairing(
                workspace_id=member(bot, full).workspace_id,
                mentor_id=member(bot, full).id,
                mentee_id=member(bot, mentor(bot, "Cy", "UTC", "x")).id,
                started_at=bot.clock(),
            )
        )
    bot.driver.command(full, "profile")  # Bo adds the topic but has no room: the wish waits
    bot.driver.submit(full, {ids.PROFILE_OFFERED_ACTION: "Cooking, public relations"})
    bot.deliver()
    assert not [s for s in bot.slack.seen(kenji) if s.kind == "dm"]

    mentor(bot, "Dee", "Europe/Paris", "PR, public relations")
    assert bot.deliver() == 1
    news = last(bot, kenji)
    assert news.kind == "dm" and "someone now offers *public relations*" in shown(news)
    bot.driver.click(kenji, text="Find a mentor")
    # A topic new to Kenji, with a mentor now: first what he wants from it, then the match.
    assert "want from public relations" in json.dumps(bot.slack.open_modal(kenji))
    bot.driver.submit(kenji, {ids.GOALS_ACTION: "Pitch our launch to the press."})
    assert "Dee" in json.dumps(last(bot, kenji).blocks)
    mentor(bot, "Eve", "Europe/Paris", "public relations")  # told once, not for every mentor
    assert bot.deliver() == 0


def test_asking_for_an_intro_validates_the_note_and_notifies_the_mentor(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking", background="Speaker.")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find public speaking")
    bot.driver.click(kenji, text="Ask for an intro")
    assert bot.slack.open_modal(kenji)["callback_id"] == ids.INTRO_CALLBACK
    for bad in ("   ", "x" * 1001):
        reply = bot.driver.submit(kenji, {ids.INTRO_NOTE_ACTION: bad})
        assert set(reply.json["errors"]) == {ids.INTRO_NOTE_BLOCK}
    assert requests(bot) == []
    bot.driver.submit(kenji, {ids.INTRO_NOTE_ACTION: "Your talks <!channel> inspired me."})
    (request,) = requests(bot)
    assert (request.status, request.topic_query) == (RequestStatus.PENDING, "public speaking")
    assert "Withdraw request" in json.dumps(last(bot, kenji).blocks)
    assert "on its way to *Amara*" in last(bot, kenji).text

    assert bot.deliver() == 1
    dm = last(bot, amara)
    assert dm.kind == "dm" and f"<@{kenji}> would like you as a mentor" in shown(dm)
    body = json.dumps(dm.blocks)
    assert "&lt;!channel&gt;" in body and "<!channel>" not in body
    assert GOALS[:20] in body and "Accept" in body and "Not now" in body
    # The reminder waits for day 3 and goes once.
    bot.clock.advance(timedelta(days=2, hours=23))
    assert bot.deliver() == 0
    bot.clock.advance(timedelta(hours=1))
    assert bot.deliver() == 1 and "gentle reminder" in shown(last(bot, amara))
    bot.clock.advance(timedelta(hours=12))
    assert bot.deliver() == 0


def test_request_limits_same_mentor_twice_and_at_most_three_pending(bot):
    mentors = [mentor(bot, f"M{n}", "Europe/Berlin", "Public speaking") for n in range(4)]
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, mentors[0])
    # The old results still show M0's button: asking the same mentor again is refused.
    reply = ask(bot, kenji, mentors[0])
    assert "already asked M0" in reply.json["errors"][ids.INTRO_NOTE_BLOCK]
    for m in mentors[1:3]:
        ask(bot, kenji, m)
    assert len(requests(bot)) == 3
    bot.driver.command(kenji, "find")
    results = last(bot, kenji)
    # The one not yet asked comes first; the asked ones follow, without a button.
    assert results.text == "Mentors for Public speaking: M3, M0, M1"
    assert json.dumps(results.blocks).count("You've asked") == 2
    reply = ask(bot, kenji, mentors[3])
    assert "3 requests waiting" in reply.json["errors"][ids.INTRO_NOTE_BLOCK]
    assert len(requests(bot)) == 3


def test_accept_pairs_them_and_introduces_them_in_a_group_dm(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking", background="Speaker.")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    bot.driver.click(amara, text="Accept")
    answered = last(bot, amara)
    assert "You accepted Kenji's request" in answered.text
    assert not any(b["type"] == "actions" for b in answered.blocks)
    (pairing,) = pairings(bot)
    assert (pairing.mentor_id, pairing.mentee_id) == (member(bot, amara).id, member(bot, kenji).id)
    assert requests(bot)[0].status == RequestStatus.ACCEPTED

    assert bot.deliver() == 1
    opened = bot.slack.calls_to("conversations.open")[-1]
    assert set(opened.args["users"].split(",")) == {amara, kenji}
    for person in (amara, kenji):
        intro = last(bot, person)
        assert intro.kind == "group"
        assert "meet" in intro.text and "Schedule our first session" in json.dumps(intro.blocks)
        assert "Before your first session" in json.dumps(intro.blocks)
    # The day-3 reminder was cancelled by the answer.
    bot.clock.advance(timedelta(days=4))
    assert bot.deliver() == 0

    bot.driver.command(kenji, "mentors")
    assert f"<@{amara}>" in last(bot, kenji).text
    bot.driver.command(amara, "mentees")
    assert f"<@{kenji}>" in last(bot, amara).text
    bot.driver.command(amara, "mentors")
    assert "no mentors right now" in last(bot, amara).text


def test_accept_clicked_twice_pairs_once(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    request_id = requests(bot)[0].id
    bot.driver.click(amara, text="Accept")
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, request_id)
    assert len(pairings(bot)) == 1
    assert "already accepted" in last(bot, amara).text


def click_payload(bot, user, action_id, value):
    """A block_actions request as Slack would send it, for clicks on buttons someone can't see."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": bot.slack.team_id},
        "team": {"id": bot.slack.team_id},
        "api_app_id": bot.slack.app_id,
        "trigger_id": bot.slack.issue_trigger(user),
        "container": {"type": "message", "channel_id": bot.slack.im_channel(user)},
        "channel": {"id": bot.slack.im_channel(user)},
        "response_url": bot.slack.new_response_url(user, bot.slack.im_channel(user)),
        "actions": [
            {"action_id": action_id, "block_id": "x", "type": "button", "value": str(value)}
        ],
    }
    body = "payload=" + urllib.parse.quote(json.dumps(payload))
    return body.encode(), "application/x-www-form-urlencoded"


def send(bot, user, action_id, value):
    body, content_type = click_payload(bot, user, action_id, value)
    return bot.driver.send_raw(body, content_type=content_type)


def test_a_third_person_cannot_answer_someone_elses_request(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    mallory = bot.slack.add_user("Mallory", real_name="Mallory", tz="UTC")
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    request_id = requests(bot)[0].id
    for action in (ids.ACCEPT_REQUEST_ACTION, ids.DECLINE_REQUEST_ACTION):
        send(bot, mallory, action, request_id)
        assert "isn't addressed to you" in last(bot, mallory).text
    send(bot, mallory, ids.WITHDRAW_REQUEST_ACTION, request_id)
    assert "Only the person who asked" in last(bot, mallory).text
    send(bot, mallory, ids.ACCEPT_REQUEST_ACTION, "999999")
    assert "can't find that request" in last(bot, mallory).text
    assert requests(bot)[0].status == RequestStatus.PENDING and pairings(bot) == []
    assert bot.slack.open_modal(mallory) is None


def test_not_now_tells_the_mentee_kindly_with_the_next_match(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    mentor(bot, "Lucia", "America/Sao_Paulo", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    bot.driver.click(amara, text="Not now")
    assert bot.slack.open_modal(amara)["callback_id"] == ids.DECLINE_CALLBACK
    reply = bot.driver.submit(amara, {ids.DECLINE_REASON_ACTION: "x" * 501})
    assert set(reply.json["errors"]) == {ids.DECLINE_REASON_BLOCK}
    bot.driver.submit(amara, {ids.DECLINE_REASON_ACTION: "Full until March <@U999|boss>"})
    assert "You said not now to Kenji" in last(bot, amara).text
    request = requests(bot)[0]
    assert (request.status, request.decline_reason) == (
        RequestStatus.DECLINED,
        "Full until March <@U999|boss>",
    )
    assert bot.deliver() == 1
    told = last(bot, kenji)
    assert "can't take you on right now" in shown(told)
    assert "&lt;@U999|boss&gt;" in json.dumps(told.blocks)
    bot.driver.click(kenji, text="Find another mentor")
    results = json.dumps(last(bot, kenji).blocks)
    assert "Lucia" in results and "Amara" not in results  # declined: not offered again for 90 days
    bot.clock.advance(timedelta(days=91))
    bot.driver.command(kenji, "find")
    assert "Amara" in json.dumps(last(bot, kenji).blocks)


def test_withdrawn_request_cannot_be_accepted(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.driver.click(kenji, text="Withdraw request")
    assert "Withdrawn" in last(bot, kenji).text
    assert bot.deliver() == 0  # the mentor's DM had not gone out yet: it never will
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, requests(bot)[0].id)
    assert "withdrew this request" in last(bot, amara).text
    assert pairings(bot) == [] and requests(bot)[0].status == RequestStatus.WITHDRAWN


def test_unanswered_request_expires_and_offers_the_next_match(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    bot.clock.advance(timedelta(days=4, hours=23))
    bot.housekeeping()
    assert requests(bot)[0].status == RequestStatus.PENDING  # not yet: the negative case
    bot.clock.advance(timedelta(hours=1))
    bot.housekeeping()
    assert requests(bot)[0].status == RequestStatus.EXPIRED
    bot.deliver()
    told = last(bot, kenji)
    assert "got no answer in time" in shown(told) and "Find another mentor" in shown(told)
    bot.driver.click(amara, text="Accept")
    assert "expired" in last(bot, amara).text and pairings(bot) == []


def test_capacity_holds_when_two_accepts_race(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking", capacity="1")
    seekers = [mentee(bot, name) for name in ("Kenji", "Lin")]
    for seeker in seekers:
        bot.driver.command(seeker, "find")
        ask(bot, seeker, amara)
    ids_ = [r.id for r in requests(bot)]
    barrier, outcomes = threading.Barrier(2), []

    def accept(request_id):
        barrier.wait()
        try:
            with bot.database.sessions.begin() as session:
                accept_request(session, request_id, bot.slack.team_id, amara, bot.clock())
            outcomes.append("accepted")
        except MentorCoachError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=accept, args=(i,)) for i in ids_]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("accepted") == 1
    # The loser finds the request already closed: the winner filled the last slot.
    assert any("slots filled up" in outcome for outcome in outcomes)
    assert len(pairings(bot)) == 1


def test_accepting_beyond_capacity_is_refused_and_raising_it_helps(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking", capacity="2")
    kenji, lin = mentee(bot, "Kenji"), mentee(bot, "Lin")
    for seeker in (kenji, lin):
        bot.driver.command(seeker, "find")
        ask(bot, seeker, amara)
    bot.deliver()
    first, second = requests(bot)
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, first.id)
    bot.driver.command(amara, "profile")  # a busy month: Amara lowers her limit to 1
    bot.driver.submit(amara, {ids.PROFILE_CAPACITY_ACTION: "1"})
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, second.id)
    assert "limit of 1 mentees" in last(bot, amara).text
    assert len(pairings(bot)) == 1 and requests(bot)[1].status == RequestStatus.PENDING
    bot.driver.command(amara, "profile")
    bot.driver.submit(amara, {ids.PROFILE_CAPACITY_ACTION: "2"})
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, second.id)
    assert len(pairings(bot)) == 2 and requests(bot)[1].status == RequestStatus.ACCEPTED


def test_block_hides_people_from_each_other_and_unblock_undoes_it(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    for text, expected in (
        ("block", "Mention one person"),
        ("block Amara", "Mention one person"),
        (f"block <@{kenji}|kenji>", "can't block yourself"),
    ):
        bot.driver.command(kenji, text)
        assert expected in last(bot, kenji).text
    with bot.database.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Block)) == 0
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.driver.command(amara, f"block <@{kenji}|kenji>")
    assert "won't be matched" in last(bot, amara).text
    assert requests(bot)[0].status == RequestStatus.WITHDRAWN
    with bot.database.sessions.begin() as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.CANCELLED}
    bot.driver.command(kenji, "find")
    assert "Nobody offers" in last(bot, kenji).text
    bot.driver.command(amara, f"block <@{kenji}|kenji>")
    assert "already blocked" in last(bot, amara).text
    bot.driver.command(kenji, f"unblock <@{amara}|amara>")
    assert "hadn't blocked" in last(bot, kenji).text
    bot.driver.command(amara, f"unblock <@{kenji}|kenji>")
    bot.driver.command(kenji, "find")
    assert "Amara" in json.dumps(last(bot, kenji).blocks)


def test_home_tab_shows_requests_and_answers_from_there(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.driver.open_home(kenji)
    assert "Waiting for *Amara* to answer" in json.dumps(bot.slack.home(kenji))
    bot.driver.open_home(amara)
    assert "*Kenji* asked you to mentor them" in json.dumps(bot.slack.home(amara))
    bot.driver.click(amara, text="Accept")
    assert len(pairings(bot)) == 1
    home = json.dumps(bot.slack.home(amara))
    assert "asked you to mentor" not in home and f"<@{kenji}>" in home


@pytest.mark.parametrize("value", ["", "not json", '{"m": "1"}', '{"m": 99999}', "[1]"])
def test_forged_ask_buttons_get_a_clear_answer(bot, value):
    kenji = mentee(bot)
    send(bot, kenji, ids.ASK_INTRO_ACTION, value)
    assert "isn't available any more" in last(bot, kenji).text
    assert bot.slack.open_modal(kenji) is None


def test_a_paused_mentor_is_not_offered_until_they_resume(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    for text in ("pause 0", "pause 181", "pause soon"):
        bot.driver.command(amara, text)
        assert "Pause for 1 to 180 days" in last(bot, amara).text
    assert member(bot, amara).paused_until is None
    bot.driver.command(amara, "pause")
    assert "Paused until" in last(bot, amara).text
    assert member(bot, amara).paused_until == bot.clock() + timedelta(days=14)
    bot.driver.command(kenji, "find")
    assert "Nobody offers" in last(bot, kenji).text
    bot.driver.click(kenji, text="Tell me when someone offers this")
    bot.driver.command(amara, "resume")
    assert "Welcome back" in last(bot, amara).text
    assert member(bot, amara).paused_until is None
    assert bot.deliver() == 1 and "someone now offers" in shown(last(bot, kenji))
    bot.driver.command(amara, "resume")
    assert "weren't paused" in last(bot, amara).text
    bot.driver.command(kenji, "find")
    assert "Amara" in json.dumps(last(bot, kenji).blocks)


def test_a_pause_runs_out_by_itself(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(amara, "pause 3")
    bot.clock.advance(timedelta(days=3))
    bot.driver.command(kenji, "find")
    assert "Amara" in json.dumps(last(bot, kenji).blocks)


def card(bot, user):
    """The text of the latest request card a mentor got by DM."""
    dm = next(s for s in reversed(bot.slack.seen(user)) if s.kind == "dm")
    return "\n".join(b["text"]["text"] for b in dm.blocks if b["type"] == "section")


def test_a_second_find_asks_what_they_want_from_that_topic_and_the_mentor_reads_it(bot):
    mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    ravi = mentor(bot, "Ravi", "Asia/Kolkata", "Python", background="Data engineer.")
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    bot.driver.command(kenji, "find public speaking")
    bot.driver.submit(kenji, {ids.GOALS_ACTION: GOALS})
    assert "Amara" in json.dumps(last(bot, kenji).blocks)

    # A new topic: Kenji is asked what he wants from python, with nothing stale filled in.
    bot.driver.command(kenji, "find python")
    form = bot.slack.open_modal(kenji)
    assert form["callback_id"] == ids.GOALS_CALLBACK
    assert "What do you want from *python*?" in json.dumps(form)
    goal_box = next(b for b in form["blocks"] if b.get("block_id") == ids.GOALS_BLOCK)
    assert goal_box["label"]["text"] == "What do you want from python, and why?"
    assert "initial_value" not in goal_box["element"] and GOALS not in json.dumps(form)
    python_goal = "Automate our team's weekly reporting with small python scripts."
    bot.driver.submit(kenji, {ids.GOALS_ACTION: python_goal})
    assert "Ravi" in json.dumps(last(bot, kenji).blocks)
    ask(bot, kenji, ravi, note="Your data pipelines talk was great.")

    bot.deliver()
    read = card(bot, ravi)
    assert "*Asking about:* python" in read
    assert "*What they want from it:* Automate our team" in read
    assert GOALS not in read  # the public speaking goal is not what Ravi was asked about
    (request,) = requests(bot)
    assert (request.topic_query, request.goal) == ("python", python_goal)
    saved = member(bot, kenji)
    assert saved.goals == GOALS  # the general goal stays the one he gave first

    # Both topics have a goal now: either search goes straight to mentors.
    opened = len(bot.slack.calls_to("views.open"))
    for topic in ("python", "public speaking", "presenting"):
        bot.driver.command(kenji, f"find {topic}")
        assert last(bot, kenji).kind == "ephemeral" and "Mentors for" in last(bot, kenji).text
    assert len(bot.slack.calls_to("views.open")) == opened


def test_each_suggestion_says_how_it_fits_the_goal_and_when_both_are_awake(bot):
    amara = mentor(
        bot,
        "Amara",
        "Africa/Lagos",
        "Public speaking",
        background="Product lead. Regular conference speaker.",
    )
    mentor(bot, "Lucia", "America/Sao_Paulo", "Public speaking", background="Designer.")
    kenji = mentee(bot)  # Tokyo, goal: "Give my first conference talk next spring..."
    bot.driver.command(kenji, "find")
    text = sections_text(last(bot, kenji))
    amara_says, lucia_says = text.split("*Amara*")[1].split("*Lucia*")
    assert "Matches your goal: *conference*" in amara_says
    # Both awake 08:00-20:00 on their own clocks (QUIET_HOURS 20:00-08:00): Lagos' day is
    # 16:00-04:00 in Tokyo, Sao Paulo's 20:00-08:00.
    assert "You're both awake 16:00\u201320:00 your time (8 h behind you)" in amara_says
    assert "Matches your goal" not in lucia_says
    assert "Your waking hours don't meet (12 h behind you)" in lucia_says

    # Amara works 10:00-18:00 Lagos time: 18:00-02:00 in Tokyo.
    with bot.database.sessions.begin() as session:
        saved = session.scalars(select(Member).where(Member.slack_user_id == amara)).one()
        saved.work_start, saved.work_end = time(10), time(18)
    bot.driver.command(kenji, "find")
    assert "You're both awake 18:00\u201320:00 your time" in sections_text(last(bot, kenji))


def sections_text(seen):
    return "\n".join(b["text"]["text"] for b in seen.blocks if b["type"] == "section")
