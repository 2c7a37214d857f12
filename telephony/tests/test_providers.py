"""The provider modules read every documented (and older) shape and write the documented ones."""

import json
from datetime import UTC, datetime

import pytest

from telephony.providers import twilio, vapi


def _parse(message: dict) -> vapi.ServerMessage:
    return vapi.parse(json.dumps({"message": message}).encode())


def test_tool_calls_from_either_list_and_either_argument_name():
    only_with_tool = _parse(
        {
            "type": "tool-calls",
            "call": {"id": "c"},
            "toolWithToolCallList": [
                {
                    "type": "function",
                    "function": {"name": "find_customer"},
                    "toolCall": {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "find_customer", "parameters": {"phone": "+1"}},
                    },
                }
            ],
        }
    )
    assert vapi.tool_calls(only_with_tool) == [
        vapi.ToolCall("t1", "find_customer", {"phone": "+1"})
    ]
    blank = _parse(
        {
            "type": "tool-calls",
            "toolCallList": [{"id": "t2", "function": {"name": "x", "arguments": ""}}],
        }
    )
    assert vapi.tool_calls(blank) == [vapi.ToolCall("t2", "x", {})]
    listed = _parse(
        {
            "type": "tool-calls",
            "toolCallList": [{"id": "t3", "function": {"name": "x", "arguments": "[1, 2]"}}],
        }
    )
    assert vapi.tool_calls(listed)[0].arguments is None


def test_an_older_report_with_top_level_fields_is_read():
    report = vapi.report_of(
        _parse(
            {
                "type": "end-of-call-report",
                "endedReason": "assistant-ended-call",
                "summary": "Old-style summary",
                "recordingUrl": "https://example.test/old.wav",
                "messages": [{"role": "user", "message": "Hi", "time": 1778576400000}],
                "call": {"id": "c", "startedAt": "2026-05-12T09:00:00Z", "cost": 0.5},
            }
        )
    )
    assert report.summary == "Old-style summary"
    assert report.recording_url == "https://example.test/old.wav"
    assert report.started_at == datetime(2026, 5, 12, 9, tzinfo=UTC)
    assert str(report.cost) == "0.5000"
    assert [(u.role, u.text) for u in report.transcript] == [("caller", "Hi")]


def test_the_recording_object_of_newer_reports_is_read():
    report = vapi.report_of(
        _parse(
            {
                "type": "end-of-call-report",
                "artifact": {"recording": {"mono": {"combinedUrl": "https://example.test/m.wav"}}},
                "analysis": {},
                "endedReason": "customer-ended-call",
            }
        )
    )
    assert report.recording_url == "https://example.test/m.wav"


def test_event_ids_tell_repeated_messages_apart():
    status = _parse({"type": "status-update", "status": "ringing", "call": {"id": "c"}})
    ended = _parse({"type": "status-update", "status": "ended", "call": {"id": "c"}})
    report = _parse({"type": "end-of-call-report", "call": {"id": "c"}})
    assert len({status.event_id, ended.event_id, report.event_id}) == 3
    assert report.event_id == "c:end-of-call-report"


@pytest.mark.parametrize(
    ("status", "ours"),
    [("in-progress", "in_progress"), ("ended", "ended"), ("not-found", None)],
)
def test_vapi_statuses(status, ours):
    assert vapi.status_of(_parse({"type": "status-update", "status": status}))[0] == ours


def test_tool_results_are_single_line_strings():
    answer = vapi.tool_results(
        [
            vapi.ToolResult("a", "x", result="line one\nline two"),
            vapi.ToolResult("b", "y", error="bad\r\nthing"),
        ]
    )
    assert answer == {
        "results": [
            {"name": "x", "toolCallId": "a", "result": "line one line two"},
            {"name": "y", "toolCallId": "b", "error": "bad thing"},
        ]
    }


def test_twilio_statuses_and_twiml():
    completed = twilio.voice_request(
        {"CallSid": "CA1", "CallStatus": "no-answer", "CallDuration": "0"}
    )
    assert (completed.status, completed.ended_reason, completed.duration) == (
        "ended",
        "twilio-no-answer",
        0,
    )
    assert (
        twilio.message_event({"MessageSid": "SM1", "MessageStatus": "read"}).status == "delivered"
    )
    dial = twilio.dial("+442079460199", timeout=20, spoken="Un momento", language="es")
    assert '<Say language="es-ES">Un momento</Say>' in dial
    assert '<Dial timeout="20">+442079460199</Dial>' in dial
