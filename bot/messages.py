"""Message builders: Block Kit dicts (with fallback text) for replies and DMs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot import ids
from bot.block_limits import BUTTON_TEXT, TEXT_BUDGET, fit_lines, sections, shorten
from bot.matching import describe_offset
from bot.models import (
    Advice,
    GratitudeNote,
    Meeting,
    Member,
    MentorNote,
    MentorRequest,
    Pairing,
    Success,
    TopicKind,
)
from bot.mrkdwn import escape, local_time, quote

if TYPE_CHECKING:
    from bot.finding import FindResult

Message = dict[str, Any]
# A prep note's parts share one message: what to know about the partner, then last time's lists.
PREP_ABOUT_BUDGET = 4000
PREP_LIST_BUDGET = 2000

# (usage, what it does) for every subcommand that exists; the guide and the router share it.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("find [topic]", "Find mentors who offer a topic, and ask one for an intro."),
    ("profile", "Set up or edit your profile: mentor, mentee or both, your topics and goals."),
    ("schedule @partner", "Book a session with your mentor or mentee."),
    ("mentors", "List your current mentors."),
    ("mentees", "List your current mentees."),
    ("success [what happened]", "Share a win with your mentor, and with everyone if you like."),
    ("thanks @person [note]", "Send someone a written thank-you."),
    ("pause [days]", "Step back for a while (14 days unless you say); `resume` to come back."),
    ("resume", "End a pause early."),
    ("block @person", "Never match with this person, either way."),
    ("unblock @person", "Undo a block."),
    ("help", "Show this guide."),
]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def button(text: str, action_id: str, value: str = "", style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
    }
    if value:
        element["value"] = value
    if style:
        element["style"] = style
    return element


def guide_lines() -> str:
    return "\n".join(f"• `{ids.COMMAND} {usage}` — {what}" for usage, what in SUBCOMMANDS)


OUTSIDE_WORK = (
    "*Mentor outside work, too:* <https://veterati.com|Veterati> connects veterans and military "
    "families with mentors, and <https://www.bbbs.org|Big Brothers Big Sisters> matches adults "
    "with young people who could use one."
)


def build_help() -> Message:
    intro = (
        "*Mentor Coach* helps you find a mentor and get real value from every session. "
        "Here is what you can do:"
    )
    return {
        "response_type": "ephemeral",
        "text": f"{intro}\n{guide_lines()}",
        "blocks": [
            section(intro),
            section(guide_lines()),
            {
                "type": "actions",
                "elements": [button("Set up my profile", ids.OPEN_PROFILE_ACTION, style="primary")],
            },
            context("Tip: your profile and what's next also live in the bot's *Home* tab."),
            context(OUTSIDE_WORK),
        ],
    }


def build_unknown_subcommand(word: str) -> Message:
    head = f"I don't know `{ids.COMMAND} {escape(word[:40])}` yet. Here is what I can do:"
    message = build_help()
    message["text"] = f"{head}\n{guide_lines()}"
    message["blocks"] = [section(head), *message["blocks"][1:]]
    return message


def build_dm_reply() -> Message:
    text = (
        "Hi! I collect your questions here after I send you a prep note for a session, and "
        "there isn't one open right now. To find a mentor, book a session or see everything "
        f"I can do, type `{ids.COMMAND} help`."
    )
    return {"text": text, "blocks": [section(text)]}


def build_dm_without_words() -> Message:
    """A DM with nothing to read in it: a file alone, or only invisible characters."""
    text = (
        "I can only read words, so that message passed me by. Write it out in a line or two "
        "and I'll take it from there."
    )
    return {"text": text, "blocks": [section(text)]}


def profile_summary(member: Member) -> str:
    roles = [
        role for role, on in (("a mentee", member.is_mentee), ("a mentor", member.is_mentor)) if on
    ]
    lines = [f"You're signed up as {' and '.join(roles) or 'nothing yet'}."]
    if member.is_mentor:
        offered = ", ".join(escape(t) for t in member.topic_names(TopicKind.OFFERED))
        lines.append(f"*You can help with:* {offered}")
        lines.append(f"*Mentees you can take:* {member.capacity}")
    sought = member.topic_names(TopicKind.SOUGHT)
    if member.is_mentee or sought:
        lines.append(f"*You want to learn:* {', '.join(escape(t) for t in sought) or '—'}")
    if member.goals:
        lines.append(f"*Your goals:* {escape(_short(member.goals))}")
    return "\n".join(lines)


def build_profile_saved(member: Member) -> Message:
    head = "*Profile saved.* Here's what people will see:"
    summary = profile_summary(member)
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f"Profile saved. {summary}",
        "blocks": [
            *sections(f"{head}\n{summary}"),
            {"type": "actions", "elements": [button("Edit profile", ids.OPEN_PROFILE_ACTION)]},
        ],
    }


def build_error_reply() -> Message:
    text = (
        "Sorry, something went wrong on my side and nothing was changed. "
        "Please try again in a minute; if it keeps happening, let your program admin know."
    )
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _short(text: str, limit: int = 280) -> str:
    return shorten(text, limit)


def one_line(text: str, limit: int = 120) -> str:
    """The first sentence or line of a longer text, for a compact list."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    sentence = first.split(". ")[0]
    return _short(sentence, limit)


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def find_value(query: str, **extra: Any) -> str:
    """Button values carry the search so the next step can repeat it (Slack allows 2000 chars)."""
    return json.dumps({"q": query[:200], **extra}, separators=(",", ":"))


def build_find_results(result: FindResult) -> Message:
    wanted = ", ".join(escape(t) for t in result.wanted)
    if not result.matches:
        return _build_no_match(result, wanted)
    start = result.page * 3 + 1
    head = (
        f"*Mentors for {wanted}* ({len(result.matches)} found). Pick someone whose path fits "
        "your goals, and ask for an intro with a short note."
        if result.page == 0
        else f"*More mentors for {wanted}* ({start} to {start + len(result.shown) - 1} of "
        f"{len(result.matches)})"
    )
    blocks: list[dict[str, Any]] = [section(head)]
    for match in result.shown:
        mentor = match.mentor
        offers = ", ".join(escape(t) for t in match.matched_topics)
        lines = [f"*{escape(mentor.name)}* · offers {offers}"]
        if mentor.background or mentor.experience:
            lines.append(f"_{escape(one_line(mentor.background or mentor.experience))}_")
        slots = "1 free slot" if match.free_slots == 1 else f"{match.free_slots} free slots"
        lines.append(f"{describe_offset(match.hours_apart)} · {slots}")
        block = section("\n".join(lines))
        if mentor.member_id in result.pending_mentor_ids:
            block["text"]["text"] += "\n:hourglass: You've asked; waiting for an answer."
        else:
            block["accessory"] = button(
                "Ask for an intro",
                ids.ASK_INTRO_ACTION,
                value=find_value(result.query, m=mentor.member_id),
                style="primary",
            )
        blocks.append(block)
    if result.has_more:
        blocks.append(
            actions(
                button(
                    "Show more", ids.FIND_MORE_ACTION, find_value(result.query, p=result.page + 1)
                )
            )
        )
    names = ", ".join(m.mentor.name for m in result.shown)
    return {
        "response_type": "ephemeral",
        "replace_original": result.page > 0,
        "text": f"Mentors for {wanted}: {escape(names)}",
        "blocks": blocks,
    }


def _build_no_match(result: FindResult, wanted: str) -> Message:
    text = f"Nobody offers *{wanted}* with a free slot right now."
    blocks: list[dict[str, Any]] = [section(text)]
    if result.nearby:
        nearby = ", ".join(f"`{escape(t)}`" for t in result.nearby)
        blocks.append(section(f"Close to it, with mentors available: {nearby}"))
        blocks.append(
            actions(
                *(
                    button(f"Try {t}", ids.FIND_AGAIN_ACTION, value=find_value(t))
                    for t in result.nearby
                )
            )
        )
    blocks.append(
        actions(
            button(
                "Tell me when someone offers this",
                ids.WISH_ACTION,
                value=find_value(result.query or ", ".join(result.wanted)),
            )
        )
    )
    blocks.append(context("Know someone who could mentor this? Ask them to run `/mentor profile`."))
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


def build_wish_saved(names: list[str]) -> Message:
    listed = ", ".join(f"*{escape(n)}*" for n in names)
    text = f"Done. I'll message you when a mentor with a free slot offers {listed}."
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def build_request_sent(request: MentorRequest) -> Message:
    text = (
        f"Your request is on its way to *{escape(request.mentor.name)}*. Mentors are busy people: "
        "I'll tell you as soon as they answer, and if a few days pass I'll nudge them once."
    )
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": text,
        "blocks": [
            section(text),
            actions(button("Withdraw request", ids.WITHDRAW_REQUEST_ACTION, str(request.id))),
        ],
    }


def build_withdrawn(request: MentorRequest) -> Message:
    text = f"Withdrawn: your request to {escape(request.mentor.name)} is cancelled."
    return {"response_type": "ephemeral", "replace_original": True, "text": text}


def _mentee_card(request: MentorRequest) -> list[dict[str, Any]]:
    mentee = request.mentee
    lines = [f"*Their note:*\n{quote(request.note)}"]
    if mentee.goals:
        lines.append(f"*Goals:* {escape(_short(mentee.goals))}")
    sought = mentee.topic_names(TopicKind.SOUGHT)
    if sought:
        lines.append(f"*Wants to learn:* {', '.join(escape(t) for t in sought)}")
    if mentee.background:
        lines.append(f"*Background:* {escape(_short(mentee.background))}")
    return sections("\n".join(lines))


def _answer_buttons(request: MentorRequest) -> dict[str, Any]:
    return actions(
        button("Accept", ids.ACCEPT_REQUEST_ACTION, str(request.id), style="primary"),
        button("Not now", ids.DECLINE_REQUEST_ACTION, str(request.id)),
    )


def build_intro_request(request: MentorRequest) -> Message:
    head = f"*<@{request.mentee.slack_user_id}> would like you as a mentor.*"
    return {
        "text": f"{request.mentee.name} would like you as a mentor.",
        "blocks": [
            section(head),
            *_mentee_card(request),
            _answer_buttons(request),
            context("Only accept if you have time for it: saying not now kindly is fine."),
        ],
    }


def build_request_reminder(request: MentorRequest) -> Message:
    name = escape(request.mentee.name)
    text = (
        f"A gentle reminder: *{name}* is still waiting to hear whether you can mentor them. "
        "A quick yes or not now both help."
    )
    return {
        "text": f"Reminder: {request.mentee.name} is waiting for your answer.",
        "blocks": [section(text), *_mentee_card(request), _answer_buttons(request)],
    }


def build_request_answered(request: MentorRequest, outcome: str) -> Message:
    """Replaces the mentor's request message once it is answered, so its buttons go away."""
    return {"replace_original": True, "text": outcome, "blocks": [section(outcome)]}


def _next_match_button(request: MentorRequest) -> dict[str, Any]:
    query = request.topic_query or ", ".join(request.mentee.topic_names(TopicKind.SOUGHT))
    return actions(
        button("Find another mentor", ids.FIND_AGAIN_ACTION, find_value(query), style="primary")
    )


def build_request_declined(request: MentorRequest) -> Message:
    name = escape(request.mentor.name)
    text = (
        f"*{name}* can't take you on right now. That's about their time, not about you, and "
        "asking was the right move."
    )
    blocks = [section(text)]
    if request.decline_reason:
        blocks.extend(sections(f"They added:\n{quote(request.decline_reason)}"))
    blocks.append(section("Other mentors offer the same topics. Want to see who?"))
    blocks.append(_next_match_button(request))
    return {"text": f"{request.mentor.name} can't take you on right now.", "blocks": blocks}


def build_request_expired(request: MentorRequest) -> Message:
    name = escape(request.mentor.name)
    text = (
        f"Your request to *{name}* got no answer in time, so I've closed it. Busy weeks "
        "happen; another mentor may be free now."
    )
    return {
        "text": f"Your request to {request.mentor.name} expired.",
        "blocks": [section(text), _next_match_button(request)],
    }


def build_introduction(pairing: Pairing) -> Message:
    mentor, mentee = pairing.mentor, pairing.mentee
    topics = pairing.request.topic_query if pairing.request else ""
    about = f" on *{escape(topics)}*" if topics else ""
    head = (
        f":wave: <@{mentor.slack_user_id}>, meet <@{mentee.slack_user_id}>. "
        f"{escape(mentor.name)} has agreed to mentor {escape(mentee.name)}{about}."
    )
    prepare = (
        "*Before your first session*\n"
        f"• {escape(mentee.name)}: reread your goals and write down the three questions you most "
        "want answered.\n"
        f"• {escape(mentor.name)}: read the goals below and think of one story from your own path "
        "that fits.\n"
        "• Both: agree a time that suits you both and book it here."
    )
    lines = []
    if mentee.goals:
        lines.append(f"*{escape(mentee.name)}'s goals*\n{quote(_short(mentee.goals, 600))}")
    if mentor.background or mentor.experience:
        about_mentor = " ".join(t for t in (mentor.background, mentor.experience) if t)
        lines.append(f"*{escape(mentor.name)}'s background*\n{quote(_short(about_mentor, 600))}")
    blocks = [section(head), section(prepare)]
    for line in lines:
        blocks.extend(sections(line))
    blocks.append(
        actions(
            button(
                "Schedule our first session",
                ids.SCHEDULE_SESSION_ACTION,
                str(pairing.id),
                style="primary",
            )
        )
    )
    return {"text": f"{mentor.name}, meet {mentee.name}.", "blocks": blocks}


def build_partners(partners: list[Member], role: str) -> Message:
    """`role` is what the partners are to the reader: "mentors" or "mentees"."""
    if not partners:
        nudge = (
            "Try `/mentor find` with a topic."
            if role == "mentors"
            else "When someone asks you for an intro, you'll get a DM to accept or decline."
        )
        text = f"You have no {role} right now. {nudge}"
        return {"response_type": "ephemeral", "text": text}
    lines = [f"*Your {role}*"]
    for partner in partners:
        topics = partner.topic_names(TopicKind.OFFERED if role == "mentors" else TopicKind.SOUGHT)
        detail = f" · {', '.join(escape(t) for t in topics)}" if topics else ""
        lines.append(f"• <@{partner.slack_user_id}>{detail}")
    return {"response_type": "ephemeral", "text": "\n".join(lines)}


def build_note(text: str) -> Message:
    """A short ephemeral answer: confirmations, refusals, next steps."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _when(meeting: Meeting) -> str:
    return f"{local_time(meeting.starts_at)} ({meeting.duration_minutes} min)"


def _meeting_buttons(meeting: Meeting) -> dict[str, Any]:
    return actions(
        button("Reschedule", ids.RESCHEDULE_ACTION, str(meeting.id)),
        button("Cancel", ids.CANCEL_MEETING_ACTION, str(meeting.id), style="danger"),
    )


def build_meeting_booked(
    meeting: Meeting, *, moved: bool = False, series: tuple[int, Any] | None = None
) -> Message:
    """To the pair's group DM: when, in each reader's own time zone, and what happens next."""
    pairing = meeting.pairing
    verb = "moved to" if moved else "booked for"
    head = f":calendar: Your session is {verb} {_when(meeting)}."
    if series and series[0] > 1:
        head += (
            f" It repeats every {meeting.cadence_weeks} week(s): {series[0]} sessions, the last "
            f"on {local_time(series[1], '{date_short_pretty}')}."
        )
    lines = [head]
    if meeting.topic:
        lines.append(f"*Topic:* {escape(meeting.topic)}")
    lines.append(
        "Before each session I'll send each of you a short prep note: your partner's background "
        "and a question about what you want to cover. Your answers become a shared agenda."
    )
    text = f"Session {verb} {meeting.starts_at:%Y-%m-%d %H:%M} UTC with {pairing.mentor.name} "
    text += f"and {pairing.mentee.name}."
    return {"text": text, "blocks": [section("\n".join(lines)), _meeting_buttons(meeting)]}


def build_meeting_cancelled(meeting: Meeting, series: bool) -> Message:
    rest = " and the sessions after it in the series" if series else ""
    text = f"The session on {local_time(meeting.starts_at)}{rest} is cancelled."
    nudge = "When you're ready, book another with the button below."
    return {
        "text": text,
        "blocks": [
            section(f":x: {text} {nudge}"),
            actions(
                button("Schedule a session", ids.SCHEDULE_SESSION_ACTION, str(meeting.pairing_id))
            ),
        ],
    }


def _about(partner: Member, *, mentor: bool) -> list[str]:
    """What one person should know about the other before they meet."""
    lines = []
    if mentor:
        topics = partner.topic_names(TopicKind.OFFERED)
        if topics:
            lines.append(f"*Helps with:* {', '.join(escape(t) for t in topics)}")
    elif partner.goals:
        lines.append(f"*Their goals, in their words:*\n{quote(_short(partner.goals, 600))}")
    if partner.background:
        lines.append(f"*Background:* {escape(_short(partner.background, 400))}")
    if partner.experience:
        lines.append(f"*Experience:* {escape(_short(partner.experience, 400))}")
    return lines or ["They haven't written much in their profile yet: ask them about it."]


def build_prep_prompt(meeting: Meeting, reader: Member, previous: Meeting | None) -> Message:
    pairing = meeting.pairing
    partner = pairing.mentee if reader.id == pairing.mentor_id else pairing.mentor
    head = (
        f":memo: *Getting ready for your session with {escape(partner.name)}* on {_when(meeting)}."
    )
    if meeting.topic:
        head += f"\n*Topic:* {escape(meeting.topic)}"
    about = "\n".join(_about(partner, mentor=partner is pairing.mentor))
    blocks = [section(head), *sections(about, budget=PREP_ABOUT_BUDGET)]
    if previous is not None and previous.agenda:
        recap = [_short(item.text, 200) for item in previous.agenda]
        covered = _listed(recap, PREP_LIST_BUDGET, most=8)
        blocks.extend(sections(f"*Last time you planned to cover:*\n{covered}"))
    if previous is not None and previous.advice:
        applying = _listed([_short(a.text, 200) for a in previous.advice], PREP_LIST_BUDGET, most=8)
        who = "you" if reader.id == pairing.mentee_id else escape(pairing.mentee.name)
        blocks.extend(sections(f"*Advice {who} chose to apply after last time:*\n{applying}"))
    ask = (
        "*What do you want to cover?* Reply here with your questions or topics, one per "
        "message. I'll share the combined agenda with you both before the session."
    )
    blocks.append(section(ask))
    blocks.append(
        actions(
            button("Add topics", ids.ADD_TOPICS_ACTION, str(meeting.id)),
            button("Nothing this time", ids.NOTHING_THIS_TIME_ACTION, str(meeting.id)),
        )
    )
    text = f"Getting ready for your session with {partner.name}: what do you want to cover?"
    return {"text": text, "blocks": blocks}


def build_agenda(meeting: Meeting, starters: list[str]) -> Message:
    pairing = meeting.pairing
    head = f":clipboard: *Agenda for your session* {_when(meeting)}"
    blocks = [section(head)]
    if meeting.agenda:
        authors = [p for p in (pairing.mentee, pairing.mentor) if _items_by(meeting, p)]
        for person in authors:
            # The pair share one message, so each person's list gets an equal part of it.
            listed = _listed(_items_by(meeting, person), TEXT_BUDGET // len(authors) - 200)
            blocks.extend(sections(f"*From {escape(person.name)}:*\n{listed}"))
        text = f"Agenda for your session: {len(meeting.agenda)} item(s)."
    else:
        listed = "\n".join(f"• {escape(q)}" for q in starters)
        blocks.append(
            section(
                "Nobody has added anything yet, and that's fine. If you need a place to start, "
                f"{escape(pairing.mentee.name)} could ask:\n{listed}"
            )
        )
        text = "Your session is coming up; here are three questions to start with."
    blocks.append(context("Enjoy the session. I'll check in afterwards."))
    return {"text": text, "blocks": blocks}


def _items_by(meeting: Meeting, person: Member) -> list[str]:
    return [item.text for item in meeting.agenda if item.author_id == person.id]


def _listed(items: list[str], budget: int, most: int | None = None) -> str:
    """Typed items as an escaped bullet list that fits `budget`, saying how many did not."""
    return "\n".join(fit_lines([f"• {escape(item)}" for item in items], budget, max_lines=most))


def build_agenda_added(
    meeting: Meeting, partner_name: str, items: int, open_meetings: int
) -> Message:
    """A short thread reply to a DM that became an agenda item."""
    which = f"your session with {escape(partner_name)} on {local_time(meeting.starts_at)}"
    count = "1 item" if items == 1 else f"{items} items"
    text = f"Added to the agenda for {which}. You have {count} so far."
    if open_meetings > 1:
        text += " (It went to the nearest of your upcoming sessions.)"
    return {"text": text}


def build_meeting_started(meeting: Meeting) -> Message:
    text = (
        f"Your session on {local_time(meeting.starts_at)} has already started, so I didn't add "
        "this to its agenda. Bring it up live, or keep it for next time."
    )
    return {"text": text}


def build_checkin(meeting: Meeting, reader: Member) -> Message:
    partner = (
        meeting.pairing.mentee if reader.id == meeting.pairing.mentor_id else meeting.pairing.mentor
    )
    when = local_time(meeting.starts_at)
    text = f"How was your session with {escape(partner.name)} on {when}? Did it happen?"
    value = str(meeting.id)
    return {
        "text": f"Did your session with {partner.name} happen?",
        "blocks": [
            section(f":wave: {text}"),
            actions(
                button("Yes", ids.CHECKIN_HELD_ACTION, value, style="primary"),
                button("We rescheduled", ids.CHECKIN_RESCHEDULED_ACTION, value),
                button("It didn't happen", ids.CHECKIN_MISSED_ACTION, value),
            ),
        ],
    }


def build_checkin_held(meeting: Meeting, partner: Member, is_mentee: bool) -> Message:
    """Replaces the check-in once answered yes: the next useful steps for this person."""
    value = str(meeting.id)
    if is_mentee:
        text = (
            "Glad it happened! Writing down the advice you'll apply makes it stick, and a "
            f"written thank-you means a lot to {escape(partner.name)}."
        )
        buttons = [
            button("What will I apply?", ids.OPEN_ADVICE_ACTION, value, style="primary"),
            button(shorten(f"Thank {partner.name}", BUTTON_TEXT), ids.THANKS_ACTION, value),
        ]
    else:
        text = f"Thanks for giving your time. Anything to pass on to {escape(partner.name)}?"
        label = shorten(f"Leave a note for {partner.name}", BUTTON_TEXT)
        buttons = [button(label, ids.MENTOR_NOTE_ACTION, value)]
    buttons.append(
        button("Schedule the next session", ids.SCHEDULE_SESSION_ACTION, str(meeting.pairing_id))
    )
    return {"replace_original": True, "text": text, "blocks": [section(text), actions(*buttons)]}


def build_checkin_missed(meeting: Meeting, moved: bool) -> Message:
    text = (
        "Got it. Book the new time so I can send the prep notes."
        if moved
        else "No worries, it happens. Want to find another time?"
    )
    return {
        "replace_original": True,
        "text": text,
        "blocks": [
            section(text),
            actions(
                button("Book another time", ids.SCHEDULE_SESSION_ACTION, str(meeting.pairing_id))
            ),
        ],
    }


def build_advice_saved(count: int, partner: Member) -> Message:
    things = "this" if count == 1 else f"these {count} things"
    text = (
        f"Saved. I'll ask you in a week how applying {things} went. "
        f"Have you thanked {escape(partner.name)} yet? A few written words go a long way."
    )
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def build_followup(meeting: Meeting, advice: list[Advice]) -> Message:
    listed = _listed([a.text for a in advice], TEXT_BUDGET - 200)
    value = str(meeting.id)
    return {
        "text": "How did applying the advice go?",
        "blocks": [
            *sections(f"A week ago you planned to apply:\n{listed}\n*How did it go?*"),
            actions(
                button("It worked", ids.FOLLOWUP_WORKED_ACTION, value, style="primary"),
                button("Still working on it", ids.FOLLOWUP_WORKING_ACTION, value),
                button("It didn't fit", ids.FOLLOWUP_DIDNT_FIT_ACTION, value),
            ),
        ],
    }


def build_followup_answered(outcome: str, meeting: Meeting, mentor: Member) -> Message:
    name = escape(mentor.name)
    if outcome == "worked":
        text = (
            f"That's great to hear! {name} would love to know. Share it with them, and with "
            "everyone if you like: successes are how a mentor sees their time paid off."
        )
        extra = [
            button("Share a success", ids.SHARE_SUCCESS_ACTION, str(meeting.id), style="primary")
        ]
    elif outcome == "working":
        text = "Keep at it: habits take a few tries. Bring what's hard to your next session."
        extra = [button("Schedule a session", ids.SCHEDULE_SESSION_ACTION, str(meeting.pairing_id))]
    else:
        text = (
            f"Thanks for trying it. Not all advice fits; telling {name} why often leads "
            "somewhere better. Add it to your next session's agenda."
        )
        extra = [button("Schedule a session", ids.SCHEDULE_SESSION_ACTION, str(meeting.pairing_id))]
    return {"replace_original": True, "text": text, "blocks": [section(text), actions(*extra)]}


def build_thanks(note: GratitudeNote) -> Message:
    head = f":sparkles: *<@{note.sender.slack_user_id}> sent you a thank-you note:*"
    return {
        "text": f"{note.sender.name} sent you a thank-you note.",
        "blocks": sections(f"{head}\n{quote(note.text)}"),
    }


def build_mentor_note(note: MentorNote, author: Member) -> Message:
    head = f":speech_balloon: *A note from your mentor <@{author.slack_user_id}>:*"
    return {
        "text": f"A note from your mentor {author.name}.",
        "blocks": sections(f"{head}\n{quote(note.text)}"),
    }


def build_continue_check(pairing: Pairing) -> Message:
    text = (
        f"<@{pairing.mentor.slack_user_id}> and <@{pairing.mentee.slack_user_id}>, your last two "
        "sessions didn't happen. Life gets busy, and that's OK. Do you want to keep going?"
    )
    value = str(pairing.id)
    return {
        "text": "Your last two sessions didn't happen. Keep going?",
        "blocks": [
            section(text),
            actions(
                button("Keep going", ids.KEEP_GOING_ACTION, value, style="primary"),
                button("End our mentoring", ids.END_PAIRING_ACTION, value),
            ),
        ],
    }


def build_pairing_ended(pairing: Pairing) -> Message:
    text = (
        f"This mentoring pair has ended. Thank you both, <@{pairing.mentor.slack_user_id}> and "
        f"<@{pairing.mentee.slack_user_id}>. {escape(pairing.mentee.name)}, you can find a new "
        "mentor any time with `/mentor find`."
    )
    return {"text": "This mentoring pair has ended.", "blocks": [section(text)]}


def build_success_to_mentor(success: Success) -> Message:
    assert success.mentor is not None
    head = f":tada: *<@{success.author.slack_user_id}> had a win, and credits you:*"
    post = (
        "They're also sharing it in the success channel in a minute."
        if success.share_publicly
        else "They shared it with you only."
    )
    return {
        "text": f"{success.author.name} had a win and credits you.",
        "blocks": [*sections(f"{head}\n{quote(success.text)}"), context(post)],
    }


def build_success_post(success: Success) -> Message:
    assert success.mentor is not None
    head = (
        f":trophy: *A win from <@{success.author.slack_user_id}>*, with thanks to their mentor "
        f"<@{success.mentor.slack_user_id}>"
    )
    return {
        "text": f"A win from {success.author.name}, with thanks to {success.mentor.name}.",
        "blocks": [
            *sections(f"{head}\n{quote(success.text)}"),
            context(
                "Mentoring works. `/mentor find` to get a mentor, `/mentor profile` to become one."
            ),
            actions(button("Remove (author only)", ids.REMOVE_SUCCESS_ACTION, str(success.id))),
        ],
    }


def build_success_shared(mentor: Member, channel_note: str | None, public: bool) -> Message:
    text = f"Shared with {escape(mentor.name)}."
    if channel_note:
        text += f" {channel_note}"
    elif public:
        text += " It'll appear in the success channel right after they hear about it."
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def build_success_post_failed(success: Success, reason: str) -> Message:
    assert success.mentor is not None
    text = (
        f"I couldn't post your success in the channel: {reason}. It's saved, and "
        f"{escape(success.mentor.name)} has it."
    )
    return {"text": text, "blocks": [section(text)]}


# What the person did that could not reach someone, and a next step, by outbox kind.
_UNDELIVERED = {
    "intro_request": (
        "your request for an intro",
        "`/mentor find` shows other mentors who offer what you're after.",
    ),
    "thanks": ("your thank-you note", "It's saved; a word in person would do it too."),
    "mentor_note": ("your note", "It's saved, if you'd like to pass it on another way."),
    "success_to_mentor": ("your success", "It's saved; `/mentor success` can share it again."),
    "meeting_booked": (
        "the session you booked",
        "The session is still in your calendar here; check with them before you meet.",
    ),
    "introduction": ("your introduction", "`/mentor mentees` shows who you're mentoring."),
}
_ACCOUNT_GONE = frozenset({"account_inactive", "user_not_found", "user_disabled"})


def build_delivery_failed(kind: str, recipient: str | None, error: str) -> Message:
    """Tell the person whose action caused a message that it can never arrive, and why."""
    what, next_step = _UNDELIVERED.get(kind, ("a message about what you did", ""))
    if error in _ACCOUNT_GONE:
        why = "their Slack account is no longer active"
    elif error == "is_archived":
        why = "the conversation has been archived"
    elif error in {"channel_not_found", "not_in_channel"}:
        why = "I can't reach that conversation any more"
    else:
        why = f"Slack kept refusing it ({escape(error) or 'no reason given'})"
    who = escape(recipient) if recipient else "They"
    text = f"{who} couldn't get {what}: {why}. {next_step}".strip()
    return {"text": text, "blocks": [section(text)]}


def build_reframe(member: Member, *, after_success: bool) -> Message:
    learned = member.topic_names(TopicKind.SOUGHT)
    topic = f" on *{escape(learned[0])}*" if learned else ""
    why = (
        "Congratulations on your win!"
        if after_success
        else "Three sessions in: you've been putting real work into this."
    )
    text = (
        f"{why} One of the best ways to keep growing is to mentor someone else, maybe{topic}, "
        "which you've been learning yourself. You'd set how many mentees you take."
    )
    return {
        "text": "Would you like to mentor someone too?",
        "blocks": [
            section(f":seedling: {text}"),
            actions(button("Become a mentor", ids.BECOME_MENTOR_ACTION, style="primary")),
            context(OUTSIDE_WORK),
        ],
    }


def build_digest(month_start: Any, held: int, thanks: int, wins: int) -> Message:
    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    month = f"{month_start:%B}"
    text = (
        f":bar_chart: *Your mentoring in {month}:* {count(held, 'session held', 'sessions held')}, "
        f"{count(thanks, 'thank-you note', 'thank-you notes')}, "
        f"{count(wins, 'success credited to you', 'successes credited to you')}. "
        "Thank you for giving your time."
    )
    return {"text": f"Your mentoring in {month}.", "blocks": [section(text)]}


NO_MENTOR_YET = (
    "Successes are shared with the mentor who helped, and you don't have one yet. "
    "Start with `/mentor find <topic>`."
)


def build_continue_answered(pairing: Pairing, keep: bool) -> Message:
    if keep:
        text = "Glad you're keeping going. Pick a time that really works for you both."
        blocks = [
            section(text),
            actions(button("Schedule a session", ids.SCHEDULE_SESSION_ACTION, str(pairing.id))),
        ]
    else:
        text = "Done: I've ended this mentoring pair and let you both know. Thank you for trying."
        blocks = [section(text)]
    return {"replace_original": True, "text": text, "blocks": blocks}
