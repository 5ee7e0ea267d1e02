"""What program admins and everyone's own controls show: Block Kit for the program package."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core import ids
from bot.core.block_limits import ELLIPSIS, TEXT_BUDGET, fit_lines, fit_message, sections
from bot.core.blocks import Message, actions, build_note, button, context, section
from bot.core.models import (
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Pairing,
    PairingStatus,
    RoundUnmatched,
    TopicKind,
)
from bot.core.mrkdwn import escape, local_time, quote
from bot.core.outbox import Outgoing, Rendered, Renderer, Skip
from bot.find.blocks import find_value
from bot.program.controls import Ended
from bot.program.matching_round import (
    MATCHED_KIND,
    UNMATCHED_KIND,
    Approved,
    Draft,
    proposals_for,
)
from bot.program.nudges import NUDGE_KIND, NudgeResult
from bot.program.stats import FUNNEL_STEPS, QUIET_PAIR_DAYS, Funnel, ProgramStats, QuietPair, Rate

# ---------------------------------------------------------------- everyone's controls (P3)


def build_ended(ended: Ended) -> Message:
    """The ender's own answer; the partner hears by DM (bot/respect/blocks.build_pairing_ended)."""
    partner = f"<@{ended.partner.slack_user_id}>"
    text = (
        f"Done: your mentoring with {partner} has ended. I've let them know kindly and "
        "cancelled any sessions you had booked together."
    )
    if ended.thanked:
        text += " Your last thank-you goes with my message to them."
    buttons: list[dict[str, Any]] = []
    if not ended.thanked:
        buttons.append(
            button("Send a last thank-you", ids.LAST_THANKS_ACTION, ended.partner.slack_user_id)
        )
    if ended.ender_is_mentee:
        text += " When you're ready, another mentor can pick up where you left off."
        buttons.append(
            button(
                "Find another mentor",
                ids.FIND_AGAIN_ACTION,
                find_value(ended.query),
                style="primary",
            )
        )
    blocks = [section(text)]
    if buttons:
        blocks.append(actions(*buttons))
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


_MY_DATA_PARTS = (
    ("requests", "Mentor requests"),
    ("pairs", "Mentoring pairs"),
    ("sessions", "Sessions"),
    ("agenda_items", "Questions you brought to sessions"),
    ("advice", "Advice you chose to apply"),
    ("thanks_sent", "Thank-you notes you sent"),
    ("thanks_received", "Thank-you notes you received"),
    ("mentor_notes", "Mentor notes"),
    ("successes", "Successes"),
    ("waiting_for_topics", "Topics you asked me to watch for"),
    ("blocked", "People you blocked"),
)


def _line(part: str, item: Any) -> str:
    """One stored thing as a short readable line (typed text escaped)."""
    if isinstance(item, str):
        return f"• {escape(item)}"
    if part == "requests":
        who = item["mentor"] if item["sent"] else item["mentee"]
        way = "to" if item["sent"] else "from"
        return f"• {way} {escape(who)}, {item['status']}, {item['sent_at'][:10]}"
    if part == "pairs":
        return f"• {item['role']} of {escape(item['partner'])}, {item['status']}"
    if part == "sessions":
        return f"• {item['starts_at'][:10]} with {escape(item['with'])}, {item['status']}"
    if part in ("thanks_sent", "thanks_received"):
        who = item.get("to") or item.get("from") or ""
        return f"• {escape(who)}: {escape(item['text'])}"
    return f"• {escape(str(item.get('text', '')))}"


def build_my_data(data: dict[str, Any]) -> Message:
    """A readable summary; everything in full is in the JSON file that follows it."""
    if not data:
        text = "I don't hold anything about you yet: no profile, requests or sessions."
        return {"text": text, "blocks": [section(text)]}
    profile = data["profile"]
    roles = [r for r in ("mentor", "mentee") if profile[r]] or ["neither mentor nor mentee yet"]
    about = [
        f"*Your profile*: {escape(profile['display_name'] or profile['real_name'])}, "
        f"{' and '.join(roles)}, time zone {escape(profile['time_zone'])}",
    ]
    for key, label in (
        ("topics_offered", "Offers"),
        ("topics_sought", "Looking for"),
    ):
        if profile[key]:
            about.append(f"{label}: {escape(', '.join(profile[key]))}")
    for key, label in (("goals", "Goals"), ("background", "Background")):
        if profile[key]:
            about.append(f"{label}:\n{quote(profile[key])}")
    head = (
        ":file_folder: *Everything I store about you.* The full copy is in the file below; "
        "`/mentor forget-me` deletes it."
    )
    blocks = [section(head), *sections("\n".join(about), TEXT_BUDGET // 4)]
    budget = TEXT_BUDGET // (2 * len(_MY_DATA_PARTS))
    for part, label in _MY_DATA_PARTS:
        items = data.get(part) or []
        if not items:
            continue
        lines = fit_lines([_line(part, item) for item in items], budget, where="in the file")
        blocks.append(section(f"*{label}* ({len(items)})\n" + "\n".join(lines)))
    blocks.append(context("Times in the file are UTC, in ISO 8601."))
    return fit_message({"text": "Everything I store about you.", "blocks": blocks})


FORGET_WHAT = (
    "*Forget me?* I'll delete your profile, goals, topics, the questions and advice you "
    "wrote, your notes and thank-yous, your successes (and take down any channel posts of "
    "them) and the topics you asked me to watch. Your mentoring pairs end, and your partners "
    "are told kindly. Their own history keeps the sessions you had, with you shown as "
    '"a former member". This can\'t be undone.'
)


def build_forget_confirm() -> Message:
    """Ask first: one click with Slack's own confirm dialog, shown only to them."""
    confirm = {
        "title": {"type": "plain_text", "text": "Forget everything?"},
        "text": {"type": "plain_text", "text": "This deletes what I store about you for good."},
        "confirm": {"type": "plain_text", "text": "Forget me"},
        "deny": {"type": "plain_text", "text": "Keep my data"},
        "style": "danger",
    }
    forget = button("Forget me", ids.FORGET_ME_ACTION, "me", style="danger")
    forget["confirm"] = confirm
    return {
        "response_type": "ephemeral",
        "text": "Forget me? This can't be undone.",
        "blocks": [
            section(FORGET_WHAT),
            actions(forget),
            context("Changed your mind? Just leave this message; nothing happens."),
        ],
    }


def build_forgotten(posts: int) -> Message:
    taken_down = f" I took down {posts} channel post{'s' * (posts != 1)} too." if posts else ""
    text = (
        "Done. I've forgotten you: your profile and everything you wrote are deleted, and your "
        f"partners have been told kindly.{taken_down} If you ever come back, you'll start fresh."
    )
    return {"replace_original": True, "text": text, "blocks": [section(text)]}


def build_forgotten_by_admin(user_id: str, posts: int) -> Message:
    taken_down = f" and {posts} channel post{'s' * (posts != 1)} taken down" if posts else ""
    text = (
        f"Done: <@{user_id}> is forgotten. Their profile and what they wrote are deleted"
        f'{taken_down}; their former partners\' history shows them as "a former member".'
    )
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


# ---------------------------------------------------------------- the program at a glance (P2)

BAR_WIDTH = 10
FULL, EMPTY = "█", "░"


def bar(part: int, whole: int) -> str:
    """`██████░░░░  60%`: a share a person takes in at a glance, even in plain text."""
    share = part / whole if whole else 0.0
    filled = round(min(share, 1.0) * BAR_WIDTH)
    return f"{FULL * filled}{EMPTY * (BAR_WIDTH - filled)} {round(100 * share):>3}%"


def _rate(rate: Rate) -> str:
    if rate.percent is None:
        return "nothing to count yet"
    return f"{rate.percent}% ({rate.done} of {rate.total})"


def _funnel_text(funnel: Funnel) -> str:
    first = funnel.reached[0]
    width = max(len(step) for step in FUNNEL_STEPS)
    rows = [
        f"{step:<{width}}  {bar(count, first)}  {count}"
        for step, count in zip(FUNNEL_STEPS, funnel.reached, strict=True)
    ]
    return f"*Last {funnel.days} days*\n```" + "\n".join(rows) + "```"


def _quiet_pair_line(pair: QuietPair) -> str:
    who = f"<@{pair.mentor_user_id}> and <@{pair.mentee_user_id}>"
    if pair.last_session_at is None:
        since = f"no session yet; paired {local_time(pair.started_at, '{date_short}')}"
    else:
        since = f"last session {local_time(pair.last_session_at, '{date_short}')}"
    nudged = f", nudged {local_time(pair.nudged_at, '{date_short}')}" if pair.nudged_at else ""
    return f"{who}: {since}{nudged}"


def program_blocks(stats: ProgramStats) -> list[dict[str, Any]]:
    """The admin's dashboard, shared by `/mentor admin` and the admin's Home tab."""
    numbers = [
        ("Members", str(stats.members)),
        ("Mentors with room", str(stats.mentors_with_room)),
        ("Mentees waiting", str(stats.mentees_waiting)),
        ("Active pairs", str(stats.active_pairs)),
        ("Sessions held", str(stats.sessions_held)),
        ("Successes shared", str(stats.successes)),
        ("Prep notes answered", _rate(stats.prep_answered)),
        ("Sessions followed by thanks", _rate(stats.thanked)),
    ]
    blocks: list[dict[str, Any]] = [
        section(":bar_chart: *Your mentoring program at a glance*"),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in numbers],
        },
    ]
    if any(funnel.reached[0] for funnel in stats.funnels):
        blocks.append(section("*From looking to a shared success*, mentees who got this far:"))
        blocks.extend(section(_funnel_text(funnel)) for funnel in stats.funnels)
    else:
        blocks.append(section("*Funnel*: nobody has looked for a mentor in the last 90 days yet."))
    quiet_head = f"*Pairs with no session in {QUIET_PAIR_DAYS} days*"
    if not stats.quiet_pairs:
        blocks.append(section(f"{quiet_head}: none. Every pair has met or booked recently."))
    else:
        blocks.append(section(f"{quiet_head} ({stats.quiet_pairs_total})"))
        for pair in stats.quiet_pairs:
            line = section(_quiet_pair_line(pair))
            line["accessory"] = button("Nudge", ids.ADMIN_NUDGE_ACTION, str(pair.pairing_id))
            blocks.append(line)
        hidden = stats.quiet_pairs_total - len(stats.quiet_pairs)
        if hidden > 0:
            blocks.append(
                context(f"{ELLIPSIS}and {hidden} more; the daily nudge reaches them too.")
            )
    blocks.append(
        context(
            f"`{ids.COMMAND} admin export` sends you a CSV of pairs and sessions. "
            "A Nudge is a kind DM to both, at most once a fortnight."
        )
    )
    return blocks


def build_admin_overview(stats: ProgramStats) -> Message:
    text = (
        f"Your program: {stats.members} members, {stats.active_pairs} active pairs, "
        f"{stats.mentees_waiting} mentees waiting."
    )
    return fit_message(
        {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": text,
            "blocks": program_blocks(stats),
        }
    )


NUDGE_ANSWERS = {
    NudgeResult.SENT: "Nudged: {pair} will each get a kind DM suggesting a session.",
    NudgeResult.RECENTLY: "{pair} had a nudge in the last two weeks, so I'll give them space.",
    NudgeResult.PAUSED: "One of {pair} has paused mentoring for now, so I'll leave them be.",
    NudgeResult.BOOKED: "{pair} already have a session booked, so no nudge needed.",
}


def build_nudge_answer(result: NudgeResult, mentor_user_id: str, mentee_user_id: str) -> Message:
    pair = f"<@{mentor_user_id}> and <@{mentee_user_id}>"
    return build_note(NUDGE_ANSWERS[result].format(pair=pair))


def build_export_sent(pairs: int, sessions: int) -> Message:
    if not pairs:
        return build_note("There are no pairs yet, so the CSV in our DM has just its headings.")
    return build_note(
        f"Sent to our DM: a CSV of {pairs} pair{'s' * (pairs != 1)} and "
        f"{sessions} session{'s' * (sessions != 1)} (dates, topics, status; no private notes)."
    )


EXPORT_COMMENT = (
    "Here's your export of pairs and sessions: dates, topics and status. Notes, goals, "
    "agenda questions and advice stay private, so they're not in it. Times are UTC."
)


def render_pair_nudges(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    """A kind "time to meet again?" to each of a quiet pair; skipped if they ended or booked."""
    pairings = {
        pairing.id: pairing
        for pairing in session.scalars(
            select(Pairing)
            .where(Pairing.id.in_({row.subject_id for row in rows}))
            .options(selectinload(Pairing.mentor), selectinload(Pairing.mentee))
        )
    }
    booked = set(
        session.scalars(
            select(Meeting.pairing_id).where(
                Meeting.pairing_id.in_(pairings),
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.starts_at > now,
            )
        )
    )
    rendered: dict[int, Rendered] = {}
    for row in rows:
        pairing = pairings.get(row.subject_id or 0)
        if pairing is None or pairing.status != PairingStatus.ACTIVE:
            rendered[row.id] = Skip("the pair has ended")
        elif pairing.id in booked:
            rendered[row.id] = Skip("they booked a session since")
        else:
            rendered[row.id] = Outgoing.of(build_pair_nudge(pairing, row.recipient_member_id))
    return rendered


def build_pair_nudge(pairing: Pairing, recipient_id: int | None) -> Message:
    partner = pairing.mentee if recipient_id == pairing.mentor_id else pairing.mentor
    text = (
        f":wave: It's been a little while since you and <@{partner.slack_user_id}> met. "
        "Even a short session keeps things moving: share what you've tried since last "
        "time and pick one next step. Shall we find a time?"
    )
    return {
        "text": text,
        "blocks": [
            section(text),
            actions(
                button("Schedule a session", ids.SCHEDULE_SESSION_ACTION, str(pairing.id)),
            ),
            context("If you've both wrapped up, that's fine too: just let each other know."),
        ],
    }


PROGRAM_RENDERERS: dict[str, Renderer] = {NUDGE_KIND: render_pair_nudges}


# ---------------------------------------------------------------- matching rounds (P1)

ROUND_SAMPLE_HEAD = "*A sample of the pairs*, from the best fit down:"
UNMATCHED_LABELS = {
    RoundUnmatched.FULL: "every mentor for their topic is full",
    RoundUnmatched.NO_MENTOR: "nobody offers their topic yet",
    RoundUnmatched.NOT_AVAILABLE: "only mentors ruled out by a block or an earlier “not now”",
}


def build_round_draft(draft: Draft) -> Message:
    """The admin's draft: what would happen, and nothing sent until they approve."""
    if not draft.waiting:
        return build_note(
            "Nobody is waiting for a mentor right now (everyone who wants one has a mentor or a "
            "request out), so there's no round to run. Try again after new people sign up."
        )
    head = (
        f"*Matching round — a draft, nothing sent yet*\n{draft.waiting} "
        f"{'person is' if draft.waiting == 1 else 'people are'} waiting for a mentor; mentors "
        f"have {draft.free_slots} free {'place' if draft.free_slots == 1 else 'places'}.\n"
        f"*{draft.matched} matched*, {draft.waiting - draft.matched} not."
    )
    if draft.scores:
        low, middle, high = draft.scores
        head += f" Match scores: lowest {low:.2f}, median {middle:.2f}, highest {high:.2f}."
    lines = [
        f"• {count} because {UNMATCHED_LABELS[reason]}"
        for reason, count in sorted(draft.unmatched.items(), key=lambda item: -item[1])
    ]
    if lines:
        head += "\n*Not matched:*\n" + "\n".join(lines)
    sample = "\n".join(
        f"• <@{pair.mentee}> → <@{pair.mentor}>: {escape(pair.topics)} ({pair.score:.2f})"
        for pair in draft.sample
    )
    after = (
        "*Approve* sends each proposed mentor an intro request, as if the mentee had asked, "
        "and tells each mentee; everyone not matched hears why and what to do next."
    )
    buttons = [
        button("Discard", ids.ROUND_DISCARD_ACTION, str(draft.round_id)),
    ]
    if draft.matched or draft.unmatched:
        approve = button("Approve", ids.ROUND_APPROVE_ACTION, str(draft.round_id), "primary")
        approve["confirm"] = {
            "title": {"type": "plain_text", "text": "Send the round?"},
            "text": {
                "type": "mrkdwn",
                "text": f"{draft.matched} intro requests go out now. This can't be undone.",
            },
            "confirm": {"type": "plain_text", "text": "Send them"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        }
        buttons.insert(0, approve)
    blocks = [section(head)]
    if sample:
        blocks.append(section(f"{ROUND_SAMPLE_HEAD}\n{sample}"))
    blocks += [context(after), actions(*buttons)]
    text = f"Matching round draft: {draft.matched} of {draft.waiting} waiting matched."
    return fit_message(
        {"response_type": "ephemeral", "replace_original": True, "text": text, "blocks": blocks}
    )


def build_round_approved(approved: Approved) -> Message:
    text = (
        f":white_check_mark: Round sent: {approved.requested} intro "
        f"{'request' if approved.requested == 1 else 'requests'} went out, and "
        f"{approved.told_unmatched} {'person' if approved.told_unmatched == 1 else 'people'} "
        "not matched will hear why and what next."
    )
    if approved.skipped:
        text += (
            f" {approved.skipped} proposed {'pair was' if approved.skipped == 1 else 'pairs were'} "
            "left out because things changed since the draft (a new mentor, a pause, a full "
            "mentor); they'll be in the next round if they're still waiting."
        )
    return {"response_type": "ephemeral", "replace_original": True, "text": text}


def build_round_discarded() -> Message:
    text = "Discarded: nothing was sent. `/mentor admin round` drafts a fresh one any time."
    return {"response_type": "ephemeral", "replace_original": True, "text": text}


ROUND_UNMATCHED_TEXT = {
    RoundUnmatched.NO_MENTOR: (
        "The program just ran a matching round, and I couldn't find you a mentor this time: "
        "nobody offers {topics} yet. I've noted it, so I'll tell you as soon as someone does. "
        "Meanwhile, `/mentor find` can suggest nearby topics that do have mentors."
    ),
    RoundUnmatched.FULL: (
        "The program just ran a matching round, and I couldn't find you a mentor this time: "
        "every mentor who offers {topics} is full right now. You stay on the list for the next "
        "round, and `/mentor find` shows anyone who frees up a place sooner."
    ),
    RoundUnmatched.NOT_AVAILABLE: (
        "The program just ran a matching round, and I couldn't find you a mentor this time: "
        "the mentors who offer {topics} can't be matched with you through a round. "
        "`/mentor find` can suggest nearby topics, and you stay on the list for the next round."
    ),
}


def render_round_messages(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    """To each mentee in an approved round: who was asked for them, or why nobody, and what next."""
    proposals = proposals_for(session, [row.subject_id or 0 for row in rows])
    rendered: dict[int, Rendered] = {}
    for row in rows:
        proposal = proposals.get(row.subject_id or 0)
        if proposal is None:
            rendered[row.id] = Skip("the round is gone")
            continue
        if proposal.mentor is None:
            names = proposal.mentee.topic_names(TopicKind.SOUGHT)
            topics = ", ".join(f"*{escape(name)}*" for name in names) or "your topics"
            text = ROUND_UNMATCHED_TEXT[proposal.unmatched or RoundUnmatched.FULL].format(
                topics=topics
            )
            query = ", ".join(names)
            find = button("Find a mentor", ids.FIND_AGAIN_ACTION, find_value(query))
            rendered[row.id] = Outgoing.of({"text": text, "blocks": [section(text), actions(find)]})
            continue
        if proposal.request_id is None:
            rendered[row.id] = Skip("the proposed request was not sent")
            continue
        text = (
            f"Good news: the program's matching round paired you with "
            f"<@{proposal.mentor.slack_user_id}> for *{escape(proposal.topics)}*. I've sent them "
            "an intro request for you; they have a few days to answer, and I'll tell you either "
            "way. Before you meet, think of the one thing you most want to learn from them."
        )
        rendered[row.id] = Outgoing.of({"text": text, "blocks": [section(text)]})
    return rendered


ROUND_RENDERERS: dict[str, Renderer] = {
    MATCHED_KIND: render_round_messages,
    UNMATCHED_KIND: render_round_messages,
}
