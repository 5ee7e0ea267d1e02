"""Modal submissions (view_submission)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session

from bot.core import ids
from bot.core.blocks import Message, View, build_note
from bot.core.errors import AlreadyDone, InvalidInput, MentorCoachError
from bot.core.inbox import act_once
from bot.core.typed import clean_text, row_id
from bot.find.blocks import build_profile_saved, build_request_answered, build_request_sent
from bot.find.finding import GoalsForm, save_goals
from bot.find.intros import decline_request, request_intro
from bot.find.profiles import ProfileForm, save_profile, validate_profile
from bot.prepare.blocks import (
    booked_summary,
    build_schedule_modal,
    cancelled_summary,
    moved_summary,
)
from bot.prepare.meetings import (
    SERIES_SESSIONS,
    MeetingForm,
    NeedsConfirmation,
    active_pairing,
    add_agenda_items,
    cancel_meeting,
    partner_of,
    reschedule_meeting,
    schedule_meeting,
    validate_plan,
)
from bot.respect.blocks import build_advice_saved, build_success_shared
from bot.respect.checkins import leave_note, save_advice, send_thanks, thank_mentor
from bot.respect.successes import share_success
from handlers.commands import show_matches
from handlers.deps import Deps, Interaction
from handlers.directory import channel_label, check_person, sync_member
from handlers.home import publish_home

T = TypeVar("T")


@dataclass(frozen=True)
class Submission(Interaction):
    """One modal submission: who, what they filled in, and how to answer the modal."""

    ack: Ack
    view: dict[str, Any]
    client: WebClient

    @property
    def meta(self) -> dict[str, Any]:
        """What we put in private_metadata; anything broken reads as empty."""
        try:
            value = json.loads(self.view.get("private_metadata") or "{}")
        except ValueError:
            return {}
        if not isinstance(value, dict):
            return {}
        return {k: clean_text(v) if isinstance(v, str) else v for k, v in value.items()}

    def id(self, key: str) -> int:
        return row_id(self.meta.get(key))

    def field(self, block_id: str, action_id: str) -> dict[str, Any]:
        """One input's state; a field Slack left out (or a forged payload dropped) is empty."""
        values = self.view.get("state", {}).get("values") or {}
        block = values.get(block_id) if isinstance(values, dict) else None
        state = block.get(action_id) if isinstance(block, dict) else None
        return state if isinstance(state, dict) else {}

    def typed(self, block_id: str, action_id: str) -> str | None:
        value = self.field(block_id, action_id).get("value")
        return clean_text(value) if isinstance(value, str) else None

    def picked_time(self, block_id: str, action_id: str) -> str | None:
        """A timepicker's "HH:mm"; anything else (a forged payload) is passed on to be refused."""
        value = self.field(block_id, action_id).get("selected_time")
        return clean_text(value) if isinstance(value, str) else None

    def chosen(self, block_id: str, action_id: str) -> str | None:
        option = self.field(block_id, action_id).get("selected_option")
        return option.get("value") if isinstance(option, dict) else None

    @property
    def key(self) -> str:
        """What makes this submission itself: a copy (a double click, a retried request) has the
        same view id and entries. A failed try rolls back its key, so the fixed one goes through.
        """
        view = self.view
        parts = [self.team_id, self.user_id, view.get("id"), view.get("callback_id")]
        parts += [view.get("private_metadata"), view.get("state")]
        return json.dumps(parts, sort_keys=True, default=str)

    def once(self, work: Callable[[Session], T]) -> T:
        """One transaction that no copy of this submission repeats; a copy gets AlreadyDone."""
        with self.deps.sessions.begin() as session:
            act_once(session, self.key, self.now)
            return work(session)

    def save(self, work: Callable[[Session], T], problem_block: str) -> T | None:
        """Run one transaction; close the modal on success, or keep it open with the problem."""
        try:
            result = self.once(work)
        except AlreadyDone as done:
            self.ack()
            self.reply(build_note(str(done)))
            return None
        except InvalidInput as error:
            self.ack(response_action="errors", errors=error.errors)
            return None
        except NeedsConfirmation as warning:
            self.ack(response_action="update", view=warning_view(self.meta, warning))
            return None
        except MentorCoachError as error:
            self.ack(response_action="errors", errors={problem_block: str(error)})
            return None
        self.ack()
        return result

    def reply(self, message: Message | None) -> None:
        """Answer through the response_url of what the modal was opened from."""
        url = self.meta.get("r")
        if message is not None and isinstance(url, str):
            WebhookClient(url).send_dict(message)


def on(app: App, deps: Deps, *callback_ids: str) -> Callable[[Callable[[Submission], None]], None]:
    def register(handler: Callable[[Submission], None]) -> None:
        def listener(
            ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
        ) -> None:
            handler(Submission(body=body, deps=deps, ack=ack, view=view, client=client))

        listener.__name__ = handler.__name__
        for callback_id in callback_ids:
            app.view(callback_id)(listener)

    return register


def register(app: App, deps: Deps) -> None:
    @on(app, deps, ids.PROFILE_CALLBACK)
    def handle_profile_submission(form: Submission) -> None:
        try:
            profile = validate_profile(profile_form(form), deps.settings.quiet_hours)
        except InvalidInput as error:
            form.ack(response_action="errors", errors=error.errors)
            return
        form.ack()
        sync_member(form.client, deps, form.team_id, form.user_id)
        try:
            message = form.once(
                lambda session: build_profile_saved(
                    save_profile(session, form.team_id, form.user_id, profile, form.now)
                )
            )
        except AlreadyDone as done:
            message = build_note(str(done))
        form.reply(message)
        publish_home(form.client, deps, form.team_id, form.user_id)

    register_find(app, deps)
    register_meetings(app, deps)
    register_respect(app, deps)


def profile_form(form: Submission) -> ProfileForm:
    roles = form.field(ids.PROFILE_ROLES_BLOCK, ids.PROFILE_ROLES_ACTION).get("selected_options")
    return ProfileForm(
        roles=frozenset(
            str(option.get("value")) for option in roles or [] if isinstance(option, dict)
        ),
        topics_offered=form.typed(ids.PROFILE_OFFERED_BLOCK, ids.PROFILE_OFFERED_ACTION),
        topics_sought=form.typed(ids.PROFILE_SOUGHT_BLOCK, ids.PROFILE_SOUGHT_ACTION),
        goals=form.typed(ids.PROFILE_GOALS_BLOCK, ids.PROFILE_GOALS_ACTION),
        background=form.typed(ids.PROFILE_BACKGROUND_BLOCK, ids.PROFILE_BACKGROUND_ACTION),
        experience=form.typed(ids.PROFILE_EXPERIENCE_BLOCK, ids.PROFILE_EXPERIENCE_ACTION),
        capacity=form.typed(ids.PROFILE_CAPACITY_BLOCK, ids.PROFILE_CAPACITY_ACTION),
        work_start=form.picked_time(ids.PROFILE_WORK_START_BLOCK, ids.PROFILE_WORK_START_ACTION),
        work_end=form.picked_time(ids.PROFILE_WORK_END_BLOCK, ids.PROFILE_WORK_END_ACTION),
    )


def register_find(app: App, deps: Deps) -> None:
    @on(app, deps, ids.GOALS_CALLBACK)
    def handle_goals_submission(form: Submission) -> None:
        goals = GoalsForm(
            goals=form.typed(ids.GOALS_BLOCK, ids.GOALS_ACTION),
            topics=form.typed(ids.GOALS_TOPICS_BLOCK, ids.GOALS_TOPICS_ACTION),
        )
        saved = form.save(
            lambda session: save_goals(session, form.team_id, form.user_id, goals, form.now),
            ids.GOALS_BLOCK,
        )
        if saved is None:
            return
        show_matches(
            form.client,
            deps,
            lambda **message: form.reply(message),
            team_id=form.team_id,
            user_id=form.user_id,
            query=goals.topics or "",
            trigger_id=None,
            response_url=form.meta.get("r"),
        )

    @on(app, deps, ids.INTRO_CALLBACK)
    def handle_intro_submission(form: Submission) -> None:
        def ask(session: Session) -> Message:
            request = request_intro(
                session,
                form.team_id,
                form.user_id,
                form.id("m"),
                form.typed(ids.INTRO_NOTE_BLOCK, ids.INTRO_NOTE_ACTION) or "",
                str(form.meta.get("q") or ""),
                deps.settings,
                form.now,
            )
            return build_request_sent(request)

        form.reply(form.save(ask, ids.INTRO_NOTE_BLOCK))

    @on(app, deps, ids.DECLINE_CALLBACK)
    def handle_decline_submission(form: Submission) -> None:
        def decline(session: Session) -> Message:
            request = decline_request(
                session,
                form.id("id"),
                form.team_id,
                form.user_id,
                form.typed(ids.DECLINE_REASON_BLOCK, ids.DECLINE_REASON_ACTION),
                form.now,
            )
            outcome = (
                f"You said not now to {request.mentee.name}. I've let them know kindly and "
                "shown them others."
            )
            return build_request_answered(request, outcome)

        message = form.save(decline, ids.DECLINE_REASON_BLOCK)
        if message is not None and not form.meta.get("r"):  # declined from the Home tab
            publish_home(form.client, deps, form.team_id, form.user_id)
        form.reply(message)


def meeting_form(form: Submission) -> MeetingForm:
    # datetimepicker submits Unix seconds as selected_date_time; Bolt has no helper for it.
    when = form.field(ids.WHEN_BLOCK, ids.WHEN_ACTION).get("selected_date_time")
    confirmed = form.meta.get("c")
    until = form.field(ids.UNTIL_BLOCK, ids.UNTIL_ACTION).get("selected_date")
    return MeetingForm(
        starts_at=when if isinstance(when, int) else None,
        duration=form.chosen(ids.DURATION_BLOCK, ids.DURATION_ACTION),
        cadence=form.chosen(ids.CADENCE_BLOCK, ids.CADENCE_ACTION),
        topic=form.typed(ids.MEETING_TOPIC_BLOCK, ids.MEETING_TOPIC_ACTION),
        confirmed_at=confirmed if isinstance(confirmed, int) else None,
        sessions=form.typed(ids.SESSIONS_BLOCK, ids.SESSIONS_ACTION),
        until=clean_text(until) if isinstance(until, str) else None,
    )


def register_meetings(app: App, deps: Deps) -> None:
    @on(app, deps, ids.SCHEDULE_CALLBACK)
    def handle_schedule_submission(form: Submission) -> None:
        booked = form.save(
            lambda session: book_or_move(session, form, meeting_form(form)), ids.WHEN_BLOCK
        )
        form.reply(build_note(booked) if booked else None)

    @on(app, deps, ids.CANCEL_CALLBACK)
    def handle_cancel_submission(form: Submission) -> None:
        whole = form.chosen(ids.CANCEL_SCOPE_BLOCK, ids.CANCEL_SCOPE_ACTION) == "series"
        said = form.save(
            lambda session: cancelled_summary(
                cancel_meeting(session, form.id("m"), form.team_id, form.user_id, whole, form.now),
                form.user_id,
            ),
            ids.CANCEL_SCOPE_BLOCK,
        )
        form.reply(build_note(said) if said else None)

    @on(app, deps, ids.AGENDA_CALLBACK)
    def handle_agenda_submission(form: Submission) -> None:
        text = form.typed(ids.AGENDA_ITEMS_BLOCK, ids.AGENDA_ITEMS_ACTION)
        added = form.save(
            lambda session: add_agenda_items(
                session, form.id("m"), form.team_id, form.user_id, text, form.now
            ),
            ids.AGENDA_ITEMS_BLOCK,
        )
        if added is not None:
            form.reply(build_note(f"Added {added} to the agenda. Thanks for preparing!"))


def book_or_move(session: Session, form: Submission, plan_form: MeetingForm) -> str:
    """Book a new session for a pair ("p") or move an existing one ("m"); returns a confirmation."""
    settings, now = form.deps.settings, form.now
    if "m" in form.meta:
        meeting = reschedule_meeting(
            session, form.id("m"), form.team_id, form.user_id, plan_form, settings, now
        )
        return moved_summary(meeting, form.user_id)
    pairing = active_pairing(session, form.id("p"), form.team_id, form.user_id)
    me = pairing.person(form.user_id) or pairing.mentee
    plan = validate_plan(plan_form, partner_of(pairing, me.id), now, series=True, tz=me.tz)
    meetings = schedule_meeting(session, pairing, form.user_id, plan, settings, now)
    return booked_summary(meetings, form.user_id)


def warning_view(meta: dict[str, Any], warning: NeedsConfirmation) -> View:
    """The same form with the warning; saving the same time again books it."""
    plan = warning.plan
    return build_schedule_modal(
        warning.partner_name,
        json.dumps({**meta, "c": int(plan.starts_at.timestamp())}),
        starts_at=plan.starts_at,
        duration=plan.duration,
        cadence=plan.cadence_weeks,
        sessions=plan.sessions if plan.cadence_weeks else SERIES_SESSIONS,
        until=plan.until,
        topic=plan.topic or "",
        warning=str(warning),
        moving="m" in meta,
    )


def register_respect(app: App, deps: Deps) -> None:
    @on(app, deps, ids.ADVICE_CALLBACK)
    def handle_advice_submission(form: Submission) -> None:
        text = form.typed(ids.ADVICE_BLOCK, ids.ADVICE_ACTION)

        def save(session: Session) -> Message:
            answer, advice = save_advice(
                session, form.id("m"), form.team_id, form.user_id, text, deps.settings, form.now
            )
            return build_advice_saved(len(advice), answer.partner)

        form.reply(form.save(save, ids.ADVICE_BLOCK))

    @on(app, deps, ids.THANKS_CALLBACK, ids.MENTOR_NOTE_CALLBACK)
    def handle_note_submission(form: Submission) -> None:
        thanks = form.view["callback_id"] == ids.THANKS_CALLBACK
        block, action = (
            (ids.THANKS_BLOCK, ids.THANKS_ACTION_ID)
            if thanks
            else (ids.MENTOR_NOTE_BLOCK, ids.MENTOR_NOTE_ACTION_ID)
        )
        text = form.typed(block, action)
        if thanks and "to" in form.meta:
            try:  # private_metadata is as easy to forge as the rest: ask Slack who this is
                check_person(form.client, str(form.meta["to"]))
            except MentorCoachError as error:
                form.ack(response_action="errors", errors={block: str(error)})
                return

        def send(session: Session) -> Message:
            team_id, user_id, meeting_id = form.team_id, form.user_id, form.id("m")
            if not thanks:
                leave_note(session, meeting_id, team_id, user_id, text, form.now)
            elif "to" in form.meta:  # /mentor thanks @person, outside any session
                send_thanks(session, team_id, user_id, str(form.meta["to"]), text, form.now)
            else:
                thank_mentor(session, meeting_id, team_id, user_id, text, form.now)
            return build_note("Sent. They'll get it by DM.")

        form.reply(form.save(send, block))

    @on(app, deps, ids.SUCCESS_CALLBACK)
    def handle_success_submission(form: Submission) -> None:
        mentor = form.chosen(ids.SUCCESS_MENTOR_BLOCK, ids.SUCCESS_MENTOR_ACTION) or ""
        public = form.chosen(ids.SUCCESS_SCOPE_BLOCK, ids.SUCCESS_SCOPE_ACTION) == "public"
        # Looked up when the form opened, so this is the cached name, not a Slack call.
        channel = channel_label(form.client, deps.settings.success_channel)

        def share(session: Session) -> Message:
            shared = share_success(
                session,
                form.team_id,
                form.user_id,
                form.typed(ids.SUCCESS_TEXT_BLOCK, ids.SUCCESS_TEXT_ACTION),
                row_id(mentor) or None,
                public,
                deps.settings,
                form.now,
            )
            return build_success_shared(shared.mentor, shared.channel_note, public, channel)

        form.reply(form.save(share, ids.SUCCESS_TEXT_BLOCK))
