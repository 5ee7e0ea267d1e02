"""What people see while finding a mentor: forms, matches, requests, and their renderers."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core import ids
from bot.core.block_limits import sections, shorten
from bot.core.blocks import (
    Message,
    View,
    actions,
    button,
    context,
    modal,
    one_line,
    plain,
    plain_option,
    section,
    text_input,
)
from bot.core.models import (
    DEFAULT_CAPACITY,
    MAX_CAPACITY,
    Member,
    MentorRequest,
    OutboxMessage,
    Pairing,
    PairingStatus,
    RequestStatus,
    TopicKind,
    Wish,
)
from bot.core.mrkdwn import escape, quote
from bot.core.outbox import Outgoing, Rendered, Renderer, Skip
from bot.core.settings import QuietHours
from bot.find.matching import Match, describe_offset
from bot.find.topics import MAX_TOPICS

if TYPE_CHECKING:
    from bot.find.finding import FindResult


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
        lines.append(f"*Your goals:* {escape(shorten(member.goals, 280))}")
    if member.work_start is not None and member.work_end is not None:
        lines.append(
            f"*Your working hours:* {member.work_start:%H:%M} to {member.work_end:%H:%M} your time "
            "(I'll keep quiet outside them)"
        )
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


def find_value(query: str, **extra: Any) -> str:
    """Button values carry the search so the next step can repeat it (Slack allows 2000 chars)."""
    return json.dumps({"q": query[:200], **extra}, separators=(",", ":"))


def build_find_results(result: FindResult) -> Message:
    wanted = ", ".join(escape(t) for t in result.wanted)
    if not result.matches:
        return _build_no_match(result, wanted)
    start = result.page * 3 + 1
    head = (
        f"*Mentors for {wanted}* ({result.total} found). Pick someone whose path fits "
        "your goals, and ask for an intro with a short note."
        if result.page == 0
        else f"*More mentors for {wanted}* ({start} to {start + len(result.shown) - 1} of "
        f"{result.total})"
    )
    blocks: list[dict[str, Any]] = [section(head)]
    for match in result.shown:
        mentor = match.mentor
        offers = ", ".join(escape(t) for t in match.matched_topics)
        lines = [f"*{escape(mentor.name)}* · offers {offers}"]
        if mentor.background or mentor.experience:
            lines.append(f"_{escape(one_line(mentor.background or mentor.experience))}_")
        if match.goal_words:
            words = ", ".join(f"*{escape(word)}*" for word in match.goal_words)
            lines.append(f"Matches your goal: {words}")
        slots = "1 free slot" if match.free_slots == 1 else f"{match.free_slots} free slots"
        lines.append(f"{_awake_line(match)} · {slots}")
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


def _awake_line(match: Match) -> str:
    """When both are awake, on the seeker's clock, with the time difference beside it."""
    offset = describe_offset(match.hours_apart)
    if not match.both_awake:
        return (
            f"Your waking hours don't meet ({offset}): one of you would stretch a morning "
            "or evening"
        )
    if match.overlap_hours >= 24:
        # No quiet hours for either: every hour is shared, so only the offset says anything.
        return offset
    spans = " and ".join(f"{start:%H:%M}\u2013{end:%H:%M}" for start, end in match.both_awake)
    return f"You're both awake {spans} your time ({offset})"


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
    if request.topic_query:
        lines.append(f"*Asking about:* {escape(request.topic_query)}")
    # The goal they gave for this topic; requests from before goals were per topic have none.
    goal = request.goal or mentee.goals
    if goal:
        lines.append(f"*What they want from it:* {escape(shorten(goal, 280))}")
    if mentee.background:
        lines.append(f"*Background:* {escape(shorten(mentee.background, 280))}")
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


def _request_closed(request: MentorRequest, text: str, fallback: str) -> Message:
    """To a mentee whose request closed without a yes: why, then a button for the next matches."""
    return {"text": fallback, "blocks": [section(text), _next_match_button(request)]}


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
    return _request_closed(
        request,
        f"Your request to *{escape(request.mentor.name)}* got no answer in time, so I've closed "
        "it. Busy weeks happen; another mentor may be free now.",
        f"Your request to {request.mentor.name} expired.",
    )


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
    goal = (pairing.request.goal if pairing.request else "") or mentee.goals
    if goal:
        lines.append(f"*{escape(mentee.name)}'s goals*\n{quote(shorten(goal, 600))}")
    if mentor.background or mentor.experience:
        about_mentor = " ".join(t for t in (mentor.background, mentor.experience) if t)
        lines.append(f"*{escape(mentor.name)}'s background*\n{quote(shorten(about_mentor, 600))}")
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


NO_MENTOR_YET = (
    "Successes are shared with the mentor who helped, and you don't have one yet. "
    "Start with `/mentor find <topic>`."
)


def build_profile_modal(
    member: Member | None,
    private_metadata: str = "",
    *,
    as_mentor: bool = False,
    default_hours: QuietHours | None = None,
) -> View:
    """The create-or-edit profile form, filled with what we already know.

    `as_mentor` (from "Become a mentor") ticks the mentor role in the form only: nothing
    changes until Save, so Cancel leaves the person as they were. `default_hours` is the
    program's QUIET_HOURS: the working day it leaves is what the time pickers start from."""
    role_options = [
        plain_option("I'd like a mentor", ids.ROLE_MENTEE),
        plain_option("I'd like to mentor others", ids.ROLE_MENTOR),
    ]
    fresh = member is None or member.profile_saved_at is None
    roles = {
        ids.ROLE_MENTEE: (fresh and not as_mentor) or (member is not None and member.is_mentee),
        ids.ROLE_MENTOR: as_mentor or (member is not None and member.is_mentor),
    }
    checkboxes: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ids.PROFILE_ROLES_ACTION,
        "options": role_options,
    }
    chosen = [option for option in role_options if roles[option["value"]]]
    if chosen:
        checkboxes["initial_options"] = chosen
    capacity = member.capacity if member is not None else DEFAULT_CAPACITY
    topics_hint = f"Separate topics with commas, up to {MAX_TOPICS}."
    return modal(
        ids.PROFILE_CALLBACK,
        "Your mentoring profile",
        "Save",
        private_metadata,
        blocks=[
            section(
                "A few lines are enough. Mentors and mentees read this before they "
                "meet you, so say what you want and what you bring."
            ),
            {
                "type": "input",
                "block_id": ids.PROFILE_ROLES_BLOCK,
                "label": plain("What are you here for?"),
                "element": checkboxes,
            },
            text_input(
                ids.PROFILE_SOUGHT_BLOCK,
                ids.PROFILE_SOUGHT_ACTION,
                "Topics you want to learn",
                initial=_topics(member, TopicKind.SOUGHT),
                placeholder="public speaking, career growth",
                hint=topics_hint,
                max_length=600,
            ),
            text_input(
                ids.PROFILE_GOALS_BLOCK,
                ids.PROFILE_GOALS_ACTION,
                "Your goals for mentoring",
                initial=member.goals if member else "",
                placeholder="What do you want to be able to do in six months, and why?",
                multiline=True,
            ),
            text_input(
                ids.PROFILE_OFFERED_BLOCK,
                ids.PROFILE_OFFERED_ACTION,
                "Topics you can help with (mentors)",
                initial=_topics(member, TopicKind.OFFERED),
                placeholder="python, code review, leading a team",
                hint=topics_hint,
                max_length=600,
            ),
            text_input(
                ids.PROFILE_BACKGROUND_BLOCK,
                ids.PROFILE_BACKGROUND_ACTION,
                "Your background",
                initial=member.background if member else "",
                placeholder="Your role, team, and the path that got you here.",
                multiline=True,
            ),
            text_input(
                ids.PROFILE_EXPERIENCE_BLOCK,
                ids.PROFILE_EXPERIENCE_ACTION,
                "Experience worth sharing",
                initial=member.experience if member else "",
                placeholder="Projects, wins and lessons a partner could learn from.",
                multiline=True,
            ),
            {
                "type": "input",
                "block_id": ids.PROFILE_CAPACITY_BLOCK,
                "label": plain("How many mentees can you take at once? (mentors)"),
                "element": {
                    "type": "number_input",
                    "action_id": ids.PROFILE_CAPACITY_ACTION,
                    "is_decimal_allowed": False,
                    "min_value": "1",
                    "max_value": str(MAX_CAPACITY),
                    "initial_value": str(capacity),
                },
                "optional": True,
            },
            *_working_hours_inputs(member, default_hours),
        ],
    )


def _working_hours_inputs(
    member: Member | None, default_hours: QuietHours | None
) -> list[dict[str, Any]]:
    """Two time pickers; the quiet hours are the rest of the day, on the person's own clock."""
    start, end = (member.work_start, member.work_end) if member else (None, None)
    if (start is None or end is None) and default_hours is not None:
        start, end = default_hours.end, default_hours.start
    usual = (
        f" The usual day here is {default_hours.end:%H:%M} to {default_hours.start:%H:%M}."
        if default_hours is not None
        else ""
    )
    zone = f" ({member.tz})" if member is not None and member.tz else ""
    pickers = []
    for block, action, label, initial, hint in (
        (
            ids.PROFILE_WORK_START_BLOCK,
            ids.PROFILE_WORK_START_ACTION,
            "Your working day starts",
            start,
            None,
        ),
        (
            ids.PROFILE_WORK_END_BLOCK,
            ids.PROFILE_WORK_END_ACTION,
            "…and ends",
            end,
            f"In your own time zone{zone}. Outside these hours I hold messages until you're "
            f"back, and partners see when you're both around.{usual}",
        ),
    ):
        element: dict[str, Any] = {"type": "timepicker", "action_id": action}
        if initial is not None:
            element["initial_time"] = f"{initial:%H:%M}"
        picker: dict[str, Any] = {
            "type": "input",
            "block_id": block,
            "label": plain(label),
            "element": element,
            "optional": True,
        }
        if hint:
            picker["hint"] = plain(hint)
        pickers.append(picker)
    return pickers


def _topics(member: Member | None, kind: TopicKind) -> str:
    return ", ".join(member.topic_names(kind)) if member else ""


def goal_example(topics: str) -> str:
    """A goal placeholder for whatever the person asked about: no one else's example topic."""
    first = topics.split(",")[0].strip()
    if not first:
        return "Something I want to be able to do in six months, and why it matters to me…"
    return f"With {shorten(first, 60)}, I want to be able to … by …, because …"


def build_goals_modal(
    member: Member | None, query: str, private_metadata: str, *, new_topic: bool = False
) -> View:
    """Before searching: what does this person want from mentoring, and on which topics?

    `new_topic`: they have a goal already, but not for these topics, so the form asks about
    these alone and starts empty rather than showing what they wanted from something else.
    """
    topics = query or _topics(member, TopicKind.SOUGHT)
    intro = (
        "The best mentoring starts with knowing what you want from it. "
        "Mentors read this when you ask them for an intro."
    )
    question = "What do you want to learn or get better at, and why?"
    goal = member.goals if member else ""
    if new_topic:
        named = shorten(topics, 100)
        intro = (
            f"What do you want from *{escape(named)}*? Mentors you ask read this beside your "
            "note, so a line about this topic helps them say yes."
        )
        question, goal = f"What do you want from {named}, and why?", ""
    return modal(
        ids.GOALS_CALLBACK,
        "What do you want?",
        "Find mentors",
        private_metadata,
        blocks=[
            section(intro),
            text_input(
                ids.GOALS_BLOCK,
                ids.GOALS_ACTION,
                question,
                initial=goal,
                placeholder=goal_example(topics),
                multiline=True,
                optional=False,
            ),
            text_input(
                ids.GOALS_TOPICS_BLOCK,
                ids.GOALS_TOPICS_ACTION,
                "Topics",
                initial=topics,
                placeholder="public speaking, storytelling",
                hint=f"Separate topics with commas, up to {MAX_TOPICS}.",
                optional=False,
                max_length=600,
            ),
        ],
    )


def build_intro_modal(mentor: Member, private_metadata: str) -> View:
    """The short note that turns 'I'd like a mentor' into a real ask."""
    return modal(
        ids.INTRO_CALLBACK,
        "Ask for an intro",
        "Send request",
        private_metadata,
        blocks=[
            section(
                f"*{escape(mentor.name)}* will see your note, your goals and your "
                "background, and can accept or say not now."
            ),
            text_input(
                ids.INTRO_NOTE_BLOCK,
                ids.INTRO_NOTE_ACTION,
                "Your note",
                placeholder="Why them, and what you hope to learn. Three or four sentences.",
                multiline=True,
                optional=False,
            ),
        ],
    )


def build_decline_modal(mentee_name: str, private_metadata: str) -> View:
    return modal(
        ids.DECLINE_CALLBACK,
        "Not now",
        "Send",
        private_metadata,
        close="Back",
        blocks=[
            section(
                f"I'll let *{escape(mentee_name)}* know kindly and point them to "
                "other mentors. A word from you is optional but appreciated."
            ),
            text_input(
                ids.DECLINE_REASON_BLOCK,
                ids.DECLINE_REASON_ACTION,
                "A kind word (optional)",
                placeholder="My calendar is full until spring, but I'm rooting for you!",
                multiline=True,
                max_length=500,
            ),
        ],
    )


# Renderers: each loads its rows' requests (with both people) in one query.


def _requests(session: Session, rows: list[OutboxMessage]) -> dict[int, MentorRequest]:
    found = session.scalars(
        select(MentorRequest)
        .where(MentorRequest.id.in_([row.subject_id for row in rows]))
        .options(
            selectinload(MentorRequest.mentee).selectinload(Member.topics),
            selectinload(MentorRequest.mentor),
        )
    )
    return {request.id: request for request in found}


def _renderer(build: Callable[[MentorRequest], Message], only: RequestStatus) -> Renderer:
    """Render each row's request with `build`, unless the request has left status `only`."""

    def render(session: Session, rows: list[OutboxMessage], now: datetime) -> dict[int, Rendered]:
        requests = _requests(session, rows)
        rendered: dict[int, Rendered] = {}
        for row in rows:
            request = requests.get(row.subject_id or 0)
            if request is None:
                rendered[row.id] = Skip("the request is gone")
            elif request.status != only:
                rendered[row.id] = Skip(f"the request is {request.status.value}")
            else:
                rendered[row.id] = Outgoing.of(build(request))
        return rendered

    return render


def _pairings(session: Session, rows: list[OutboxMessage]) -> dict[int, Pairing]:
    found = session.scalars(
        select(Pairing)
        .where(Pairing.id.in_([row.subject_id for row in rows]))
        .options(
            selectinload(Pairing.mentor).selectinload(Member.topics),
            selectinload(Pairing.mentee).selectinload(Member.topics),
            selectinload(Pairing.request),
        )
    )
    return {pairing.id: pairing for pairing in found}


def render_introduction(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    pairings = _pairings(session, rows)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        pairing = pairings.get(row.subject_id or 0)
        if pairing is None or pairing.status != PairingStatus.ACTIVE:
            rendered[row.id] = Skip("the pairing has ended")
            continue
        message = build_introduction(pairing)
        rendered[row.id] = Outgoing.of(message)
    return rendered


INTROS_RENDERERS: dict[str, Renderer] = {
    "intro_request": _renderer(build_intro_request, RequestStatus.PENDING),
    "request_reminder": _renderer(build_request_reminder, RequestStatus.PENDING),
    "request_declined": _renderer(build_request_declined, RequestStatus.DECLINED),
    "request_expired": _renderer(build_request_expired, RequestStatus.EXPIRED),
    "introduction": render_introduction,
}


def render_wish_fulfilled(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    wishes = {
        wish.id: wish
        for wish in session.scalars(select(Wish).where(Wish.id.in_([r.subject_id for r in rows])))
    }
    rendered: dict[int, Rendered] = {}
    for row in rows:
        wish = wishes.get(row.subject_id or 0)
        if wish is None:
            rendered[row.id] = Skip("the wish was removed")
            continue
        text = (
            f"Good news: someone now offers *{escape(wish.topic_name)}*, and has room for a "
            "mentee. Want to take a look?"
        )
        actions = {
            "type": "actions",
            "elements": [
                button(
                    "Find a mentor",
                    ids.FIND_AGAIN_ACTION,
                    value=find_value(wish.topic_name),
                    style="primary",
                )
            ],
        }
        rendered[row.id] = Outgoing(text=text, blocks=[section(text), actions])
    return rendered


WISHES_RENDERERS = {"wish_fulfilled": render_wish_fulfilled}


# Requests closed because of someone else's answer or departure (issue 11, points 3 and 5).


def _about(request: MentorRequest) -> str:
    return f" for *{escape(request.topic_query)}*" if request.topic_query else ""


def build_request_withdrawn(request: MentorRequest) -> Message:
    """To a mentor: the mentee found a mentor for this topic elsewhere, so the ask is off."""
    name = escape(request.mentee.name)
    text = (
        f"*{name}* has found a mentor{_about(request)}, so I've withdrawn their request to you. "
        "Nothing to do; thank you for being open to it."
    )
    return {
        "text": f"{request.mentee.name} found a mentor; their request is withdrawn.",
        "blocks": [section(text)],
    }


def build_requests_withdrawn(pairing: Pairing, withdrawn: list[MentorRequest]) -> Message:
    """To a mentee: which of their other requests closed when one mentor said yes."""
    names = ", ".join(f"*{escape(r.mentor.name)}*" for r in withdrawn)
    text = (
        f"Since *{escape(pairing.mentor.name)}* is now your mentor, I've withdrawn your other "
        f"requests on the same topics, to {names}, and let them know kindly. "
        "One mentor per topic keeps everyone's time well spent."
    )
    plain_names = ", ".join(r.mentor.name for r in withdrawn)
    return {"text": f"I withdrew your other requests, to {plain_names}.", "blocks": [section(text)]}


def build_request_full(request: MentorRequest) -> Message:
    """To a mentee: the mentor's last slot went to someone else, so we don't keep them waiting."""
    return _request_closed(
        request,
        f"*{escape(request.mentor.name)}* is full now: their last mentee slot was just taken, "
        "so I've closed your request rather than keep you waiting. Other mentors offer the "
        "same topics.",
        f"{request.mentor.name} is full now, so your request is closed.",
    )


def build_request_mentor_left(request: MentorRequest) -> Message:
    return _request_closed(
        request,
        f"*{escape(request.mentor.name)}* is no longer in this workspace, so I've closed your "
        "request to them. Other mentors offer the same topics.",
        f"{request.mentor.name} has left, so your request is closed.",
    )


def build_request_mentee_left(request: MentorRequest) -> Message:
    name = escape(request.mentee.name)
    text = f"*{name}* is no longer in this workspace, so their request to you is closed."
    return {
        "text": f"{request.mentee.name} has left; their request is closed.",
        "blocks": [section(text)],
    }


def render_requests_withdrawn(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    """The requests withdrawn by an accept are the mentee's withdrawn at the pairing's start."""
    pairings = _pairings(session, rows)
    withdrawn: dict[tuple[int, datetime | None], list[MentorRequest]] = defaultdict(list)
    if pairings:
        for request in session.scalars(
            select(MentorRequest)
            .where(
                MentorRequest.mentee_id.in_({p.mentee_id for p in pairings.values()}),
                MentorRequest.status == RequestStatus.WITHDRAWN,
                MentorRequest.responded_at.in_({p.started_at for p in pairings.values()}),
            )
            .options(selectinload(MentorRequest.mentor))
            .order_by(MentorRequest.id)
        ):
            withdrawn[(request.mentee_id, request.responded_at)].append(request)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        pairing = pairings.get(row.subject_id or 0)
        if pairing is None:
            rendered[row.id] = Skip("the pairing is gone")
            continue
        closed = withdrawn.get((pairing.mentee_id, pairing.started_at))
        rendered[row.id] = (
            Outgoing.of(build_requests_withdrawn(pairing, closed))
            if closed
            else Skip("no request was withdrawn")
        )
    return rendered


CLOSING_RENDERERS: dict[str, Renderer] = {
    "request_withdrawn": _renderer(build_request_withdrawn, RequestStatus.WITHDRAWN),
    "requests_withdrawn": render_requests_withdrawn,
    "request_full": _renderer(build_request_full, RequestStatus.EXPIRED),
    "request_mentor_left": _renderer(build_request_mentor_left, RequestStatus.EXPIRED),
    "request_mentee_left": _renderer(build_request_mentee_left, RequestStatus.WITHDRAWN),
}
