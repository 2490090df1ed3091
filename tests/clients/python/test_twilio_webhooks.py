"""Twilio webhooks against a running `dialtone serve`, signed by the official
`twilio` package's RequestValidator (no hand-written signing): a call's voice
webhook and status callbacks make exactly one VoiceCall, duplicates change
nothing, recording and transcription callbacks reference one recording and
store its transcript redacted, and forged or unsigned requests are refused
and leave no record."""

import secrets
import xml.etree.ElementTree as ET

import pytest
from conftest import env
import requests
from twilio.request_validator import RequestValidator



@pytest.fixture(scope="module")
def twilio():
    base = env("DIALTONE_URL").rstrip("/")
    return {"base": base, "sid": env("DIALTONE_TWILIO_SID"), "validator": RequestValidator(env("DIALTONE_TWILIO_TOKEN"))}


def post(twilio, path, params, signature=None):
    url = twilio["base"] + path
    sig = signature if signature is not None else twilio["validator"].compute_signature(url, params)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": sig}, timeout=10)


def call_params(twilio, sid, **extra):
    p = {"AccountSid": twilio["sid"], "CallSid": sid, "From": "+14155550142", "To": "+18005550100", "Direction": "inbound"}
    p.update(extra)
    return p


def queued(twiml):
    """The caller waits in the call center's queue; Twilio asks the wait URL what to play meanwhile."""
    q = ET.fromstring(twiml).find("Enqueue")
    return q is not None and q.text == "AcceptanceCC" and q.get("waitUrl", "").endswith("/telephony/twilio/wait") and q.get("action", "").endswith("/telephony/twilio/dequeued")


def calls_with_key(sf, sid):
    return sf.query(f"SELECT Id, CallDisposition, DisconnectReason, CallType, VendorType FROM VoiceCall WHERE VendorCallKey = '{sid}'")


def test_a_signed_call_becomes_one_voice_call_and_duplicates_change_nothing(twilio, sf):
    sid = "CA" + secrets.token_hex(16)
    r = post(twilio, "/telephony/twilio/voice", call_params(twilio, sid, CallStatus="ringing"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert queued(r.text), r.text
    assert calls_with_key(sf, sid)["totalSize"] == 1, "the VoiceCall exists before any agent is offered the call"
    for seq, status in [(0, "ringing"), (1, "completed"), (1, "completed")]:
        r = post(twilio, "/telephony/twilio/status", call_params(twilio, sid, CallStatus=status, SequenceNumber=str(seq), CallDuration="42"))
        assert r.status_code == 204, r.text
    result = calls_with_key(sf, sid)
    assert result["totalSize"] == 1
    call = result["records"][0]
    # No agent answered (routing comes later): Twilio says "completed", but for the
    # contact centre the caller hung up while waiting, an abandoned call.
    assert (call["CallDisposition"], call["DisconnectReason"], call["CallType"], call["VendorType"]) == ("canceled", "CustomerDisconnect", "Inbound", "Twilio")


def test_a_status_callback_before_the_voice_webhook_still_makes_one_call(twilio, sf):
    sid = "CA" + secrets.token_hex(16)
    assert post(twilio, "/telephony/twilio/status", call_params(twilio, sid, CallStatus="busy", SequenceNumber="2")).status_code == 204
    assert post(twilio, "/telephony/twilio/voice", call_params(twilio, sid)).status_code == 200
    result = calls_with_key(sf, sid)
    assert result["totalSize"] == 1
    assert result["records"][0]["CallDisposition"] == "busy"


@pytest.mark.parametrize(
    "case",
    ["no signature", "wrong token", "altered parameter", "signed for another URL", "unknown account"],
)
def test_forged_webhooks_are_refused_and_leave_no_record(twilio, sf, case):
    sid = "CA" + secrets.token_hex(16)
    params = call_params(twilio, sid)
    url = twilio["base"] + "/telephony/twilio/voice"
    if case == "no signature":
        r = requests.post(url, data=params, timeout=10)
    elif case == "wrong token":
        r = post(twilio, "/telephony/twilio/voice", params, RequestValidator("not-the-token").compute_signature(url, params))
    elif case == "altered parameter":
        sig = twilio["validator"].compute_signature(url, params)
        r = post(twilio, "/telephony/twilio/voice", dict(params, From="+19005550199"), sig)
    elif case == "signed for another URL":
        r = post(twilio, "/telephony/twilio/voice", params, twilio["validator"].compute_signature(url + "?x=1", params))
    else:
        other = dict(params, AccountSid="AC" + "0" * 32)
        r = post(twilio, "/telephony/twilio/voice", other, twilio["validator"].compute_signature(url, other))
    assert r.status_code == 403, r.text
    assert r.json()[0]["errorCode"] == "INVALID_SIGNATURE"
    assert calls_with_key(sf, sid)["totalSize"] == 0


def recording_params(twilio, call_sid, recording_sid, **extra):
    p = {
        "AccountSid": twilio["sid"],
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{twilio['sid']}/Recordings/{recording_sid}",
        "RecordingDuration": "37",
        "RecordingStatus": "completed",
    }
    p.update(extra)
    return p


def end_call(twilio, sid):
    """The caller hangs up: Twilio's final status callback (a call left waiting would keep its place in the queue)."""
    r = post(twilio, "/telephony/twilio/status", call_params(twilio, sid, CallStatus="completed", SequenceNumber="9"))
    assert r.status_code == 204, r.text


def recordings_with_key(sf, recording_sid):
    return sf.query(f"SELECT Id, VoiceCallId, Provider, DurationInSeconds, Transcript FROM VoiceCallRecording WHERE VendorRecordingKey = '{recording_sid}'")


def test_a_recording_callback_links_one_recording_to_the_call_and_a_repeat_adds_none(twilio, sf):
    sid = "CA" + secrets.token_hex(16)
    rec = "RE" + secrets.token_hex(16)
    assert post(twilio, "/telephony/twilio/voice", call_params(twilio, sid)).status_code == 200
    for _ in range(2):
        r = post(twilio, "/telephony/twilio/recording", recording_params(twilio, sid, rec))
        assert r.status_code == 204, r.text
    call = calls_with_key(sf, sid)["records"][0]
    found = recordings_with_key(sf, rec)
    assert found["totalSize"] == 1, "one recording however often Twilio calls back"
    recording = found["records"][0]
    assert (recording["VoiceCallId"], recording["Provider"], recording["DurationInSeconds"]) == (call["Id"], "Twilio", 37)
    end_call(twilio, sid)


def test_a_transcription_is_stored_redacted(twilio, sf):
    sid = "CA" + secrets.token_hex(16)
    rec = "RE" + secrets.token_hex(16)
    assert post(twilio, "/telephony/twilio/voice", call_params(twilio, sid)).status_code == 200
    assert post(twilio, "/telephony/twilio/recording", recording_params(twilio, sid, rec)).status_code == 204
    params = {
        "AccountSid": twilio["sid"],
        "CallSid": sid,
        "RecordingSid": rec,
        "TranscriptionSid": "TR" + secrets.token_hex(16),
        "TranscriptionStatus": "completed",
        "TranscriptionText": "My card number is 4111 1111 1111 1111, expiry next May.",
    }
    r = post(twilio, "/telephony/twilio/transcription", params)
    assert r.status_code == 204, r.text
    transcript = recordings_with_key(sf, rec)["records"][0]["Transcript"]
    assert transcript.startswith("My card number is ") and transcript.endswith("expiry next May.")
    assert "4111" not in transcript, transcript
    assert "[card" in transcript, "the mask says what was removed"
    end_call(twilio, sid)


@pytest.mark.parametrize("path", ["/telephony/twilio/recording", "/telephony/twilio/transcription"])
def test_forged_recording_and_transcription_callbacks_are_refused_and_leave_no_record(twilio, sf, path):
    sid = "CA" + secrets.token_hex(16)
    rec = "RE" + secrets.token_hex(16)
    params = recording_params(twilio, sid, rec, TranscriptionSid="TR" + secrets.token_hex(16), TranscriptionStatus="completed", TranscriptionText="hello")
    url = twilio["base"] + path
    r = post(twilio, path, params, RequestValidator("not-the-token").compute_signature(url, params))
    assert r.status_code == 403, r.text
    assert r.json()[0]["errorCode"] == "INVALID_SIGNATURE"
    assert recordings_with_key(sf, rec)["totalSize"] == 0
    assert calls_with_key(sf, sid)["totalSize"] == 0


def set_presence(sf, username, status):
    base = env("DIALTONE_HTTPS_URL").rstrip("/")
    r = requests.put(
        f"{base}/api/agents/{username}/presence",
        json={"status": status},
        headers={"Authorization": f"Bearer {sf.session_id}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == status


def post_url(twilio, url, params):
    """A webhook to a full URL (a <Dial action>), signed over it with its query string, as Twilio signs."""
    sig = twilio["validator"].compute_signature(url, params)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": sig}, timeout=10)


def test_the_voice_webhook_dials_an_available_agent_and_otherwise_enqueues(twilio, sf):
    agent = env("DIALTONE_AGENT")
    set_presence(sf, agent, "Available")
    try:
        sid = "CA" + secrets.token_hex(16)
        r = post(twilio, "/telephony/twilio/voice", call_params(twilio, sid, CallStatus="ringing"))
        assert r.status_code == 200, r.text
        dial = ET.fromstring(r.text).find("Dial")
        assert dial is not None, r.text
        assert dial.find("Client").text == agent, r.text
        assert dial.get("timeout") == "20"
        action = dial.get("action")
        assert action.startswith(twilio["base"] + "/telephony/twilio/status?"), action
        # The agent is engaged: a simultaneous call waits in the queue.
        other = "CA" + secrets.token_hex(16)
        r = post(twilio, "/telephony/twilio/voice", call_params(twilio, other, CallStatus="ringing"))
        assert queued(r.text), r.text
        post(twilio, "/telephony/twilio/status", call_params(twilio, other, CallStatus="completed", SequenceNumber="1"))
        # Twilio reports the dial's outcome to the action URL; the call's TwiML ends there.
        r = post_url(twilio, action, call_params(twilio, sid, CallStatus="in-progress", DialCallStatus="completed", DialCallDuration="12", DialCallSid="CA" + secrets.token_hex(16)))
        assert r.status_code == 200, r.text
        assert ET.fromstring(r.text).find("Hangup") is not None, r.text
        r = post(twilio, "/telephony/twilio/status", call_params(twilio, sid, CallStatus="completed", SequenceNumber="1"))
        assert r.status_code == 204, r.text
        answered = sf.query(f"SELECT CallAcceptDateTime FROM VoiceCall WHERE VendorCallKey = '{sid}'")["records"]
        assert answered and answered[0]["CallAcceptDateTime"], answered
        # The call is over, so the agent is offered the next one.
        again = "CA" + secrets.token_hex(16)
        r = post(twilio, "/telephony/twilio/voice", call_params(twilio, again, CallStatus="ringing"))
        assert ET.fromstring(r.text).find("Dial/Client").text == agent, r.text
        post(twilio, "/telephony/twilio/status", call_params(twilio, again, CallStatus="canceled", SequenceNumber="1"))
    finally:
        set_presence(sf, agent, "Offline")
    # Nobody available: the caller is enqueued.
    sid = "CA" + secrets.token_hex(16)
    r = post(twilio, "/telephony/twilio/voice", call_params(twilio, sid, CallStatus="ringing"))
    assert queued(r.text), r.text
    post(twilio, "/telephony/twilio/status", call_params(twilio, sid, CallStatus="completed", SequenceNumber="1"))


def test_status_callbacks_count_at_twilios_timestamp_not_at_their_arrival(twilio, sf):
    """Twilio stamps each status callback (RFC 2822 `Timestamp`): a call that rang at
    10:00:00 and ended at 10:01:30 lasted 90 s, however late the callbacks arrive."""
    import email.utils
    import datetime

    sid = "CA" + secrets.token_hex(16)
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(minutes=5)
    stamp = lambda s: email.utils.format_datetime(start + datetime.timedelta(seconds=s))
    # Out of order, and all five minutes late: the end first, then the start.
    r = post(twilio, "/telephony/twilio/status", call_params(twilio, sid, CallStatus="completed", SequenceNumber="2", Timestamp=stamp(90)))
    assert r.status_code == 204, r.text
    r = post(twilio, "/telephony/twilio/status", call_params(twilio, sid, CallStatus="initiated", SequenceNumber="0", Timestamp=stamp(0)))
    assert r.status_code == 204, r.text
    rows = sf.query(f"SELECT CallStartDateTime, CallEndDateTime, CallDurationInSeconds FROM VoiceCall WHERE VendorCallKey = '{sid}'")["records"]
    assert len(rows) == 1, rows
    assert rows[0]["CallDurationInSeconds"] == 90, rows
    assert rows[0]["CallStartDateTime"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S")), rows
    # A Timestamp that is not a date is ignored (the arrival time counts), never an error.
    other = "CA" + secrets.token_hex(16)
    r = post(twilio, "/telephony/twilio/status", call_params(twilio, other, CallStatus="initiated", SequenceNumber="0", Timestamp="yesterday-ish"))
    assert r.status_code == 204, r.text
