"""Button clicks (block_actions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.core import ids
from bot.core.blocks import Message, View, build_note
from bot.core.errors import MentorCoachError
from bot.core.members import member_for
from bot.core.models import AdviceOutcome
from bot.core.typed import clean_text, row_id
from bot.find.blocks import (
    NO_MENTOR_YET,
    build_decline_modal,
    build_intro_modal,
    build_request_answered,
    build_wish_saved,
    build_withdrawn,
)
from bot.find.finding import wanted_topics
from bot.find.intros import accept_request, mentor_to_ask, request_to_answer, withdraw_request
from bot.find.wishes import make_wishes
from bot.prepare.meetings import active_pairing, meeting_for
from bot.program.blocks import (
    build_forgotten,
    build_nudge_answer,
    build_round_approved,
    build_round_discarded,
)
from bot.program.controls import forget_me
from bot.program.matching_round import approve_round, discard_round
from bot.program.nudges import nudge_from_admin
from bot.respect.blocks import (
    build_checkin_held,
    build_checkin_missed,
    build_continue_answered,
    build_followup_answered,
    build_thanks_modal,
)
from bot.respect.checkins import (
    answer_for,
    continue_pairing,
    mark_held,
    mark_missed,
    record_outcome,
)
from bot.respect.successes import remove_success
from handlers.admin import require_admin
from handlers.commands import MENTION_ID, show_matches, take_down
from handlers.deps import Deps, Interaction
from handlers.directory import channel_label, sync_member
from handlers.forms import (
    advice_view,
    after_session_view,
    meeting_view,
    open_profile_modal,
    schedule_view,
    success_view,
)
from handlers.home import publish_home

T = TypeVar("T")
FOLLOWUP_OUTCOMES = {
    ids.FOLLOWUP_WORKED_ACTION: AdviceOutcome.WORKED,
    ids.FOLLOWUP_WORKING_ACTION: AdviceOutcome.WORKING,
    ids.FOLLOWUP_DIDNT_FIT_ACTION: AdviceOutcome.DIDNT_FIT,
}
ACCEPTED = (
    ":white_check_mark: You accepted {name}'s request. I've introduced you both in a group DM, "
    "with a few things to do before your first session."
)


@dataclass(frozen=True)
class Click(Interaction):
    """One button click, parsed, with the ways to answer the person who clicked."""

    client: WebClient
    respond: Respond

    @property
    def action_id(self) -> str:
        return self.body["actions"][0]["action_id"]

    @property
    def value(self) -> str:
        return str((self.body.get("actions") or [{}])[0].get("value") or "")

    @property
    def id(self) -> int:
        """The id a button carries; anything else (a forged value) is 0, which matches nothing."""
        return row_id(self.value)

    @property
    def search(self) -> dict[str, Any]:
        """The search a button carries; a forged or broken value is just an empty search."""
        try:
            value = json.loads(self.value)
        except ValueError:
            return {}
        if not isinstance(value, dict):
            return {}
        return {k: clean_text(v) if isinstance(v, str) else v for k, v in value.items()}

    @property
    def response_url(self) -> str | None:
        return self.body.get("response_url")

    def tell(self, message: Message) -> None:
        """Answer where they clicked; Home tab clicks have no response_url, so DM them."""
        if self.response_url:
            self.respond(**message)
            return
        self.client.chat_postMessage(channel=self.user_id, text=message["text"])
        if (self.body.get("view") or {}).get("type") == "home":
            publish_home(self.client, self.deps, self.team_id, self.user_id)

    def run(self, work: Callable[[Session], T]) -> T | None:
        """One transaction; a refusal (MentorCoachError) is told to the person and gives None."""
        try:
            with self.deps.sessions.begin() as session:
                return work(session)
        except MentorCoachError as error:
            self.tell(build_note(str(error)))
            return None

    def answer(self, work: Callable[[Session], Message]) -> None:
        message = self.run(work)
        if message is not None:
            self.tell(message)

    def open(self, view: View | None) -> None:
        if view is not None:
            self.client.views_open(trigger_id=self.body["trigger_id"], view=view)


def on(app: App, deps: Deps, *action_ids: str) -> Callable[[Callable[[Click], None]], None]:
    """Register a click handler: ack at once, then hand it the parsed click."""

    def register(handler: Callable[[Click], None]) -> None:
        def listener(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
            ack()
            handler(Click(body=body, deps=deps, client=client, respond=respond))

        listener.__name__ = handler.__name__
        for action_id in action_ids:
            app.action(action_id)(listener)

    return register


def register(app: App, deps: Deps) -> None:
    register_find(app, deps)
    register_meetings(app, deps)
    register_respect(app, deps)
    register_controls(app, deps)
    register_admin_tools(app, deps)
    register_rounds(app, deps)


def register_find(app: App, deps: Deps) -> None:
    @on(app, deps, ids.OPEN_PROFILE_ACTION)
    def handle_open_profile(click: Click) -> None:
        open_profile_modal(
            click.client,
            deps,
            trigger_id=click.body["trigger_id"],
            team_id=click.team_id,
            user_id=click.user_id,
            response_url=click.response_url,
        )
        sync_member(click.client, deps, click.team_id, click.user_id)

    @on(app, deps, ids.FIND_MORE_ACTION, ids.FIND_AGAIN_ACTION)
    def handle_find_more(click: Click) -> None:
        page = click.search.get("p", 0)
        show_matches(
            click.client,
            deps,
            click.respond,
            team_id=click.team_id,
            user_id=click.user_id,
            query=str(click.search.get("q", ""))[:200],
            trigger_id=click.body.get("trigger_id"),
            response_url=click.response_url,
            page=page if isinstance(page, int) else 0,
        )

    @on(app, deps, ids.ASK_INTRO_ACTION)
    def handle_ask_intro(click: Click) -> None:
        mentor_id = row_id(click.search.get("m"))

        def form(session: Session) -> View:
            mentor = mentor_to_ask(session, click.team_id, mentor_id)
            metadata = {"m": mentor.id, "q": click.search.get("q", ""), "r": click.response_url}
            return build_intro_modal(mentor, json.dumps(metadata))

        click.open(click.run(form))

    @on(app, deps, ids.WISH_ACTION)
    def handle_wish(click: Click) -> None:
        def wish(session: Session) -> Message:
            member = member_for(session, click.team_id, click.user_id, click.now)
            names = wanted_topics(member, str(click.search.get("q", "")))
            make_wishes(session, click.team_id, click.user_id, names, click.now)
            return build_wish_saved(list(names))

        click.answer(wish)

    @on(app, deps, ids.ACCEPT_REQUEST_ACTION)
    def handle_accept(click: Click) -> None:
        def accept(session: Session) -> Message:
            request = accept_request(session, click.id, click.team_id, click.user_id, click.now)
            outcome = ACCEPTED.format(name=request.request.mentee.name)
            return build_request_answered(request.request, outcome)

        click.answer(accept)

    @on(app, deps, ids.DECLINE_REQUEST_ACTION)
    def handle_decline(click: Click) -> None:
        def form(session: Session) -> View:
            request = request_to_answer(session, click.id, click.team_id, click.user_id)
            metadata = json.dumps({"id": request.id, "r": click.response_url})
            return build_decline_modal(request.mentee.name, metadata)

        click.open(click.run(form))

    @on(app, deps, ids.WITHDRAW_REQUEST_ACTION)
    def handle_withdraw(click: Click) -> None:
        click.answer(
            lambda session: build_withdrawn(
                withdraw_request(session, click.id, click.team_id, click.user_id, click.now)
            )
        )


def register_meetings(app: App, deps: Deps) -> None:
    @on(app, deps, ids.SCHEDULE_SESSION_ACTION)
    def handle_schedule_session(click: Click) -> None:
        def form(session: Session) -> View:
            pairing = active_pairing(session, click.id, click.team_id, click.user_id)
            return schedule_view(pairing, click.user_id, click.response_url, click.now)

        click.open(click.run(form))

    @on(app, deps, ids.RESCHEDULE_ACTION, ids.CANCEL_MEETING_ACTION, ids.ADD_TOPICS_ACTION)
    def handle_meeting_button(click: Click) -> None:
        def form(session: Session) -> View:
            meeting = meeting_for(session, click.id, click.team_id, click.user_id)
            return meeting_view(click.action_id, meeting, click.user_id, click.response_url)

        click.open(click.run(form))

    @on(app, deps, ids.NOTHING_THIS_TIME_ACTION)
    def handle_nothing_this_time(click: Click) -> None:
        def nothing(session: Session) -> Message:
            meeting_for(session, click.id, click.team_id, click.user_id)
            return build_note(
                "No problem. If something comes up before the session, just write it here."
            )

        click.answer(nothing)


def register_respect(app: App, deps: Deps) -> None:
    @on(app, deps, ids.CHECKIN_HELD_ACTION)
    def handle_checkin_held(click: Click) -> None:
        def held(session: Session) -> tuple[Message, View | None]:
            answer = mark_held(session, click.id, click.team_id, click.user_id, click.now)
            message = build_checkin_held(answer.meeting, answer.partner, answer.is_mentee)
            # The mentee goes straight to the advice they will apply.
            return message, advice_view(answer, click.response_url) if answer.is_mentee else None

        outcome = click.run(held)
        if outcome is not None:
            click.open(outcome[1])
            click.tell(outcome[0])

    @on(app, deps, ids.CHECKIN_RESCHEDULED_ACTION, ids.CHECKIN_MISSED_ACTION)
    def handle_checkin_missed(click: Click) -> None:
        moved = click.action_id == ids.CHECKIN_RESCHEDULED_ACTION

        def missed(session: Session) -> tuple[Message, View | None]:
            answer = mark_missed(
                session, click.id, click.team_id, click.user_id, click.now, moved=moved
            )
            pairing = answer.meeting.pairing
            view = schedule_view(pairing, click.user_id, click.response_url, click.now)
            return build_checkin_missed(answer.meeting, moved), view if moved else None

        outcome = click.run(missed)
        if outcome is not None:
            click.open(outcome[1])
            click.tell(outcome[0])

    @on(app, deps, ids.OPEN_ADVICE_ACTION, ids.THANKS_ACTION, ids.MENTOR_NOTE_ACTION)
    def handle_after_session_form(click: Click) -> None:
        def form(session: Session) -> View:
            answer = answer_for(session, click.id, click.team_id, click.user_id, click.now)
            return after_session_view(click.action_id, answer, click.response_url)

        click.open(click.run(form))

    @on(
        app,
        deps,
        ids.FOLLOWUP_WORKED_ACTION,
        ids.FOLLOWUP_WORKING_ACTION,
        ids.FOLLOWUP_DIDNT_FIT_ACTION,
    )
    def handle_followup(click: Click) -> None:
        outcome = FOLLOWUP_OUTCOMES[click.action_id]

        def record(session: Session) -> Message:
            answer = record_outcome(
                session, click.id, click.team_id, click.user_id, outcome, click.now
            )
            return build_followup_answered(outcome.value, answer.meeting, answer.partner)

        click.answer(record)

    @on(app, deps, ids.KEEP_GOING_ACTION, ids.END_PAIRING_ACTION)
    def handle_continue(click: Click) -> None:
        keep = click.action_id == ids.KEEP_GOING_ACTION
        message = click.run(
            lambda session: build_continue_answered(
                continue_pairing(session, click.id, click.team_id, click.user_id, keep, click.now),
                keep,
                click.user_id,
            )
        )
        if message is None:
            return
        if not keep and click.response_url:
            # The question sits in the pair's group DM: gone for both, so nobody answers it again
            # and the partner's only news is their own DM.
            click.respond(delete_original=True)
        click.tell(message)

    @on(app, deps, ids.SHARE_SUCCESS_ACTION)
    def handle_share_success(click: Click) -> None:
        channel = channel_label(click.client, deps.settings.success_channel)

        def form(session: Session) -> View:
            view = success_view(
                session,
                deps,
                click.team_id,
                click.user_id,
                "",
                click.response_url,
                click.id,
                channel=channel,
            )
            if view is None:
                raise MentorCoachError(NO_MENTOR_YET)
            return view

        click.open(click.run(form))

    @on(app, deps, ids.REMOVE_SUCCESS_ACTION)
    def handle_remove_success(click: Click) -> None:
        removed = click.run(
            lambda session: (
                remove_success(session, click.id, click.team_id, click.user_id, click.now)
                or ("", "")
            )
        )
        if removed is None:
            return
        channel, ts = removed
        if channel:
            click.client.chat_delete(channel=channel, ts=ts)
        click.tell(build_note("Removed. Your mentor still has it."))

    @on(app, deps, ids.BECOME_MENTOR_ACTION)
    def handle_become_mentor(click: Click) -> None:
        # Only the form says "mentor": the role is saved with it, so Cancel changes nothing.
        open_profile_modal(
            click.client,
            deps,
            trigger_id=click.body["trigger_id"],
            team_id=click.team_id,
            user_id=click.user_id,
            response_url=click.response_url,
            as_mentor=True,
        )


def register_controls(app: App, deps: Deps) -> None:
    """Everyone's controls: a last thank-you after `/mentor end`, and the confirmed forget me."""

    @on(app, deps, ids.LAST_THANKS_ACTION)
    def handle_last_thanks(click: Click) -> None:
        # The ordinary thank-you form and its checks (once a day, no blocks) do the rest.
        to = click.value if MENTION_ID.match(click.value) else ""
        if not to:
            click.tell(build_note("I can't tell who that thank-you is for."))
            return
        metadata = json.dumps({"to": to, "r": click.response_url})
        click.open(build_thanks_modal(f"<@{to}>", metadata))

    @on(app, deps, ids.FORGET_ME_ACTION)
    def handle_forget_me(click: Click) -> None:
        posts = click.run(
            lambda session: forget_me(session, click.team_id, click.user_id, click.now)
        )
        if posts is None:
            return
        take_down(click.client, posts)
        click.tell(build_forgotten(len(posts)))


def register_admin_tools(app: App, deps: Deps) -> None:
    """Program admins' buttons; the admin gate runs first, after ack (users.info is I/O)."""

    @on(app, deps, ids.ADMIN_NUDGE_ACTION)
    def handle_admin_nudge(click: Click) -> None:
        try:
            require_admin(click.client, deps, click.user_id)
        except MentorCoachError as error:
            click.tell(build_note(str(error)))
            return

        def nudge(session: Session) -> Message:
            result, pairing = nudge_from_admin(
                session, click.team_id, click.id, click.now, click.user_id
            )
            return build_nudge_answer(
                result, pairing.mentor.slack_user_id, pairing.mentee.slack_user_id
            )

        click.answer(nudge)


def register_rounds(app: App, deps: Deps) -> None:
    """A matching round's Approve and Discard: admins only, and each round decided once."""

    @on(app, deps, ids.ROUND_APPROVE_ACTION, ids.ROUND_DISCARD_ACTION)
    def handle_round_decision(click: Click) -> None:
        try:
            require_admin(click.client, deps, click.user_id)
        except MentorCoachError as error:
            click.tell(build_note(str(error)))
            return

        def decide(session: Session) -> Message:
            if click.action_id == ids.ROUND_DISCARD_ACTION:
                discard_round(session, click.team_id, click.id, click.user_id, click.now)
                return build_round_discarded()
            approved = approve_round(
                session, click.team_id, click.id, click.user_id, deps.settings, click.now
            )
            return build_round_approved(approved)

        click.answer(decide)
