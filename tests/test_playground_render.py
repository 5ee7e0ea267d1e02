"""The playground's server side, without a browser: Block Kit to HTML, escaping, its guard rails.

SQLite only, like the browser test: nothing here depends on the database backend.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import app
from sandbox.playground import Playground, PlaygroundServer
from sandbox.playground.render import Reader, blocks_html, mrkdwn, state_from_form

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
TOKYO = Reader(
    "U1", "Asia/Tokyo", NOW, {"U1": "Kenji", "U2": "Amara"}, {"C1": "wins"}, (("U2", "Amara"),)
)
LAGOS = Reader("U2", "Africa/Lagos", NOW, TOKYO.names, TOKYO.channels)


def test_typed_text_shows_literally_and_formatting_still_applies():
    # As the bot sends it: what a person typed, escaped the way Slack wants it.
    sent = (
        "*&lt;b&gt;bold&lt;/b&gt;* "
        "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;x()&lt;/script&gt;"
    )
    shown = mrkdwn(sent, TOKYO)
    assert shown == (
        "<strong>&lt;b&gt;bold&lt;/b&gt;</strong> "
        "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;x()&lt;/script&gt;"
    )


def test_mrkdwn_mentions_links_dates_quotes_lists_and_code():
    text = (
        "*<@U2> sent you a note:* _soon_ ~old~ `a *b*`\n"
        ">Record yourself\n"
        "• one\n• two\n"
        "<https://example.org/?a=1&amp;b=2|the guide> <javascript:alert(1)|not a link> <#C1>\n"
        "<!date^1796198400^{date_short_pretty} at {time}|Wed 2 Dec, 09:00>"
    )
    shown = mrkdwn(text, TOKYO)
    assert '<strong><span class="mention">@Amara</span> sent you a note:</strong>' in shown
    assert "<em>soon</em> <del>old</del> <code>a *b*</code>" in shown
    assert "<blockquote>Record yourself</blockquote>" in shown
    assert shown.count("<li>") == 2
    assert '<a href="https://example.org/?a=1&amp;b=2"' in shown
    assert "javascript" not in shown and "not a link" in shown
    assert '<span class="mention">#wins</span>' in shown
    # Each reader sees the moment on their own clock, relative to their own today.
    assert "Tomorrow at 17:00" in shown
    assert "Tomorrow at 09:00" in mrkdwn(text, LAGOS)


def test_inputs_keep_hostile_values_inside_their_attributes():
    hostile = '"><script>alert(1)</script>'
    blocks = [
        {
            "type": "input",
            "block_id": "b",
            "label": {"type": "plain_text", "text": hostile},
            "element": {"type": "plain_text_input", "action_id": "a", "initial_value": hostile},
        },
        {
            "type": "actions",
            "block_id": "c",
            "elements": [
                {
                    "type": "button",
                    "action_id": "go",
                    "value": hostile,
                    "text": {"type": "plain_text", "text": hostile},
                    "style": "danger",
                }
            ],
        },
    ]
    shown = blocks_html(blocks, TOKYO)
    assert "<script" not in shown
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in shown
    assert 'data-value="&quot;&gt;&lt;script&gt;' in shown and "btn-danger" in shown


def test_a_picked_datetime_is_the_persons_own_wall_clock():
    blocks = [
        {
            "type": "input",
            "block_id": "when",
            "label": {"type": "plain_text", "text": "When"},
            "element": {"type": "datetimepicker", "action_id": "at"},
        },
        {
            "type": "input",
            "block_id": "topics",
            "label": {"type": "plain_text", "text": "Topics"},
            "element": {
                "type": "checkboxes",
                "action_id": "pick",
                "options": [
                    {"text": {"type": "plain_text", "text": "A"}, "value": "a"},
                    {"text": {"type": "plain_text", "text": "B"}, "value": "b"},
                ],
            },
        },
    ]
    entered = {"when": {"at": "2026-12-02T17:00"}, "topics": {"pick": ["b"]}}
    values = state_from_form(blocks, entered, "Asia/Tokyo")
    assert values == {"when": {"at": 1796198400}, "topics": {"pick": ["b"]}}
    shown = blocks_html(blocks, TOKYO, state={"when": {"at": {"selected_date_time": 1796198400}}})
    assert 'type="datetime-local" value="2026-12-02T17:00"' in shown


def test_every_input_kind_becomes_its_html_control():
    def option(value: str) -> dict:
        return {"text": {"type": "plain_text", "text": value.title()}, "value": value}

    elements = {
        "plain_text_input": {"multiline": True},
        "number_input": {"is_decimal_allowed": False, "min_value": "1", "max_value": "5"},
        "static_select": {"options": [option("a"), option("b")], "initial_option": option("b")},
        "users_select": {"initial_user": "U2"},
        "radio_buttons": {"options": [option("a"), option("b")]},
        "checkboxes": {"options": [option("a"), option("b")], "initial_options": [option("a")]},
        "datepicker": {"initial_date": "2026-12-02"},
        "timepicker": {"initial_time": "09:30"},
        "datetimepicker": {"initial_date_time": 1796198400},
    }
    blocks = [
        {
            "type": "input",
            "block_id": kind,
            "label": {"type": "plain_text", "text": kind},
            "element": {"type": kind, "action_id": "x", **extra},
        }
        for kind, extra in elements.items()
    ]
    shown = blocks_html(blocks, TOKYO)
    for control in (
        "<textarea",
        'type="number" step="1" min="1" max="5"',
        '<option value="b" selected>B</option>',
        '<option value="U2" selected>Amara</option>',
        'type="radio"',
        'type="checkbox" name="f-U1-checkboxes" id="f-U1-checkboxes-0" value="a" checked',
        'type="date" value="2026-12-02"',
        'type="time" value="09:30"',
        'type="datetime-local" value="2026-12-02T17:00"',
    ):
        assert control in shown, control


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with Playground(app, f"sqlite:///{tmp_path / 'p.db'}", seed=False) as world:
        server = PlaygroundServer(world, "127.0.0.1", 0)
        server.serve_in_background()
        try:
            yield server.url
        finally:
            server.shutdown()
            server.server_close()


def _post(url: str, body: bytes, content_type: str, host: str | None = None) -> int:
    headers = {"Content-Type": content_type, **({"Host": host} if host else {})}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_server_acts_only_for_its_own_page(served: str):
    act = served + "api/act"
    said = json.dumps({"person": "kenji", "kind": "say", "text": "/mentor help"}).encode()
    # A form on another site (not JSON), or a page reaching us through DNS rebinding.
    assert _post(act, b"person=kenji", "application/x-www-form-urlencoded") == 415
    assert _post(act, said, "application/json", host="evil.example:8800") == 421
    assert _post(act, b'{"person": "nobody"}', "application/json") == 400
    assert _post(act, said, "application/json") == 200
    with urllib.request.urlopen(served, timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
