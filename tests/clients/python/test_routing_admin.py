"""Routing administered as records, through the real simple-salesforce client:
routing objects are sObjects (create, query, update, delete), and the whole
configuration reads back as one YAML file; a bad file is refused and changes
nothing. (No queue is created here: the other suites route AcceptanceCC's
calls with the default configuration.)"""

import secrets

import pytest
import requests
from conftest import env
from simple_salesforce import SalesforceMalformedRequest


def api(sf, method, path, **kw):
    base = env("DIALTONE_HTTPS_URL").rstrip("/")
    return requests.request(method, f"{base}{path}", headers={"Authorization": f"Bearer {sf.session_id}"}, timeout=10, **kw)


def test_routing_records_are_sobjects_and_the_configuration_is_one_file(sf):
    name = "skill_" + secrets.token_hex(4)
    created = sf.Skill.create({"DeveloperName": name, "MasterLabel": "A test skill"})
    assert created["success"], created
    rows = sf.query(f"SELECT Id, DeveloperName, MasterLabel FROM Skill WHERE DeveloperName = '{name}'")["records"]
    assert [r["MasterLabel"] for r in rows] == ["A test skill"]
    sf.Skill.update(created["id"], {"MasterLabel": "Renamed"})
    assert sf.Skill.get(created["id"])["MasterLabel"] == "Renamed"
    channel = sf.ServiceChannel.create({"DeveloperName": "chat_" + name, "CapacityWeight": 2})

    # The same configuration as one YAML file.
    r = api(sf, "GET", "/api/routing/config", params={"format": "yaml"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    assert f"- {name}" in r.text and "weight: 2" in r.text, r.text

    # Restricted picklists hold: a routing model that does not exist is refused.
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.QueueRoutingConfig.create({"DeveloperName": "bad_" + name, "RoutingModel": "Random"})
    assert exc.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

    # A file that does not hold together is refused with its problems, and nothing changes.
    before = api(sf, "GET", "/api/routing/config").json()
    bad = "queues:\n  - name: Lost\n    callCenter: NoSuchCenter\n"
    r = api(sf, "PUT", "/api/routing/config", data=bad)
    assert r.status_code == 400, r.text
    assert r.json()[0]["errorCode"] == "INVALID_ROUTING_CONFIG"
    assert "NoSuchCenter" in r.json()[0]["message"]
    assert api(sf, "GET", "/api/routing/config").json() == before

    sf.Skill.delete(created["id"])
    sf.ServiceChannel.delete(channel["id"])
    assert sf.query(f"SELECT Id FROM Skill WHERE DeveloperName = '{name}'")["totalSize"] == 0
