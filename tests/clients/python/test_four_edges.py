"""One conversation through each of the four telephony edges of a running
`dialtone serve` — SIP (real sipp peers: a carrier and the agent's phone), a
Twilio account (webhooks signed by the official `twilio` RequestValidator),
a Salesforce Voice partner connector (RS256 JWTs from PyJWT, verified against
the call center's certificate) and the simulator's event API — and the four
VoiceCalls it leaves, read back with simple-salesforce: the same kind of
record whichever edge the call came through.

The conversation: a known Contact calls in, the call center's one agent
answers, the caller hangs up."""

import datetime
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.login import token_login
from twilio.request_validator import RequestValidator

API_VERSION = "60.0"
SCENARIOS = Path(__file__).resolve().parents[3] / "crates" / "dialtone" / "tests" / "sip"
CALLER = "+14155550177"

# Filled on every edge's VoiceCall, whatever the edge.
COMMON = [
    "CallType", "CallDisposition", "CallOrigin", "VendorType", "FromPhoneNumber", "ToPhoneNumber",
    "CallStartDateTime", "CallAcceptDateTime", "CallEndDateTime", "CallDurationInSeconds",
    "OwnerId", "RelatedRecordId", "CallCenterId", "DisconnectReason",
]


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run through tests/clients/run.sh", pytrace=False)
    return value


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture(scope="module")
def sf():
    base = _env("DIALTONE_HTTPS_URL").rstrip("/")
    session_id, instance = token_login(
        f"{base}/services/oauth2/token",
        {
            "grant_type": "password",
            "client_id": _env("DIALTONE_CLIENT_ID"),
            "client_secret": _env("DIALTONE_CLIENT_SECRET"),
            "username": _env("DIALTONE_USER"),
            "password": _env("DIALTONE_PASSWORD"),
        },
        "login",
        _env("DIALTONE_CLIENT_ID"),
        None,
        None,
    )
    return Salesforce(instance=instance, session_id=session_id, version=API_VERSION)


@pytest.fixture(scope="module")
def setup(sf):
    """The caller's Contact and the agent, Available."""
    contact = sf.Contact.create({"LastName": "Four Edges", "Phone": "(415) 555-0177"})["id"]
    agent = _env("DIALTONE_AGENT")
    agent_id = sf.query(f"SELECT Id FROM User WHERE Username = '{agent}'")["records"][0]["Id"]
    base = _env("DIALTONE_URL")
    r = requests.put(f"{base}/api/agents/{agent}/presence", json={"status": "Available"}, headers={"Authorization": f"Bearer {sf.session_id}"}, timeout=10)
    assert r.status_code == 200, r.text
    yield {"contact": contact, "agent": agent, "agent_id": agent_id, "base": base, "token": sf.session_id}
    requests.put(f"{base}/api/agents/{agent}/presence", json={"status": "Offline"}, headers={"Authorization": f"Bearer {sf.session_id}"}, timeout=10)


def via_simulator(s):
    key = "SIM-" + secrets.token_hex(8)
    t = _now()
    ev = lambda seq, dt, kind, **f: dict({"vendorCallKey": key, "seq": seq, "at": _iso(t + datetime.timedelta(seconds=dt)), "kind": kind}, **f)
    events = [
        ev(1, 0, "initiated", direction="inbound", **{"from": CALLER, "to": "+18005550100", "callCenter": "AcceptanceCC"}),
        ev(2, 1, "offered", agent=s["agent_id"]),
        ev(3, 3, "answered", agent=s["agent_id"]),
        ev(4, 9, "ended", reason="customerDisconnect"),
    ]
    r = requests.post(f"{s['base']}/api/calls/events", json=events, headers={"Authorization": f"Bearer {s['token']}"}, timeout=10)
    assert r.status_code < 300, r.text
    return key


def via_twilio(s):
    import xml.etree.ElementTree as ET

    validator = RequestValidator(_env("DIALTONE_TWILIO_TOKEN"))
    sid = "CA" + secrets.token_hex(16)

    def post(url, params):
        return requests.post(url, data=params, headers={"X-Twilio-Signature": validator.compute_signature(url, params)}, timeout=10)

    params = lambda **extra: dict({"AccountSid": _env("DIALTONE_TWILIO_SID"), "CallSid": sid, "From": CALLER, "To": "+18005550100", "Direction": "inbound"}, **extra)
    r = post(f"{s['base']}/telephony/twilio/voice", params(CallStatus="ringing"))
    assert r.status_code == 200, r.text
    dial = ET.fromstring(r.text).find("Dial")
    assert dial is not None and dial.find("Client").text == s["agent"], r.text
    # The agent's client answered; the dial ends when the caller hangs up.
    r = post(dial.get("action"), params(CallStatus="in-progress", DialCallStatus="completed", DialCallDuration="6", DialCallSid="CA" + secrets.token_hex(16)))
    assert r.status_code == 200, r.text
    r = post(f"{s['base']}/telephony/twilio/status", params(CallStatus="completed", SequenceNumber="1", CallDuration="9"))
    assert r.status_code == 204, r.text
    return sid


def via_partner(s):
    key_pem = Path(_env("DIALTONE_PARTNER_KEY")).read_bytes()
    center = _env("DIALTONE_PARTNER_CC")
    token = jwt.encode({"sub": center, "iat": int(time.time()), "exp": int(time.time()) + 300}, key_pem, algorithm="RS256")
    headers = {"Authorization": f"Bearer {token}"}
    base = s["base"] + "/telephony/v1/voiceCalls"
    key = "partner-" + secrets.token_hex(8)
    t = _now()
    r = requests.post(base, headers=headers, timeout=10, json={
        "callCenterApiName": center, "vendorCallKey": key, "to": "+18005550100", "from": CALLER,
        "initiationMethod": "Inbound", "startTime": _iso(t), "participants": [{"participantKey": CALLER, "type": "END_USER"}],
    })
    assert r.status_code == 200, r.text
    assert r.json()["voiceCallId"].startswith("0LQ"), r.text
    r = requests.patch(f"{base}/{key}", headers=headers, timeout=10, json={"agent": s["agent"], "acceptTime": _iso(t + datetime.timedelta(seconds=3))})
    assert r.status_code == 204, r.text
    r = requests.patch(f"{base}/{key}", headers=headers, timeout=10, json={"endTime": _iso(t + datetime.timedelta(seconds=9))})
    assert r.status_code == 204, r.text
    return key


def _free_udp_port():
    import socket

    with socket.socket(type=socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def via_sip(s):
    """The carrier's sipp calls Dialtone's SIP edge, which rings the agent's sipp phone."""
    sipp = shutil.which("sipp")
    assert sipp, "sipp is not installed (Debian package sip-tester; scripts/test.sh installs it)"
    work = Path(tempfile.mkdtemp(prefix="four-edges-sip-"))
    # The carrier's call comes from the Contact's number.
    uac = (SCENARIOS / "uac_hold.xml").read_text().replace("+1415555[call_number]", CALLER)
    (work / "uac.xml").write_text(uac)
    common = ["-nostdin", "-i", "127.0.0.1", "-timeout_error", "-m", "1"]
    phone = subprocess.Popen([sipp, "-sf", str(SCENARIOS / "uas_agent.xml"), "-p", _env("DIALTONE_AGENT_PHONE_PORT"), *common], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        carrier = subprocess.run(
            [sipp, _env("DIALTONE_SIP"), "-sf", str(work / "uac.xml"), "-s", "support", "-p", str(_free_udp_port()), "-timeout", "30", *common],
            cwd=work, capture_output=True, text=True, timeout=60,
        )
        assert carrier.returncode == 0, f"sipp carrier exit {carrier.returncode}\n{carrier.stdout[-3000:]}\n{carrier.stderr[-2000:]}"
    finally:
        phone.kill()
        phone.wait()
        shutil.rmtree(work, ignore_errors=True)
    return None


def ended_call(sf, where):
    fields = ", ".join(COMMON + ["Id", "VendorCallKey", "NumberOfHolds", "CustomerHoldDuration"])
    deadline = time.time() + 20
    while True:
        rows = sf.query(f"SELECT {fields} FROM VoiceCall WHERE {where}")["records"]
        if len(rows) == 1 and rows[0]["CallEndDateTime"]:
            return rows[0]
        assert time.time() < deadline, f"no one ended VoiceCall WHERE {where}: {rows}"
        time.sleep(0.2)


def test_a_call_through_each_edge_is_the_same_kind_of_voice_call(sf, setup):
    keys = {"simulator": via_simulator(setup), "twilio": via_twilio(setup), "partner": via_partner(setup), "sip": via_sip(setup)}
    # The SIP edge's key is the carrier's Call-ID, which sipp makes up: the call is the SIP one from the caller.
    calls = {edge: ended_call(sf, f"VendorCallKey = '{key}'" if key else f"VendorType = 'Sip' AND FromPhoneNumber = '{CALLER}'") for edge, key in keys.items()}
    for edge, call in calls.items():
        missing = [f for f in COMMON if call[f] in (None, "")]
        assert not missing, f"{edge}: {missing} empty in {call}"
        assert (call["CallType"], call["CallDisposition"]) == ("Inbound", "completed"), f"{edge}: {call}"
        assert call["OwnerId"] == setup["agent_id"], f"{edge}: the answering agent owns the call: {call}"
        assert call["RelatedRecordId"] == setup["contact"], f"{edge}: matched to the calling Contact: {call}"
        assert call["FromPhoneNumber"] == CALLER, f"{edge}: {call}"
        assert call["DisconnectReason"] == "CustomerDisconnect", f"{edge}: {call}"
        assert call["CallDurationInSeconds"] >= 0, f"{edge}: {call}"
    # Each edge says who it is; nothing else tells the records apart.
    assert {c["VendorType"] for c in calls.values()} == {"ContactCenter", "Twilio", "PartnerTelephony", "Sip"}
    # The SIP carrier put the call on hold once (a re-INVITE with a=sendonly).
    assert calls["sip"]["NumberOfHolds"] == 1, calls["sip"]
    # Each leg's Task, for reports built the older way, points at its call and its caller.
    for edge, call in calls.items():
        tasks = sf.query(f"SELECT TaskSubtype, WhatId, WhoId, CallType, OwnerId FROM Task WHERE CallObject = '{call['VendorCallKey']}'")["records"]
        assert len(tasks) == 1, f"{edge}: {tasks}"
        task = tasks[0]
        assert (task["TaskSubtype"], task["WhatId"], task["WhoId"], task["OwnerId"]) == ("Call", call["Id"], setup["contact"], setup["agent_id"]), f"{edge}: {task}"
