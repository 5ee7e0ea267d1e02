"""What people see after a session: check-ins, advice, thanks, successes, their renderers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.core import ids
from bot.core.block_limits import BUTTON_TEXT, OPTION_TEXT, TEXT_BUDGET, sections, shorten
from bot.core.blocks import (
    Message,
    View,
    _listed,
    actions,
    button,
    context,
    modal,
    plain,
    plain_option,
    section,
    text_input,
)
from bot.core.models import (
    Advice,
    GratitudeNote,
    Meeting,
    MeetingStatus,
    Member,
    MentorNote,
    OutboxMessage,
    Pairing,
    PairingStatus,
    Success,
    TopicKind,
)
from bot.core.mrkdwn import escape, local_time, quote
from bot.core.outbox import Outgoing, Rendered, Renderer, Skip
from bot.find.blocks import find_value
from bot.respect.successes import TEXT_LIMIT as SUCCESS_LIMIT


def build_checkin(meeting: Meeting, reader: Member) -> Message:
    partner = (
        meeting.pairing.mentee if reader.id == meeting.pairing.mentor_id else meeting.pairing.mentor
    )
    when = local_time(meeting.starts_at, readers=[reader])
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


def build_pairing_ended(
    pairing: Pairing, recipient: Member | None = None, thanks: GratitudeNote | None = None
) -> Message:
    """To the one who did not end it (or to both, when nobody did): kind, with a next step."""
    if recipient is None:
        text = (
            f"This mentoring pair has ended. Thank you both, <@{pairing.mentor.slack_user_id}> "
            f"and <@{pairing.mentee.slack_user_id}>. {escape(pairing.mentee.name)}, you can find "
            "a new mentor any time with `/mentor find`."
        )
        return {"text": "This mentoring pair has ended.", "blocks": [section(text)]}
    is_mentee = recipient.id == pairing.mentee_id
    other = pairing.mentor if is_mentee else pairing.mentee
    name = escape(other.name)
    if is_mentee:
        head = (
            f"Your mentoring with {name} has come to a close. Thank you for the time you put in "
            "together: what you learned stays with you."
        )
        after = "When you're ready, another mentor can pick up where you left off."
    else:
        head = (
            f"Your mentoring with {name} has come to a close. Thank you for giving them your "
            "time; your mentee slot is free again."
        )
        after = "Nothing else to do: I've cancelled any sessions you had booked together."
    if not other.is_active:
        # They left the workspace (bot/find/leaving.py): say so, so nobody wonders why.
        head = f"*{name}* is no longer in this workspace, so {head[0].lower()}{head[1:]}"
    blocks = [section(head)]
    if thanks is not None:
        blocks.extend(sections(f"*They left you a last thank-you:*\n{quote(thanks.text)}"))
    blocks.append(section(after))
    if is_mentee:
        query = (
            pairing.request.topic_query
            if pairing.request and pairing.request.topic_query
            else ", ".join(recipient.topic_names(TopicKind.SOUGHT))
        )
        blocks.append(
            actions(
                button(
                    "Find another mentor", ids.FIND_AGAIN_ACTION, find_value(query), style="primary"
                )
            )
        )
    return {"text": f"Your mentoring with {other.name} has come to a close.", "blocks": blocks}


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


def build_success_shared(
    mentor: Member, channel_note: str | None, public: bool, channel: str | None = None
) -> Message:
    """`channel` is the success channel as people know it ("#wins"), never its id."""
    text = f"Shared with {escape(mentor.name)}."
    if channel_note:
        text += f" {channel_note}"
    elif public:
        text += (
            f" It'll appear in {escape(channel or 'the success channel')} right after they "
            "hear about it."
        )
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def build_success_post_failed(success: Success, reason: str) -> Message:
    assert success.mentor is not None
    text = (
        f"I couldn't post your success in the channel: {reason}. It's saved, and "
        f"{escape(success.mentor.name)} has it."
    )
    return {"text": text, "blocks": [section(text)]}


def build_continue_answered(pairing: Pairing, keep: bool, user_id: str) -> Message:
    if keep:
        text = "Glad you're keeping going. Pick a time that really works for you both."
        blocks = [
            section(text),
            actions(button("Schedule a session", ids.SCHEDULE_SESSION_ACTION, str(pairing.id))),
        ]
        return {"replace_original": True, "text": text, "blocks": blocks}
    # Only the person who ended it reads this; their partner hears once, by their own DM.
    ender_is_mentee = pairing.mentee.slack_user_id == user_id
    partner = pairing.mentor if ender_is_mentee else pairing.mentee
    text = (
        f"Done: your mentoring with {escape(partner.name)} has ended, and I've let them know "
        "kindly. Thank you for giving it a go."
    )
    if ender_is_mentee:
        text += " When you're ready, `/mentor find` shows other mentors."
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def build_advice_modal(mentor_name: str, private_metadata: str) -> View:
    return modal(
        ids.ADVICE_CALLBACK,
        "Advice to apply",
        "Save",
        private_metadata,
        [
            text_input(
                ids.ADVICE_BLOCK,
                ids.ADVICE_ACTION,
                f"What advice from {mentor_name} will you put into practice?",
                placeholder="One per line, e.g. Ask for feedback on one small thing each week",
                multiline=True,
                optional=False,
                max_length=3000,
            )
        ],
    )


def build_thanks_modal(recipient_name: str, private_metadata: str, initial: str = "") -> View:
    return modal(
        ids.THANKS_CALLBACK,
        "Say thank you",
        "Send",
        private_metadata,
        [
            text_input(
                ids.THANKS_BLOCK,
                ids.THANKS_ACTION_ID,
                f"Your note to {recipient_name}",
                initial=initial,
                placeholder="What they did, and what difference it made for you.",
                multiline=True,
                optional=False,
            )
        ],
    )


def build_mentor_note_modal(mentee_name: str, private_metadata: str) -> View:
    return modal(
        ids.MENTOR_NOTE_CALLBACK,
        "A note for your mentee",
        "Send",
        private_metadata,
        [
            text_input(
                ids.MENTOR_NOTE_BLOCK,
                ids.MENTOR_NOTE_ACTION_ID,
                f"Your note or follow-up for {mentee_name}",
                placeholder="A resource, a homework idea, or encouragement.",
                multiline=True,
                optional=False,
            )
        ],
    )


def build_success_modal(
    mentors: list[Member],
    default_mentor_id: int | None,
    private_metadata: str,
    *,
    text: str = "",
    channel: str | None = None,
) -> View:
    """What happened, who to credit, and who gets to hear about it."""
    mentor_options = [plain_option(shorten(m.name, OPTION_TEXT), str(m.id)) for m in mentors[:100]]
    mentor_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": ids.SUCCESS_MENTOR_ACTION,
        "options": mentor_options,
    }
    default = next((o for o in mentor_options if o["value"] == str(default_mentor_id)), None)
    if default:
        mentor_select["initial_option"] = default
    blocks: list[dict[str, Any]] = [
        text_input(
            ids.SUCCESS_TEXT_BLOCK,
            ids.SUCCESS_TEXT_ACTION,
            "What happened?",
            initial=text,
            placeholder="What you did, what changed, and how your mentor helped.",
            multiline=True,
            optional=False,
            max_length=SUCCESS_LIMIT,
        ),
        {
            "type": "input",
            "block_id": ids.SUCCESS_MENTOR_BLOCK,
            "label": plain("Which mentor helped?"),
            "element": mentor_select,
        },
    ]
    if channel:
        only_mentor = plain_option("My mentor only", "mentor")
        blocks.append(
            {
                "type": "input",
                "block_id": ids.SUCCESS_SCOPE_BLOCK,
                "label": plain("Who should hear about it?"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.SUCCESS_SCOPE_ACTION,
                    "options": [only_mentor, plain_option(f"My mentor, then {channel}", "public")],
                    "initial_option": only_mentor,
                },
            }
        )
    else:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "No success channel is set up here, so this goes to your mentor.",
                    }
                ],
            }
        )
    return modal(ids.SUCCESS_CALLBACK, "Share a success", "Share", private_metadata, blocks)


# Renderers


def _meetings(session: Session, ids_: set[int]) -> dict[int, Meeting]:
    return {
        meeting.id: meeting
        for meeting in session.scalars(
            select(Meeting)
            .where(Meeting.id.in_(ids_))
            .options(
                selectinload(Meeting.pairing).selectinload(Pairing.mentor),
                selectinload(Meeting.pairing).selectinload(Pairing.mentee),
                selectinload(Meeting.advice),
            )
        )
    }


def render_checkin(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    meetings = _meetings(session, {row.subject_id for row in rows if row.subject_id})
    rendered: dict[int, Rendered] = {}
    for row in rows:
        meeting = meetings.get(row.subject_id or 0)
        if meeting is None or meeting.status == MeetingStatus.CANCELLED:
            rendered[row.id] = Skip("the session was cancelled")
            continue
        pairing = meeting.pairing
        reader = pairing.mentor if row.recipient_member_id == pairing.mentor_id else pairing.mentee
        rendered[row.id] = Outgoing.of(build_checkin(meeting, reader))
    return rendered


def render_followup(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    meetings = _meetings(session, {row.subject_id for row in rows if row.subject_id})
    rendered: dict[int, Rendered] = {}
    for row in rows:
        meeting = meetings.get(row.subject_id or 0)
        advice = (
            [a for a in meeting.advice if a.mentee_id == row.recipient_member_id] if meeting else []
        )
        if meeting is None or not advice:
            rendered[row.id] = Skip("no advice to follow up on")
        else:
            rendered[row.id] = Outgoing.of(build_followup(meeting, advice))
    return rendered


def render_thanks(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    notes = {
        note.id: note
        for note in session.scalars(
            select(GratitudeNote)
            .where(GratitudeNote.id.in_({row.subject_id for row in rows}))
            .options(selectinload(GratitudeNote.sender))
        )
    }
    return {
        row.id: Outgoing.of(build_thanks(notes[row.subject_id]))
        if row.subject_id in notes
        else Skip("the note is gone")
        for row in rows
    }


def render_mentor_note(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    notes = {
        note.id: note
        for note in session.scalars(
            select(MentorNote).where(MentorNote.id.in_({row.subject_id for row in rows}))
        )
    }
    authors = {
        member.id: member
        for member in session.scalars(
            select(Member).where(Member.id.in_({n.author_id for n in notes.values()}))
        )
    }
    return {
        row.id: Outgoing.of(
            build_mentor_note(notes[row.subject_id], authors[notes[row.subject_id].author_id])
        )
        if row.subject_id in notes
        else Skip("the note is gone")
        for row in rows
    }


def _pairings(session: Session, rows: list[OutboxMessage]) -> dict[int, Pairing]:
    return {
        pairing.id: pairing
        for pairing in session.scalars(
            select(Pairing)
            .where(Pairing.id.in_({row.subject_id for row in rows}))
            .options(selectinload(Pairing.mentor), selectinload(Pairing.mentee))
        )
    }


def render_continue_check(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    pairings = _pairings(session, rows)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        pairing = pairings.get(row.subject_id or 0)
        if pairing is None or pairing.status != PairingStatus.ACTIVE:
            rendered[row.id] = Skip("the pairing has ended")
        else:
            rendered[row.id] = Outgoing.of(build_continue_check(pairing))
    return rendered


def render_pairing_ended(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    pairings = _pairings(session, rows)
    ended = [p for p in pairings.values() if p.ended_at is not None]
    # A last thank-you written with `/mentor end` travels in the same message, not a second one.
    last_thanks = {
        (note.from_member_id, note.to_member_id): note
        for note in session.scalars(
            select(GratitudeNote)
            .where(
                or_(
                    *(
                        and_(
                            GratitudeNote.from_member_id.in_([p.mentor_id, p.mentee_id]),
                            GratitudeNote.to_member_id.in_([p.mentor_id, p.mentee_id]),
                            GratitudeNote.created_at == p.ended_at,
                        )
                        for p in ended
                    ),
                    false(),
                )
            )
            .order_by(GratitudeNote.id)
        )
    }
    members = {
        m.id: m
        for m in session.scalars(
            select(Member).where(Member.id.in_({r.recipient_member_id for r in rows}))
        )
    }
    rendered: dict[int, Rendered] = {}
    for row in rows:
        pairing = pairings.get(row.subject_id or 0)
        recipient = members.get(row.recipient_member_id or 0)
        if pairing is None:
            rendered[row.id] = Skip("the pairing is gone")
            continue
        thanks = None
        if recipient is not None:
            other = pairing.mentor_id if recipient.id == pairing.mentee_id else pairing.mentee_id
            thanks = last_thanks.get((other, recipient.id))
        rendered[row.id] = Outgoing.of(build_pairing_ended(pairing, recipient, thanks))
    return rendered


CHECKINS_RENDERERS = {
    "checkin": render_checkin,
    "followup": render_followup,
    "thanks": render_thanks,
    "mentor_note": render_mentor_note,
    "continue_check": render_continue_check,
    "pairing_ended": render_pairing_ended,
}


def _successes(session: Session, rows: list[OutboxMessage]) -> dict[int, Success]:
    return {
        success.id: success
        for success in session.scalars(
            select(Success)
            .where(Success.id.in_({row.subject_id for row in rows}))
            .options(selectinload(Success.author), selectinload(Success.mentor))
        )
    }


def _renderer(build: Callable[[Success], Message], *, public: bool) -> Renderer:
    """Removing a success takes down the channel post; the mentor's own DM still goes."""

    def render(session: Session, rows: list[OutboxMessage], now: datetime) -> dict[int, Rendered]:
        successes = _successes(session, rows)
        rendered: dict[int, Rendered] = {}
        for row in rows:
            success = successes.get(row.subject_id or 0)
            if success is None or success.mentor is None:
                rendered[row.id] = Skip("the success or its mentor is gone")
            elif public and success.deleted_at is not None:
                rendered[row.id] = Skip("removed by its author")
            else:
                rendered[row.id] = Outgoing.of(build(success))
        return rendered

    return render


_REASONS = {
    "not_in_channel": "I'm not in the success channel yet (an admin can add me with /invite)",
    "channel_not_found": "the success channel doesn't exist, or I can't see it",
    "is_archived": "the success channel is archived",
}


def notice_post_failed(session: Session, failed: OutboxMessage) -> Message | None:
    """The channel refused the post: the author hears why; the mentor already has it."""
    success = session.get(Success, failed.subject_id)
    if success is None or success.mentor is None:
        return None
    error = failed.last_error or ""
    reason = _REASONS.get(error, f"Slack answered {error or 'with an error'}")
    return build_success_post_failed(success, reason)


SUCCESSES_RENDERERS = {
    "success_to_mentor": _renderer(build_success_to_mentor, public=False),
    "success_post": _renderer(build_success_post, public=True),
}


SUCCESSES_NOTICE_WRITERS = {"success_post": notice_post_failed}
