"""Modal submissions (view_submission)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session

from bot import ids
from bot.checkins import leave_note, save_advice, send_thanks, thank_mentor
from bot.errors import InvalidInput, MentorCoachError
from bot.finding import GoalsForm, save_goals
from bot.intros import decline_request, request_intro
from bot.meetings import (
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
from bot.messages import (
    build_advice_saved,
    build_note,
    build_profile_saved,
    build_request_answered,
    build_request_sent,
    build_success_shared,
)
from bot.modals import build_schedule_modal
from bot.mrkdwn import local_time
from bot.profiles import ProfileForm, save_profile, validate_profile
from bot.successes import share_success
from handlers import Deps
from handlers.commands import show_matches
from handlers.directory import sync_member
from handlers.home import publish_home


def register(app: App, deps: Deps) -> None:
    register_find(app, deps)
    register_meetings(app, deps)
    register_respect(app, deps)

    @app.view(ids.PROFILE_CALLBACK)
    def handle_profile_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        try:
            profile = validate_profile(profile_form(view["state"]["values"]))
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        ack()
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        sync_member(client, deps, team_id, user_id)
        with deps.sessions.begin() as session:
            reply = build_profile_saved(
                save_profile(session, team_id, user_id, profile, deps.clock())
            )
        response_url = json.loads(view.get("private_metadata") or "{}").get("response_url")
        if response_url:
            WebhookClient(response_url).send_dict(reply)
        publish_home(client, deps, team_id, user_id)


def profile_form(values: dict[str, dict[str, Any]]) -> ProfileForm:
    """Read the modal's state; a field Slack left out (or a forged payload dropped) is None."""

    def field(block_id: str, action_id: str) -> dict[str, Any]:
        return values.get(block_id, {}).get(action_id) or {}

    def typed(block_id: str, action_id: str) -> str | None:
        return field(block_id, action_id).get("value")

    chosen = field(ids.PROFILE_ROLES_BLOCK, ids.PROFILE_ROLES_ACTION).get("selected_options") or []
    return ProfileForm(
        roles=frozenset(str(option.get("value")) for option in chosen),
        topics_offered=typed(ids.PROFILE_OFFERED_BLOCK, ids.PROFILE_OFFERED_ACTION),
        topics_sought=typed(ids.PROFILE_SOUGHT_BLOCK, ids.PROFILE_SOUGHT_ACTION),
        goals=typed(ids.PROFILE_GOALS_BLOCK, ids.PROFILE_GOALS_ACTION),
        background=typed(ids.PROFILE_BACKGROUND_BLOCK, ids.PROFILE_BACKGROUND_ACTION),
        experience=typed(ids.PROFILE_EXPERIENCE_BLOCK, ids.PROFILE_EXPERIENCE_ACTION),
        capacity=typed(ids.PROFILE_CAPACITY_BLOCK, ids.PROFILE_CAPACITY_ACTION),
    )


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def typed(view: dict[str, Any], block_id: str, action_id: str) -> str | None:
    return ((view["state"]["values"].get(block_id) or {}).get(action_id) or {}).get("value")


def reply_to(url: str | None, message: dict[str, Any]) -> None:
    """Answer through the response_url of the message or command the modal was opened from."""
    if url:
        WebhookClient(url).send_dict(message)


def register_find(app: App, deps: Deps) -> None:
    @app.view(ids.GOALS_CALLBACK)
    def handle_goals_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        form = GoalsForm(
            goals=typed(view, ids.GOALS_BLOCK, ids.GOALS_ACTION),
            topics=typed(view, ids.GOALS_TOPICS_BLOCK, ids.GOALS_TOPICS_ACTION),
        )
        try:
            with deps.sessions.begin() as session:
                save_goals(session, team_id, user_id, form, deps.clock())
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        ack()
        url = metadata(view).get("response_url")
        show_matches(
            client,
            deps,
            lambda **message: reply_to(url, message),
            team_id=team_id,
            user_id=user_id,
            query=form.topics or "",
            trigger_id=None,
            response_url=url,
        )

    @app.view(ids.INTRO_CALLBACK)
    def handle_intro_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        meta = metadata(view)
        try:
            with deps.sessions.begin() as session:
                request = request_intro(
                    session,
                    team_id,
                    user_id,
                    meta.get("m") if isinstance(meta.get("m"), int) else 0,
                    typed(view, ids.INTRO_NOTE_BLOCK, ids.INTRO_NOTE_ACTION) or "",
                    str(meta.get("q") or ""),
                    deps.settings,
                    deps.clock(),
                )
                message = build_request_sent(request)
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        except MentorCoachError as error:
            ack(response_action="errors", errors={ids.INTRO_NOTE_BLOCK: str(error)})
            return
        ack()
        reply_to(meta.get("r"), message)

    @app.view(ids.DECLINE_CALLBACK)
    def handle_decline_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        meta = metadata(view)
        try:
            with deps.sessions.begin() as session:
                request = decline_request(
                    session,
                    meta.get("id") if isinstance(meta.get("id"), int) else 0,
                    team_id,
                    user_id,
                    typed(view, ids.DECLINE_REASON_BLOCK, ids.DECLINE_REASON_ACTION),
                    deps.clock(),
                )
                name = request.mentee.name
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        except MentorCoachError as error:
            ack(response_action="errors", errors={ids.DECLINE_REASON_BLOCK: str(error)})
            return
        ack()
        outcome = f"You said not now to {name}. I've let them know kindly and shown them others."
        if meta.get("r"):
            reply_to(meta["r"], build_request_answered(request, outcome))
        else:  # declined from the Home tab
            publish_home(client, deps, team_id, user_id)


def meeting_form(view: dict[str, Any]) -> MeetingForm:
    values = view["state"]["values"]

    def chosen(block_id: str, action_id: str) -> str | None:
        option = ((values.get(block_id) or {}).get(action_id) or {}).get("selected_option")
        return option.get("value") if isinstance(option, dict) else None

    # datetimepicker submits Unix seconds as selected_date_time; Bolt has no helper for it.
    when = ((values.get(ids.WHEN_BLOCK) or {}).get(ids.WHEN_ACTION) or {}).get("selected_date_time")
    confirmed = metadata(view).get("c")
    return MeetingForm(
        starts_at=when if isinstance(when, int) else None,
        duration=chosen(ids.DURATION_BLOCK, ids.DURATION_ACTION),
        cadence=chosen(ids.CADENCE_BLOCK, ids.CADENCE_ACTION),
        topic=typed(view, ids.MEETING_TOPIC_BLOCK, ids.MEETING_TOPIC_ACTION),
        confirmed_at=confirmed if isinstance(confirmed, int) else None,
    )


def register_meetings(app: App, deps: Deps) -> None:
    @app.view(ids.SCHEDULE_CALLBACK)
    def handle_schedule_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        meta, form = metadata(view), meeting_form(view)
        try:
            with deps.sessions.begin() as session:
                booked = book_or_move(session, meta, form, team_id, user_id, deps)
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        except NeedsConfirmation as warning:
            ack(response_action="update", view=warning_view(meta, warning))
            return
        except MentorCoachError as error:
            ack(response_action="errors", errors={ids.WHEN_BLOCK: str(error)})
            return
        ack()
        reply_to(meta.get("r"), build_note(booked))

    @app.view(ids.CANCEL_CALLBACK)
    def handle_cancel_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        meta = metadata(view)
        scope = (view["state"]["values"].get(ids.CANCEL_SCOPE_BLOCK) or {}).get(
            ids.CANCEL_SCOPE_ACTION
        ) or {}
        whole = (scope.get("selected_option") or {}).get("value") == "series"
        try:
            with deps.sessions.begin() as session:
                cancelled = cancel_meeting(
                    session, _int(meta.get("m")), team_id, user_id, whole, deps.clock()
                )
        except MentorCoachError as error:
            ack(response_action="errors", errors={ids.CANCEL_SCOPE_BLOCK: str(error)})
            return
        ack()
        count = "1 session" if len(cancelled) == 1 else f"{len(cancelled)} sessions"
        reply_to(meta.get("r"), build_note(f"Cancelled {count}. I've told you both."))

    @app.view(ids.AGENDA_CALLBACK)
    def handle_agenda_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        meta = metadata(view)
        text = typed(view, ids.AGENDA_ITEMS_BLOCK, ids.AGENDA_ITEMS_ACTION)
        try:
            with deps.sessions.begin() as session:
                added = add_agenda_items(
                    session, _int(meta.get("m")), team_id, user_id, text, deps.clock()
                )
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        except MentorCoachError as error:
            ack(response_action="errors", errors={ids.AGENDA_ITEMS_BLOCK: str(error)})
            return
        ack()
        reply_to(meta.get("r"), build_note(f"Added {added} to the agenda. Thanks for preparing!"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def book_or_move(
    session: Session,
    meta: dict[str, Any],
    form: MeetingForm,
    team_id: str,
    user_id: str,
    deps: Deps,
) -> str:
    """Book a new session for a pair ("p") or move an existing one ("m"); returns a confirmation."""
    now = deps.clock()
    if "m" in meta:
        meeting = reschedule_meeting(
            session, _int(meta["m"]), team_id, user_id, form, deps.settings, now
        )
        return f"Moved to {local_time(meeting.starts_at)}. I've told you both."
    pairing = active_pairing(session, _int(meta.get("p")), team_id, user_id)
    me = pairing.mentor if pairing.mentor.slack_user_id == user_id else pairing.mentee
    plan = validate_plan(form, partner_of(pairing, me.id), now, series=True)
    meetings = schedule_meeting(session, pairing, user_id, plan, deps.settings, now)
    repeat = f" and {len(meetings) - 1} more after it" if len(meetings) > 1 else ""
    return f"Booked for {local_time(meetings[0].starts_at)}{repeat}. I've told you both."


def warning_view(meta: dict[str, Any], warning: NeedsConfirmation) -> dict[str, Any]:
    """The same form with the warning; saving the same time again books it."""
    plan = warning.plan
    return build_schedule_modal(
        warning.partner_name,
        json.dumps({**meta, "c": int(plan.starts_at.timestamp())}),
        starts_at=plan.starts_at,
        duration=plan.duration,
        cadence=plan.cadence_weeks,
        topic=plan.topic or "",
        warning=str(warning),
        moving="m" in meta,
    )


def register_respect(app: App, deps: Deps) -> None:
    @app.view(ids.ADVICE_CALLBACK)
    def handle_advice_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        meta = metadata(view)
        text = typed(view, ids.ADVICE_BLOCK, ids.ADVICE_ACTION)
        try:
            with deps.sessions.begin() as session:
                meeting_id, now = _int(meta.get("m")), deps.clock()
                answer, advice = save_advice(
                    session, meeting_id, team_id, user_id, text, deps.settings, now
                )
                message = build_advice_saved(len(advice), answer.partner)
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        except MentorCoachError as error:
            ack(response_action="errors", errors={ids.ADVICE_BLOCK: str(error)})
            return
        ack()
        reply_to(meta.get("r"), message)

    @app.view(ids.THANKS_CALLBACK)
    @app.view(ids.MENTOR_NOTE_CALLBACK)
    def handle_note_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        meta, now = metadata(view), deps.clock()
        thanks = view["callback_id"] == ids.THANKS_CALLBACK
        block, action = (
            (ids.THANKS_BLOCK, ids.THANKS_ACTION_ID)
            if thanks
            else (ids.MENTOR_NOTE_BLOCK, ids.MENTOR_NOTE_ACTION_ID)
        )
        text = typed(view, block, action)
        try:
            with deps.sessions.begin() as session:
                if not thanks:
                    leave_note(session, _int(meta.get("m")), team_id, user_id, text, now)
                elif "to" in meta:
                    send_thanks(session, team_id, user_id, str(meta["to"]), text, now)
                else:
                    thank_mentor(session, _int(meta.get("m")), team_id, user_id, text, now)
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        except MentorCoachError as error:
            ack(response_action="errors", errors={block: str(error)})
            return
        ack()
        reply_to(meta.get("r"), build_note("Sent. They'll get it by DM."))

    @app.view(ids.SUCCESS_CALLBACK)
    def handle_success_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        values, meta = view["state"]["values"], metadata(view)

        def chosen(block_id: str, action_id: str) -> str | None:
            option = ((values.get(block_id) or {}).get(action_id) or {}).get("selected_option")
            return option.get("value") if isinstance(option, dict) else None

        mentor = chosen(ids.SUCCESS_MENTOR_BLOCK, ids.SUCCESS_MENTOR_ACTION) or ""
        public = chosen(ids.SUCCESS_SCOPE_BLOCK, ids.SUCCESS_SCOPE_ACTION) == "public"
        try:
            with deps.sessions.begin() as session:
                shared = share_success(
                    session,
                    team_id,
                    user_id,
                    typed(view, ids.SUCCESS_TEXT_BLOCK, ids.SUCCESS_TEXT_ACTION),
                    int(mentor) if mentor.isdigit() else None,
                    public,
                    deps.settings,
                    deps.clock(),
                )
                message = build_success_shared(shared.mentor, shared.channel_note, public)
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        ack()
        reply_to(meta.get("r"), message)
