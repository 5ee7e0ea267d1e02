"""A local Slack for demos, tests and benchmarks: a Web API stand-in and a driver playing people."""

from sandbox.driver import Reply, SlackDriver
from sandbox.settle import TrackingExecutor
from sandbox.slack_api import ApiCall, FakeSlack
from sandbox.timeline import Seen, TimelineEntry
from sandbox.transcript import render_timeline, render_view, render_view_or_message

__all__ = [
    "ApiCall",
    "FakeSlack",
    "Reply",
    "Seen",
    "SlackDriver",
    "TimelineEntry",
    "TrackingExecutor",
    "render_timeline",
    "render_view",
    "render_view_or_message",
]
