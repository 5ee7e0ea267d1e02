"""The playground page: a column per person, each section rendered server-side to HTML."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.playground.render import Reader, blocks_html, e, mrkdwn, plain, text_object
from sandbox.playground.world import COMMAND, Person, Playground

TABS = (("messages", "Messages"), ("groups", "Group DM"), ("channel", "#wins"), ("home", "Home"))


def reader_for(world: Playground, person: Person) -> Reader:
    names = world.slack.display_names()
    return Reader(
        user_id=person.user_id,
        zone=person.tz,
        now=world.clock(),
        names=names,
        channels={world.channel_id: "wins"},
        people=tuple((p.user_id, p.name) for p in world.people),
    )


def sections(world: Playground) -> dict[str, str]:
    """Every changing part of the page, by element id."""
    found = {"clock": clock_bar(world)}
    for person in world.people:
        reader = reader_for(world, person)
        messages = _dm(world, person, reader)
        groups = _groups(world, person, reader)
        channel = _channel(world, reader)
        found[f"{person.key}-now"] = e(_local(world.clock(), person.tz, "%a %d %b, %H:%M"))
        found[f"{person.key}-messages"] = messages or _empty(
            f"Type <code>{COMMAND}</code> below to start, or write to Mentor Coach."
        )
        found[f"{person.key}-groups"] = groups or _empty("No group conversations yet.")
        found[f"{person.key}-channel"] = channel or _empty("Nothing shared in #wins yet.")
        found[f"{person.key}-home"] = _home(world, person, reader)
        found[f"{person.key}-modal"] = _modals(world, person, reader)
    return found


def clock_bar(world: Playground) -> str:
    now = world.clock()
    moment = world.next_moment()
    if moment is None:
        upcoming = '<span class="next">Nothing scheduled</span>'
        button = '<button type="button" class="btn" data-act="jump" disabled>Jump ahead</button>'
    else:
        when = f"{moment.at:%a %d %b %H:%M} UTC"
        upcoming = f'<span class="next">Next: the {e(moment.what)}, {e(when)}</span>'
        button = (
            '<button type="button" class="btn btn-primary" data-act="jump">'
            f"Jump ahead to the {e(moment.what)}</button>"
        )
    story = e(f"{now:%a %d %b %Y, %H:%M} UTC")
    return f'<span class="now">Story time: {story}</span>{upcoming}{button}'


def _local(moment: datetime, zone: str, pattern: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime(pattern)


def _empty(text: str) -> str:
    return f'<p class="empty">{text}</p>'


def _dm(world: Playground, person: Person, reader: Reader) -> str:
    slack = world.slack
    im = slack.im_channel(person.user_id)
    items: list[tuple[float, dict, bool]] = [(float(m["ts"]), m, False) for m in slack.history(im)]
    shown: set[str] = set()
    for seen in slack.seen(person.user_id):
        if seen.kind != "ephemeral" or seen.ts is None or seen.channel != im or seen.ts in shown:
            continue
        shown.add(seen.ts)
        current = slack.ephemeral(seen.ts)
        if current is not None:
            items.append((float(seen.ts), current, True))
    items.sort(key=lambda item: item[0])
    return "".join(_message(world, im, m, reader, ephemeral=eph) for _, m, eph in items)


def _groups(world: Playground, person: Person, reader: Reader) -> str:
    slack = world.slack
    channels = list(
        dict.fromkeys(s.channel for s in slack.seen(person.user_id) if s.kind == "group")
    )
    parts = []
    for channel in channels:
        if channel is None:
            continue
        members = slack.conversation_info(channel)["members"]
        names = ", ".join(
            slack.user_name(m) for m in members if m != person.user_id and m != slack.bot_user_id
        )
        messages = "".join(_message(world, channel, m, reader) for m in slack.history(channel))
        parts.append(
            f'<section class="group"><h4>You, {e(names)} and Mentor Coach</h4>{messages}</section>'
        )
    return "".join(parts)


def _channel(world: Playground, reader: Reader) -> str:
    channel = world.channel_id
    return "".join(_message(world, channel, m, reader) for m in world.slack.history(channel))


def _message(
    world: Playground, channel: str, message: dict, reader: Reader, *, ephemeral: bool = False
) -> str:
    author_id = message.get("user") if not message.get("bot_id") else None
    if author_id:
        author = f'<span class="author">{e(world.slack.user_name(author_id))}</span>'
    else:
        author = '<span class="author">Mentor Coach</span> <span class="app">APP</span>'
    when = world.story_time(float(message["ts"]))
    stamp = f"<time>{e(_local(when, reader.zone, '%a %H:%M'))}</time>"
    note = '<div class="eph-note">Only visible to you</div>' if ephemeral else ""
    blocks = message.get("blocks") or []
    if blocks:
        body = blocks_html(blocks, reader)
    else:
        body = f'<div class="b-text">{mrkdwn(message.get("text", ""), reader)}</div>'
    classes = "msg" + (" ephemeral" if ephemeral else "") + (" mine" if author_id else "")
    return (
        f'<article class="{classes}" data-surface="message" data-channel="{e(channel)}" '
        f'data-ts="{e(message["ts"])}"><div class="meta">{author} {stamp}</div>{note}'
        f'<div class="body">{body}</div></article>'
    )


def _home(world: Playground, person: Person, reader: Reader) -> str:
    view = world.slack.home(person.user_id)
    if view is None:
        return _empty("Loading the Home tab…")
    state = (view.get("state") or {}).get("values")
    return (
        f'<div class="home" data-surface="home">'
        f"{blocks_html(view.get('blocks') or [], reader, state=state)}</div>"
    )


def _modals(world: Playground, person: Person, reader: Reader) -> str:
    stack = world.slack.modal_stack(person.user_id)
    if not stack:
        return ""
    beneath = "".join(
        f'<div class="modal under">{e(plain(view.get("title")))}</div>' for view in stack[:-1]
    )
    top = stack[-1]
    submit = top.get("submit")
    close_label = plain(top.get("close")) or ("Cancel" if submit else "Close")
    submit_button = (
        f'<button type="submit" class="btn btn-primary">{text_object(submit, reader)}</button>'
        if submit
        else ""
    )
    state = (top.get("state") or {}).get("values")
    errors = top.get("errors") or {}
    body = blocks_html(top.get("blocks") or [], reader, state=state, errors=errors)
    return (
        f'<div class="modal-layer">{beneath}'
        f'<form class="modal" data-surface="modal" data-view="{e(top["id"])}" novalidate>'
        f"<header><h3>{e(plain(top.get('title')))}</h3>"
        '<button type="button" class="x" data-act="close" aria-label="Close">&times;</button>'
        "</header>"
        f'<div class="modal-body">{body}</div>'
        f'<footer><button type="button" class="btn" data-act="close">{e(close_label)}</button>'
        f"{submit_button}</footer></form></div>"
    )


def page(world: Playground) -> str:
    """The whole page, with every section filled in, so it works before any script runs."""
    parts = sections(world)
    columns = []
    for person in world.people:
        key = person.key
        tabs = "".join(
            f'<button type="button" class="tab{" on" if name == "messages" else ""}" '
            f'data-tab="{name}" data-person="{key}">{label}</button>'
            for name, label in TABS
        )
        panels = "".join(
            f'<div class="panel{" on" if name == "messages" else ""}" data-panel="{name}" '
            f'id="{key}-{name}" data-section>{parts[f"{key}-{name}"]}</div>'
            for name, _ in TABS
        )
        columns.append(
            f'<section class="person" id="{key}" data-user="{e(person.user_id)}">'
            f'<header class="who"><h2>{e(person.real_name)} <span class="role">{e(person.role)}'
            f'</span></h2><p>{e(person.about)} · <span id="{key}-now" data-section>'
            f"{parts[f'{key}-now']}</span> ({e(person.tz)})</p></header>"
            f'<nav class="tabs">{tabs}</nav><div class="panels">{panels}'
            f'<div id="{key}-modal" data-section>{parts[f"{key}-modal"]}</div></div>'
            f'<div class="notice" id="{key}-notice" role="status" hidden></div>'
            f'<form class="composer" data-act="say"><input name="text" autocomplete="off" '
            f'placeholder="Message Mentor Coach, or type {COMMAND} help" aria-label="Message as '
            f'{e(person.name)}"><button type="submit" class="btn">Send</button></form>'
            f"</section>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Mentor Coach playground</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/playground.css"></head><body>'
        '<header class="top"><h1>Mentor Coach playground</h1>'
        "<p>The real bot on a local stand-in for Slack. Play each person: type "
        f"<code>{COMMAND} find public speaking</code> as Kenji to begin.</p>"
        f'<div class="clock" id="clock" data-section>{parts["clock"]}</div>'
        '<div class="notice" id="clock-notice" role="status" hidden></div></header>'
        f'<main class="columns">{"".join(columns)}</main>'
        '<script src="/static/playground.js"></script></body></html>'
    )


def state_json(world: Playground, notice: str | None = None, person: str = "") -> dict[str, Any]:
    return {"sections": sections(world), "notice": notice, "person": person}
