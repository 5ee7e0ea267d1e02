"""Button clicks (block_actions)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import ids
from bot.checkins import answer_for, continue_pairing, mark_held, mark_missed, record_outcome
from bot.errors import MentorCoachError
from bot.finding import wanted_topics
from bot.intros import accept_request, mentor_to_ask, request_to_answer, withdraw_request
from bot.meetings import active_pairing, meeting_for
from bot.members import member_for
from bot.messages import (
    NO_MENTOR_YET,
    build_checkin_held,
    build_checkin_missed,
    build_continue_answered,
    build_followup_answered,
    build_note,
    build_request_answered,
    build_wish_saved,
    build_withdrawn,
)
from bot.modals import (
    build_decline_modal,
    build_intro_modal,
)
from bot.models import AdviceOutcome
from bot.profiles import become_mentor
from bot.successes import remove_success
from bot.wishes import make_wishes
from handlers import Deps
from handlers.commands import show_matches
from handlers.directory import sync_member
from handlers.forms import (
    advice_view,
    after_session_view,
    meeting_view,
    open_profile_modal,
    schedule_view,
    success_view,
)
from handlers.home import publish_home


def button_value(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("value") or "")


def search_value(body: dict[str, Any]) -> dict[str, Any]:
    """The search a button carries; a forged or broken value is just an empty search."""
    try:
        value = json.loads(button_value(body))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def button_id(body: dict[str, Any]) -> int:
    value = button_value(body)
    return int(value) if value.isdigit() else 0


def who(body: dict[str, Any]) -> tuple[str, str]:
    return body["user"]["team_id"], body["user"]["id"]


def tell(
    body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps, message: dict[str, Any]
) -> None:
    """Answer the clicker where they clicked; Home tab clicks have no response_url, so DM them."""
    if body.get("response_url"):
        respond(**message)
        return
    client.chat_postMessage(channel=body["user"]["id"], text=message["text"])
    if (body.get("view") or {}).get("type") == "home":
        publish_home(client, deps, *who(body))


def register(app: App, deps: Deps) -> None:
    register_meetings(app, deps)
    register_respect(app, deps)

    @app.action(ids.OPEN_PROFILE_ACTION)
    def handle_open_profile(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id = who(body)
        open_profile_modal(
            client,
            deps,
            trigger_id=body["trigger_id"],
            team_id=team_id,
            user_id=user_id,
            response_url=body.get("response_url"),
        )
        sync_member(client, deps, team_id, user_id)

    @app.action(ids.FIND_MORE_ACTION)
    @app.action(ids.FIND_AGAIN_ACTION)
    def handle_find_more(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        search = search_value(body)
        page = search.get("p", 0)
        show_matches(
            client,
            deps,
            respond,
            team_id=who(body)[0],
            user_id=who(body)[1],
            query=str(search.get("q", ""))[:200],
            trigger_id=body.get("trigger_id"),
            response_url=body.get("response_url"),
            page=page if isinstance(page, int) else 0,
        )

    @app.action(ids.ASK_INTRO_ACTION)
    def handle_ask_intro(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        search = search_value(body)
        mentor_id = search.get("m") if isinstance(search.get("m"), int) else 0
        try:
            with deps.sessions.begin() as session:
                mentor = mentor_to_ask(session, who(body)[0], mentor_id)
                metadata = {"m": mentor.id, "q": search.get("q", ""), "r": body.get("response_url")}
                view = build_intro_modal(mentor, json.dumps(metadata))
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.WISH_ACTION)
    def handle_wish(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        team_id, user_id = who(body)
        with deps.sessions.begin() as session:
            member = member_for(session, team_id, user_id, deps.clock())
            names = wanted_topics(member, str(search_value(body).get("q", "")))
            make_wishes(session, team_id, user_id, names, deps.clock())
        tell(body, respond, client, deps, build_wish_saved(list(names)))

    @app.action(ids.ACCEPT_REQUEST_ACTION)
    def handle_accept(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        team_id, user_id = who(body)
        try:
            with deps.sessions.begin() as session:
                accepted = accept_request(session, button_id(body), team_id, user_id, deps.clock())
                name = accepted.request.mentee.name
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        outcome = (
            f":white_check_mark: You accepted {name}'s request. I've introduced you both in a "
            "group DM, with a few things to do before your first session."
        )
        tell(body, respond, client, deps, build_request_answered(accepted.request, outcome))

    @app.action(ids.DECLINE_REQUEST_ACTION)
    def handle_decline(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        team_id, user_id = who(body)
        try:
            with deps.sessions.begin() as session:
                request = request_to_answer(session, button_id(body), team_id, user_id)
                metadata = json.dumps({"id": request.id, "r": body.get("response_url")})
                view = build_decline_modal(request.mentee.name, metadata)
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.WITHDRAW_REQUEST_ACTION)
    def handle_withdraw(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        try:
            with deps.sessions.begin() as session:
                request = withdraw_request(session, button_id(body), team_id, user_id, deps.clock())
                message = build_withdrawn(request)
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        tell(body, respond, client, deps, message)


def register_meetings(app: App, deps: Deps) -> None:
    @app.action(ids.SCHEDULE_SESSION_ACTION)
    def handle_schedule_session(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        try:
            with deps.sessions.begin() as session:
                pairing = active_pairing(session, button_id(body), team_id, user_id)
                view = schedule_view(pairing, user_id, body.get("response_url"), deps.clock())
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.RESCHEDULE_ACTION)
    @app.action(ids.CANCEL_MEETING_ACTION)
    @app.action(ids.ADD_TOPICS_ACTION)
    def handle_meeting_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        action = body["actions"][0]["action_id"]
        try:
            with deps.sessions.begin() as session:
                meeting = meeting_for(session, button_id(body), team_id, user_id)
                view = meeting_view(action, meeting, user_id, body.get("response_url"))
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.NOTHING_THIS_TIME_ACTION)
    def handle_nothing_this_time(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        try:
            with deps.sessions.begin() as session:
                meeting_for(session, button_id(body), team_id, user_id)
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        note = "No problem. If something comes up before the session, just write it here."
        tell(body, respond, client, deps, build_note(note))


def register_respect(app: App, deps: Deps) -> None:
    @app.action(ids.CHECKIN_HELD_ACTION)
    def handle_checkin_held(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        try:
            with deps.sessions.begin() as session:
                answer = mark_held(session, button_id(body), team_id, user_id, deps.clock())
                message = build_checkin_held(answer.meeting, answer.partner, answer.is_mentee)
                view = advice_view(answer, body.get("response_url"))
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        if answer.is_mentee:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        tell(body, respond, client, deps, message)

    @app.action(ids.CHECKIN_RESCHEDULED_ACTION)
    @app.action(ids.CHECKIN_MISSED_ACTION)
    def handle_checkin_missed(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        moved = body["actions"][0]["action_id"] == ids.CHECKIN_RESCHEDULED_ACTION
        try:
            with deps.sessions.begin() as session:
                answer = mark_missed(
                    session, button_id(body), team_id, user_id, deps.clock(), moved=moved
                )
                message = build_checkin_missed(answer.meeting, moved)
                view = schedule_view(
                    answer.meeting.pairing, user_id, body.get("response_url"), deps.clock()
                )
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        if moved:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        tell(body, respond, client, deps, message)

    @app.action(ids.OPEN_ADVICE_ACTION)
    @app.action(ids.THANKS_ACTION)
    @app.action(ids.MENTOR_NOTE_ACTION)
    def handle_after_session_form(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        action = body["actions"][0]["action_id"]
        try:
            with deps.sessions.begin() as session:
                answer = answer_for(session, button_id(body), team_id, user_id, deps.clock())
                view = after_session_view(action, answer, body.get("response_url"))
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.FOLLOWUP_WORKED_ACTION)
    @app.action(ids.FOLLOWUP_WORKING_ACTION)
    @app.action(ids.FOLLOWUP_DIDNT_FIT_ACTION)
    def handle_followup(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        outcome = FOLLOWUP_OUTCOMES[body["actions"][0]["action_id"]]
        try:
            with deps.sessions.begin() as session:
                answer = record_outcome(
                    session, button_id(body), team_id, user_id, outcome, deps.clock()
                )
                message = build_followup_answered(outcome.value, answer.meeting, answer.partner)
        except MentorCoachError as error:
            message = build_note(str(error))
        tell(body, respond, client, deps, message)

    @app.action(ids.KEEP_GOING_ACTION)
    @app.action(ids.END_PAIRING_ACTION)
    def handle_continue(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        keep = body["actions"][0]["action_id"] == ids.KEEP_GOING_ACTION
        try:
            with deps.sessions.begin() as session:
                pairing = continue_pairing(
                    session, button_id(body), team_id, user_id, keep, deps.clock()
                )
                message = build_continue_answered(pairing, keep)
        except MentorCoachError as error:
            message = build_note(str(error))
        tell(body, respond, client, deps, message)

    @app.action(ids.SHARE_SUCCESS_ACTION)
    def handle_share_success(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        with deps.sessions.begin() as session:
            view = success_view(
                session, deps, team_id, user_id, "", body.get("response_url"), button_id(body)
            )
        if view is None:
            tell(body, respond, client, deps, build_note(NO_MENTOR_YET))
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.REMOVE_SUCCESS_ACTION)
    def handle_remove_success(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        team_id, user_id = who(body)
        try:
            with deps.sessions.begin() as session:
                posted = remove_success(session, button_id(body), team_id, user_id, deps.clock())
        except MentorCoachError as error:
            tell(body, respond, client, deps, build_note(str(error)))
            return
        if posted:
            client.chat_delete(channel=posted[0], ts=posted[1])
        tell(body, respond, client, deps, build_note("Removed. Your mentor still has it."))

    @app.action(ids.BECOME_MENTOR_ACTION)
    def handle_become_mentor(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id = who(body)
        with deps.sessions.begin() as session:
            become_mentor(session, team_id, user_id, deps.clock())
        open_profile_modal(
            client,
            deps,
            trigger_id=body["trigger_id"],
            team_id=team_id,
            user_id=user_id,
            response_url=body.get("response_url"),
        )


FOLLOWUP_OUTCOMES = {
    ids.FOLLOWUP_WORKED_ACTION: AdviceOutcome.WORKED,
    ids.FOLLOWUP_WORKING_ACTION: AdviceOutcome.WORKING,
    ids.FOLLOWUP_DIDNT_FIT_ACTION: AdviceOutcome.DIDNT_FIT,
}
