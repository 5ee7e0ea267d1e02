"""The /mentor slash command and its subcommand router."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core import ids
from bot.core.blocks import build_note
from bot.core.errors import MentorCoachError
from bot.core.members import find_member
from bot.core.mrkdwn import local_time
from bot.core.typed import clean_text, clean_words, whole_number
from bot.find.blocks import NO_MENTOR_YET, build_find_results, build_goals_modal, build_partners
from bot.find.finding import NeedsGoals, find_mentors
from bot.find.partners import block, list_partners, unblock
from bot.find.profiles import pause, resume
from bot.home.blocks import build_help, build_unknown_subcommand
from bot.prepare.meetings import only_pairing, pairing_with
from bot.respect.blocks import build_thanks_modal
from bot.respect.checkins import check_thanks, send_thanks
from handlers.deps import Deps
from handlers.directory import check_person, sync_member
from handlers.forms import open_profile_modal, schedule_view, success_view

# With should_escape on (manifest.yml), Slack sends a mention as <@U123|name>. Real ids are about
# 11 characters; a longer one is forged and would not fit our columns.
MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class Slash:
    """One /mentor invocation, parsed: who, what they typed after the subcommand, how to answer."""

    ack: Ack
    respond: Respond
    client: WebClient
    deps: Deps
    team_id: str
    user_id: str
    trigger_id: str
    response_url: str | None
    word: str
    rest: str

    def reply(self, message: dict[str, Any]) -> None:
        """Answer in the ack itself: fastest, and only the person who typed it sees it."""
        self.ack(**{k: v for k, v in message.items() if k in ("text", "blocks", "response_type")})


def register(app: App, deps: Deps) -> None:
    @app.command(ids.COMMAND)
    def handle_mentor_command(
        ack: Ack, respond: Respond, command: dict[str, Any], client: WebClient
    ) -> None:
        typed = clean_text(html.unescape(command.get("text") or "")).split(None, 1)
        word, rest = clean_words(typed[0]) if typed else "", typed[1] if len(typed) > 1 else ""
        slash = Slash(
            ack=ack,
            respond=respond,
            client=client,
            deps=deps,
            team_id=command["team_id"],
            user_id=command["user_id"],
            trigger_id=command["trigger_id"],
            response_url=command.get("response_url"),
            word=word,
            rest=rest.strip(),
        )
        ROUTES.get(word.lower(), handle_unknown)(slash)
        sync_member(client, deps, slash.team_id, slash.user_id)


def handle_help(slash: Slash) -> None:
    slash.reply(build_help())


def handle_unknown(slash: Slash) -> None:
    slash.reply(build_unknown_subcommand(slash.word))


def handle_profile(slash: Slash) -> None:
    slash.ack()
    open_profile_modal(
        slash.client,
        slash.deps,
        trigger_id=slash.trigger_id,
        team_id=slash.team_id,
        user_id=slash.user_id,
        response_url=slash.response_url,
    )


def handle_find(slash: Slash) -> None:
    slash.ack()
    show_matches(
        slash.client,
        slash.deps,
        slash.respond,
        team_id=slash.team_id,
        user_id=slash.user_id,
        query=slash.rest,
        trigger_id=slash.trigger_id,
        response_url=slash.response_url,
    )


def show_matches(
    client: WebClient,
    deps: Deps,
    respond: Respond,
    *,
    team_id: str,
    user_id: str,
    query: str,
    trigger_id: str | None,
    response_url: str | None,
    page: int = 0,
) -> None:
    """Answer with ranked mentors; someone with no goals yet is asked for them first."""
    sync_member(client, deps, team_id, user_id)
    try:
        with deps.sessions.begin() as session:
            message = build_find_results(
                find_mentors(session, team_id, user_id, query, deps.clock(), page)
            )
    except NeedsGoals:
        with deps.sessions.begin() as session:
            member = find_member(session, team_id, user_id)
            metadata = json.dumps({"r": response_url, "q": query[:200]})
            view = build_goals_modal(member, query, metadata)
        if trigger_id:
            client.views_open(trigger_id=trigger_id, view=view)
        else:
            respond(**build_note("First, tell me what you want: try `/mentor find <topic>`."))
        return
    respond(**message)


def handle_schedule(slash: Slash) -> None:
    """`/mentor schedule @partner`, or just `/mentor schedule` with a single partner."""
    typed = clean_words(slash.rest)
    mention = MENTION.match(typed)
    if typed.startswith("<") and not mention:  # a channel, a forged or broken mention
        slash.reply(build_note(f"Mention your partner, like `{ids.COMMAND} schedule @name`."))
        return
    try:
        with slash.deps.sessions.begin() as session:
            now = slash.deps.clock()
            if mention:
                pairing = pairing_with(session, slash.team_id, slash.user_id, mention.group(1), now)
            else:
                pairing = only_pairing(session, slash.team_id, slash.user_id, now)
            view = schedule_view(pairing, slash.user_id, slash.response_url, now)
    except MentorCoachError as error:
        slash.reply(build_note(str(error)))
        return
    slash.ack()
    slash.client.views_open(trigger_id=slash.trigger_id, view=view)


def handle_success(slash: Slash) -> None:
    """`/mentor success [what happened]`: the share form, with the text filled in."""
    with slash.deps.sessions.begin() as session:
        view = success_view(
            session, slash.deps, slash.team_id, slash.user_id, slash.rest, slash.response_url
        )
    if view is None:
        slash.reply(build_note(NO_MENTOR_YET))
        return
    slash.ack()
    slash.client.views_open(trigger_id=slash.trigger_id, view=view)


def handle_thanks(slash: Slash) -> None:
    """`/mentor thanks @person [note]`: sent at once with a note, or a form to write one."""
    mention, *note_or_nothing = slash.rest.split(None, 1) or [""]
    note = note_or_nothing[0] if note_or_nothing else ""
    target = MENTION.match(clean_words(mention))
    if not target:
        slash.reply(build_note(f"Mention who to thank, like `{ids.COMMAND} thanks @name`."))
        return
    slash.ack()  # users.info is network I/O: answer through response_url after it
    to, now = target.group(1), slash.deps.clock()
    try:
        check_person(slash.client, to)
        with slash.deps.sessions.begin() as session:
            if not note.strip():
                check_thanks(session, slash.team_id, slash.user_id, to, now)
            else:
                send_thanks(session, slash.team_id, slash.user_id, to, note, now)
    except MentorCoachError as error:
        slash.respond(**build_note(str(error)))
        return
    if note.strip():
        slash.respond(**build_note(f"Sent. <@{to}> will get your note by DM."))
        return
    metadata = json.dumps({"to": to, "r": slash.response_url})
    view = build_thanks_modal(f"<@{to}>", metadata)
    slash.client.views_open(trigger_id=slash.trigger_id, view=view)


def handle_pause(slash: Slash) -> None:
    """`/mentor pause [days]` (14 by default) and `/mentor resume`."""
    now = slash.deps.clock()
    try:
        with slash.deps.sessions.begin() as session:
            if slash.word.lower() == "resume":
                back = resume(session, slash.team_id, slash.user_id, now)
                text = RESUMED if back else "You weren't paused, so nothing changed."
            else:
                # Anything but a whole number of days reads as 0, which pause() explains.
                typed = clean_words(slash.rest).strip()
                days = (whole_number(typed) or 0) if typed else 14
                member = pause(session, slash.team_id, slash.user_id, days, now)
                text = PAUSED.format(until=local_time(member.paused_until or now, "{date_long}"))
    except MentorCoachError as error:
        text = str(error)
    slash.reply(build_note(text))


PAUSED = (
    "Paused until {until}. Mentees won't find you, and I'll hold reminders and nudges until then; "
    "anything you ask for still reaches you. `/mentor resume` ends the pause early."
)
RESUMED = "Welcome back! You're visible to mentees again and reminders are back on."


def handle_partners(slash: Slash) -> None:
    role = slash.word.lower()
    with slash.deps.sessions.begin() as session:
        partners = list_partners(session, slash.team_id, slash.user_id, role, slash.deps.clock())
        message = build_partners(partners, role)
    slash.reply(message)


def _blocking(
    action: Callable[..., bool], done: str, already: str, *, verify: bool
) -> Callable[[Slash], None]:
    def handle(slash: Slash) -> None:
        mention = MENTION.match(clean_words(slash.rest))
        if not mention:
            usage = f"Mention one person, like `{ids.COMMAND} {slash.word.lower()} @name`."
            slash.reply(build_note(usage))
            return
        slash.ack()  # users.info is network I/O: answer through response_url after it
        target = mention.group(1)
        try:
            if verify:  # a block remembers the person, so they must be real; unblock only forgets
                check_person(slash.client, target)
            with slash.deps.sessions.begin() as session:
                changed = action(session, slash.team_id, slash.user_id, target, slash.deps.clock())
        except MentorCoachError as error:
            slash.respond(**build_note(str(error)))
            return
        slash.respond(**build_note((done if changed else already).format(who=f"<@{target}>")))

    return handle


handle_block = _blocking(
    block,
    "Done: you and {who} won't be matched or get requests from each other. "
    "Undo it with `/mentor unblock`.",
    "{who} was already blocked.",
    verify=True,
)
handle_unblock = _blocking(
    unblock,
    "Done: {who} is unblocked.",
    "You hadn't blocked {who}, so nothing changed.",
    verify=False,
)

ROUTES: dict[str, Callable[[Slash], None]] = {
    "": handle_help,
    "help": handle_help,
    "profile": handle_profile,
    "find": handle_find,
    "mentors": handle_partners,
    "mentees": handle_partners,
    "schedule": handle_schedule,
    "success": handle_success,
    "thanks": handle_thanks,
    "pause": handle_pause,
    "resume": handle_pause,
    "block": handle_block,
    "unblock": handle_unblock,
}
