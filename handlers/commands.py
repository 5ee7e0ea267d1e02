"""The /mentor slash command and its subcommand router."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import ids
from bot.core.blocks import build_note
from bot.core.errors import MentorCoachError
from bot.core.members import find_member
from bot.core.mrkdwn import local_time
from bot.core.typed import clean_text, clean_words, whole_number
from bot.find.blocks import NO_MENTOR_YET, build_find_results, build_goals_modal, build_partners
from bot.find.finding import NeedsGoals, NotSynced, find_mentors
from bot.find.partners import block, list_partners, unblock
from bot.find.profiles import pause, resume
from bot.home.blocks import build_help, build_unknown_subcommand
from bot.prepare.meetings import only_pairing, pairing_with
from bot.program.blocks import (
    EXPORT_COMMENT,
    build_admin_overview,
    build_ended,
    build_export_sent,
    build_forget_confirm,
    build_forgotten_by_admin,
    build_my_data,
    build_round_draft,
)
from bot.program.controls import end_with, forget_left, my_data
from bot.program.export import export_filename, pairs_csv
from bot.program.matching_round import draft_round
from bot.program.stats import program_stats
from bot.respect.blocks import build_thanks_modal
from bot.respect.checkins import check_thanks, send_thanks
from handlers.admin import require_admin
from handlers.deps import Deps
from handlers.directory import channel_label, check_person, sync_member
from handlers.forms import open_profile_modal, schedule_view, success_view

logger = logging.getLogger(__name__)
# With should_escape on (manifest.yml), Slack sends a mention as <@U123|name>. Real ids are about
# 11 characters; a longer one is forged and would not fit our columns.
MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$")
MENTION_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


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
        route = ROUTES.get(word.lower(), handle_unknown)
        route(slash)
        if route is not handle_find:  # find syncs first: it needs the person's zone
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
    try:
        try:
            message = _find_results(deps, team_id, user_id, query, page, require_synced=True)
        except NotSynced:  # first touch, or a day since: find reads their zone
            sync_member(client, deps, team_id, user_id)
            message = _find_results(deps, team_id, user_id, query, page, require_synced=False)
    except NeedsGoals as needs:
        with deps.sessions.begin() as session:
            member = find_member(session, team_id, user_id)
            metadata = json.dumps({"r": response_url, "q": query[:200]})
            topics = query or ", ".join(needs.topics)
            view = build_goals_modal(member, topics, metadata, new_topic=needs.new_topic)
        if trigger_id:
            client.views_open(trigger_id=trigger_id, view=view)
        else:
            respond(**build_note("First, tell me what you want: try `/mentor find <topic>`."))
        return
    respond(**message)


def _find_results(
    deps: Deps, team_id: str, user_id: str, query: str, page: int, *, require_synced: bool
) -> dict[str, Any]:
    with deps.sessions.begin() as session:
        found = find_mentors(
            session,
            team_id,
            user_id,
            query,
            deps.clock(),
            page,
            quiet_hours=deps.settings.quiet_hours,
            require_synced=require_synced,
        )
        return build_find_results(found)


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
    channel = channel_label(slash.client, slash.deps.settings.success_channel)
    with slash.deps.sessions.begin() as session:
        view = success_view(
            session,
            slash.deps,
            slash.team_id,
            slash.user_id,
            slash.rest,
            slash.response_url,
            channel=channel,
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
                until = local_time(member.paused_until or now, "{date_long}", [member])
                text = PAUSED.format(until=until)
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

# ---------------------------------------------------------------- program admins
# `/mentor admin <word> ...`: the gate runs once here, after ack (users.info is network I/O), so no
# admin tool can forget it. Admin handlers answer with slash.respond: the ack is already sent.
# Add a tool by adding its word to ADMIN_ROUTES ("" is `/mentor admin` alone).


def handle_admin(slash: Slash) -> None:
    slash.ack()
    try:
        require_admin(slash.client, slash.deps, slash.user_id)
    except MentorCoachError as error:
        slash.respond(**build_note(str(error)))
        return
    word, rest = [*slash.rest.split(None, 1), "", ""][:2]
    tool = replace(slash, word=clean_words(word), rest=rest.strip())
    ADMIN_ROUTES.get(tool.word.lower(), handle_admin_unknown)(tool)


def handle_admin_unknown(slash: Slash) -> None:
    tools = ", ".join(f"`{ids.COMMAND} admin {word}`" for word in ADMIN_ROUTES if word)
    slash.respond(**build_note(f"I don't know that admin tool. These are: {tools}."))


ADMIN_ROUTES: dict[str, Callable[[Slash], None]] = {}


def handle_admin_overview(slash: Slash) -> None:
    """`/mentor admin`: the program at a glance (the admin's Home tab shows it too)."""
    with slash.deps.sessions.begin() as session:
        message = build_admin_overview(program_stats(session, slash.team_id, slash.deps.clock()))
    slash.respond(**message)


def handle_admin_export(slash: Slash) -> None:
    """`/mentor admin export`: a CSV of pairs and sessions, uploaded to the admin's DM."""
    now = slash.deps.clock()
    with slash.deps.sessions.begin() as session:
        csv_text, pairs, sessions = pairs_csv(session, slash.team_id, now)
    dm = slash.client.conversations_open(users=slash.user_id)["channel"]["id"]
    slash.client.files_upload_v2(
        channel=dm,
        filename=export_filename(now),
        title="Mentor Coach: pairs and sessions",
        content=csv_text,
        initial_comment=EXPORT_COMMENT,
    )
    slash.respond(**build_export_sent(pairs, sessions))


ADMIN_ROUTES[""] = handle_admin_overview
ADMIN_ROUTES["export"] = handle_admin_export


def handle_admin_round(slash: Slash) -> None:
    """`/mentor admin round`: a draft matching round for everyone waiting; nothing is sent yet."""
    with slash.deps.sessions.begin() as session:
        draft = draft_round(
            session,
            slash.team_id,
            slash.user_id,
            slash.deps.clock(),
            slash.deps.settings.quiet_hours,
        )
    slash.respond(**build_round_draft(draft))


ADMIN_ROUTES["round"] = handle_admin_round

# ---------------------------------------------------------------- everyone's controls
# `/mentor end`, `my-data`, `forget-me` (its confirmed click is in actions.py), and the admin's
# `/mentor admin forget @person` for someone who has left.


def handle_end(slash: Slash) -> None:
    """`/mentor end @partner [a last thank-you]`."""
    mention, *thanks = slash.rest.split(None, 1) or [""]
    target = MENTION.match(clean_words(mention))
    if not target:
        slash.reply(build_note(f"Mention who, like `{ids.COMMAND} end @name [a last thank-you]`."))
        return
    try:
        with slash.deps.sessions.begin() as session:
            ended = end_with(
                session,
                slash.team_id,
                slash.user_id,
                target.group(1),
                thanks[0] if thanks else "",
                slash.deps.clock(),
            )
            message = build_ended(ended)
    except MentorCoachError as error:
        slash.reply(build_note(str(error)))
        return
    slash.reply(message)


def handle_my_data(slash: Slash) -> None:
    """Everything stored about the person: a readable DM, then the whole of it as a JSON file."""
    slash.ack()  # the DM and the upload are network I/O
    with slash.deps.sessions.begin() as session:
        data = my_data(session, slash.team_id, slash.user_id)
    message = build_my_data(data)
    dm = slash.client.conversations_open(users=slash.user_id)["channel"]["id"]
    slash.client.chat_postMessage(channel=dm, text=message["text"], blocks=message["blocks"])
    if data:
        slash.client.files_upload_v2(
            channel=dm,
            filename="mentor-coach-my-data.json",
            title="Everything Mentor Coach stores about you",
            content=json.dumps(data, indent=2, ensure_ascii=False),
        )
    slash.respond(**build_note("Sent to our DM: a summary, and everything in a JSON file."))


def handle_forget_me(slash: Slash) -> None:
    slash.reply(build_forget_confirm())


def handle_admin_forget(slash: Slash) -> None:
    """`/mentor admin forget @person`: only for someone Slack says has left."""
    mention = MENTION.match(clean_words(slash.rest))
    if not mention:
        slash.respond(**build_note(f"Mention who, like `{ids.COMMAND} admin forget @name`."))
        return
    target = mention.group(1)
    if still_here(slash.client, target):
        slash.respond(**build_note(STILL_HERE.format(who=f"<@{target}>")))
        return
    try:
        with slash.deps.sessions.begin() as session:
            posts = forget_left(session, slash.team_id, target, slash.deps.clock())
    except MentorCoachError as error:
        slash.respond(**build_note(str(error)))
        return
    take_down(slash.client, posts)
    slash.respond(**build_forgotten_by_admin(target, len(posts)))


STILL_HERE = (
    "{who} is still in this workspace, so it's their choice: they can run "
    f"`{ids.COMMAND} forget-me` themselves. Admins can forget only people who have left."
)


def still_here(client: WebClient, user_id: str) -> bool:
    """True unless Slack says the account is deactivated or gone (or cannot say: then no)."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        return error.response.get("error") != "user_not_found"
    return not user.get("deleted")


def take_down(client: WebClient, posts: list[tuple[str, str]]) -> None:
    """Delete channel posts after the forget committed; one already gone is fine."""
    for channel, ts in posts:
        try:
            client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as error:
            logger.warning("chat.delete of %s failed: %s", ts, error.response.get("error"))


ADMIN_ROUTES["forget"] = handle_admin_forget


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
    "end": handle_end,
    "my-data": handle_my_data,
    "forget-me": handle_forget_me,
    "admin": handle_admin,
}
