"""Acceptance tests: the real, unmodified `simple-salesforce` package against a
running dialtone server.

Run through tests/clients/run.sh, which starts the server and sets:
  DIALTONE_HTTPS_URL      https://127.0.0.1:PORT (self-signed cert)
  REQUESTS_CA_BUNDLE      the server's generated cert (DATA/tls/cert.pem)
  DIALTONE_USER / DIALTONE_PASSWORD / DIALTONE_CLIENT_ID / DIALTONE_CLIENT_SECRET

How we log in, and why not `Salesforce(username=..., consumer_key=...)`:
simple-salesforce (1.12.x, simple_salesforce/login.py) builds every login URL
as f'https://{domain}.salesforce.com/services/oauth2/token' (and the SOAP one
as f'https://{domain}.salesforce.com/services/Soap/u/...'); `domain` can only
name a *.salesforce.com host, and `instance_url` is used only for the JWT
flow. So the library cannot be pointed at 127.0.0.1 for login. What it does
offer is the standard "direct session" constructor,
`Salesforce(instance=..., session_id=...)`, which is exactly how integrations
use a token obtained through the OAuth 2.0 username-password flow. We obtain
that token with simple-salesforce's own OAuth token routine,
`simple_salesforce.login.token_login(token_url, ...)`, which POSTs the
password grant to a URL we pass in and parses the response the same way
`Salesforce(username=..., consumer_key=..., consumer_secret=...)` does, so the
library's real token handling (and its SalesforceAuthenticationFailed
mapping) is exercised. The raw-token tests use `requests` for fields that
token_login does not return (refresh_token, id, ...).

simple-salesforce speaks only https (it always builds https://{instance}/...),
so these tests use the server's --https port; verification stays on, trusting
the server's self-signed certificate through REQUESTS_CA_BUNDLE.
"""

import os
import secrets

import pytest
import requests
from simple_salesforce import (
    Salesforce,
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
    format_soql,
)
from simple_salesforce.login import token_login

API_VERSION = "60.0"
BULK_ROWS = 2100  # > 2000, the default query batch size, so paging must happen
BATCH = 200  # composite/sobjects accepts at most 200 records a call

# Phones in the forms people actually type them. Salesforce stores Phone
# fields as written; these tests expect the same round trip.
CONTACTS = [
    ("Alice", "+1 (415) 555-0100"),
    ("Bob", "415.555.0101"),
    ("Carol", "(415) 555-0102"),
    ("Dave", "+14155550103"),
    ("Erin", "+44 20 7946 0958"),
    ("Frank", "415-555-0105"),
]
LEADS = [
    ("Gina", "(212) 555-0110", "Web"),
    ("Hank", "212.555.0111", "Web"),
    ("Ivy", "+1 212 555 0112", "Web"),
    ("Jack", "2125550113", "Phone Inquiry"),
    ("Kim", "+1-212-555-0114", "Phone Inquiry"),
    ("Liam", "+33 1 42 68 53 00", "Partner Referral"),
]


# --------------------------------------------------------------------------
# configuration and login helpers


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"environment variable {name} is not set: run these tests through "
            "tests/clients/run.sh (it starts dialtone and sets the variables)",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def cfg():
    base = _env("DIALTONE_HTTPS_URL").rstrip("/")
    return {
        "base": base,
        "token_url": f"{base}/services/oauth2/token",
        "user": _env("DIALTONE_USER"),
        "password": _env("DIALTONE_PASSWORD"),
        "client_id": _env("DIALTONE_CLIENT_ID"),
        "client_secret": _env("DIALTONE_CLIENT_SECRET"),
    }


def password_grant(cfg, password=None, client_secret=None):
    return {
        "grant_type": "password",
        "client_id": cfg["client_id"],
        "client_secret": client_secret or cfg["client_secret"],
        "username": cfg["user"],
        "password": password if password is not None else cfg["password"],
    }


def sf_login(cfg, password=None, client_secret=None):
    """OAuth2 username-password flow through simple-salesforce's token_login."""
    session_id, sf_instance = token_login(
        cfg["token_url"],
        password_grant(cfg, password, client_secret),
        "login",  # domain: only used in a warning message on failure
        cfg["client_id"],
        None,  # headers
        None,  # proxies
    )
    return session_id, sf_instance


@pytest.fixture(scope="session")
def sf(cfg):
    session_id, sf_instance = sf_login(cfg)
    return Salesforce(instance=sf_instance, session_id=session_id, version=API_VERSION)


@pytest.fixture(scope="session")
def tag():
    """Unique per run: every record this module creates carries it, so the
    queries below see only this run's data even on a shared database."""
    return "py" + secrets.token_hex(5)


def error_of(exc_info):
    """The first error of a Salesforce REST error body."""
    content = exc_info.value.content
    assert isinstance(content, list) and content, f"error body is not a list: {content!r}"
    err = content[0]
    assert "message" in err and "errorCode" in err, err
    return err


def created(result):
    assert result["success"] is True, result
    assert result["errors"] == [], result
    assert isinstance(result["id"], str) and result["id"], result
    return result["id"]


@pytest.fixture(scope="module")
def seeded(sf, tag):
    contacts = {}
    for first, phone in CONTACTS:
        res = sf.Contact.create(
            {
                "FirstName": first,
                "LastName": tag,
                "Phone": phone,
                "Email": f"{first.lower()}.{tag}@example.com",
            }
        )
        contacts[first] = created(res)
    leads = {}
    for first, phone, source in LEADS:
        res = sf.Lead.create(
            {
                "FirstName": first,
                "LastName": tag,
                "Company": f"Co-{tag}",
                "Phone": phone,
                "LeadSource": source,
                "Status": "Open - Not Contacted",
            }
        )
        leads[first] = created(res)
    return {"contacts": contacts, "leads": leads}


# --------------------------------------------------------------------------
# login


def test_token_response_has_salesforce_shape(cfg):
    resp = requests.post(cfg["token_url"], data=password_grant(cfg), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    tok = resp.json()
    for key in ("access_token", "instance_url", "token_type", "id", "issued_at", "signature", "refresh_token"):
        assert tok.get(key), f"token response lacks {key}: {tok}"
    assert tok["token_type"] == "Bearer"
    # simple-salesforce strips the scheme from instance_url and always talks
    # https to what is left: it must be the origin the client logged in to.
    assert tok["instance_url"] == cfg["base"], tok["instance_url"]
    # id is the identity URL .../id/{orgId}/{userId} (jsforce parses the last
    # two segments as organizationId and user id).
    org_id, user_id = tok["id"].rstrip("/").split("/")[-2:]
    assert org_id and user_id and org_id != "id"
    assert str(tok["issued_at"]).isdigit(), "issued_at is epoch milliseconds as a string"


def test_login_and_describe_global(sf):
    desc = sf.describe()
    names = {o["name"] for o in desc["sobjects"]}
    assert {"Account", "Contact", "Lead", "Case"} <= names, names


def test_wrong_password_fails_login(cfg):
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        sf_login(cfg, password=cfg["password"] + "-wrong")
    assert exc.value.code == "invalid_grant", str(exc.value)


def test_wrong_client_secret_fails_login(cfg):
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        sf_login(cfg, client_secret="not-the-secret")
    assert exc.value.code in ("invalid_client", "invalid_grant"), str(exc.value)


def test_bogus_session_is_rejected(sf):
    bogus = Salesforce(instance=sf.sf_instance, session_id="00Dbogus!notatoken", version=API_VERSION)
    with pytest.raises(SalesforceExpiredSession) as exc:
        bogus.query("SELECT Id FROM Contact LIMIT 1")
    assert exc.value.status == 401
    assert error_of(exc)["errorCode"] == "INVALID_SESSION_ID"


def test_refresh_token_grant_gives_working_token(cfg, sf):
    first = requests.post(cfg["token_url"], data=password_grant(cfg), timeout=30)
    assert first.status_code == 200, first.text
    refresh_token = first.json()["refresh_token"]
    resp = requests.post(
        cfg["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": cfg["client_id"],
            "client_secret": cfg["client_secret"],
        },
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    tok = resp.json()
    assert tok["token_type"] == "Bearer"
    assert tok["instance_url"] == cfg["base"]
    assert tok.get("id"), "jsforce's refresh handler parses id from the refresh response"
    fresh = Salesforce(instance_url=tok["instance_url"], session_id=tok["access_token"], version=API_VERSION)
    res = fresh.query("SELECT COUNT() FROM Contact")
    assert isinstance(res["totalSize"], int)

    bad = requests.post(
        cfg["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token + "x",
            "client_id": cfg["client_id"],
            "client_secret": cfg["client_secret"],
        },
        timeout=30,
    )
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"] == "invalid_grant"


# --------------------------------------------------------------------------
# create / read


def test_create_and_read_contacts(sf, seeded, tag):
    for first, phone in CONTACTS:
        rec_id = seeded["contacts"][first]
        rec = sf.Contact.get(rec_id)
        assert rec["Id"] == rec_id
        assert rec["attributes"]["type"] == "Contact"
        assert rec["attributes"]["url"].endswith(f"/sobjects/Contact/{rec_id}")
        assert rec["FirstName"] == first
        assert rec["LastName"] == tag
        assert rec["Phone"] == phone
        assert rec["Email"] == f"{first.lower()}.{tag}@example.com"


def test_create_and_read_leads(sf, seeded, tag):
    for first, phone, source in LEADS:
        rec = sf.Lead.get(seeded["leads"][first])
        assert rec["attributes"]["type"] == "Lead"
        assert (rec["FirstName"], rec["LastName"], rec["Company"]) == (first, tag, f"Co-{tag}")
        assert rec["Phone"] == phone
        assert rec["LeadSource"] == source


def test_contact_with_account_and_mobile(sf, tag):
    account_id = created(sf.Account.create({"Name": f"Acme {tag}", "Phone": "+1 650 555 0199"}))
    contact_id = created(
        sf.Contact.create(
            {"FirstName": "Zed", "LastName": f"{tag}-acct", "AccountId": account_id, "MobilePhone": "+1 (650) 555-0198"}
        )
    )
    rec = sf.Contact.get(contact_id)
    assert rec["AccountId"] == account_id
    assert rec["MobilePhone"] == "+1 (650) 555-0198"
    res = sf.query(format_soql("SELECT Id FROM Contact WHERE AccountId = {}", account_id))
    assert [r["Id"] for r in res["records"]] == [contact_id]


def test_required_field_missing(sf, tag):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create({"FirstName": "NoCompany", "LastName": tag})
    assert exc.value.status == 400
    err = error_of(exc)
    assert err["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert "Company" in err.get("fields", []), err


def test_describe_contact(sf):
    desc = sf.Contact.describe()
    assert desc["name"] == "Contact"
    fields = {f["name"]: f for f in desc["fields"]}
    for name in ("Id", "FirstName", "LastName", "Phone", "MobilePhone", "Email", "AccountId"):
        assert name in fields, f"Contact describe lacks {name}"
    assert fields["Phone"]["type"] == "phone"
    assert fields["MobilePhone"]["type"] == "phone"
    assert fields["Email"]["type"] == "email"


# --------------------------------------------------------------------------
# SOQL


def test_query_where_order_by_limit(sf, seeded, tag):
    res = sf.query(
        format_soql(
            "SELECT Id, FirstName, LastName, Phone FROM Contact WHERE LastName = {} ORDER BY FirstName DESC LIMIT 3",
            tag,
        )
    )
    assert res["done"] is True
    assert res["totalSize"] == 3
    assert [r["FirstName"] for r in res["records"]] == ["Frank", "Erin", "Dave"]
    for r in res["records"]:
        assert r["attributes"]["type"] == "Contact"
        assert r["attributes"]["url"].endswith(f"/sobjects/Contact/{r['Id']}")
        assert r["Id"] == seeded["contacts"][r["FirstName"]]


def test_query_by_phone_as_written(sf, seeded, tag):
    res = sf.query(
        format_soql("SELECT Id, Phone FROM Contact WHERE LastName = {} AND Phone = {}", tag, "(415) 555-0102")
    )
    assert [r["Id"] for r in res["records"]] == [seeded["contacts"]["Carol"]]


def test_query_count(sf, seeded, tag):
    res = sf.query(format_soql("SELECT COUNT() FROM Contact WHERE LastName = {}", tag))
    assert res["totalSize"] == len(CONTACTS)
    assert res["records"] == []


def test_aggregate_group_by(sf, seeded, tag):
    res = sf.query(
        format_soql(
            "SELECT LeadSource, COUNT(Id) cnt FROM Lead WHERE Company = {} GROUP BY LeadSource",
            f"Co-{tag}",
        )
    )
    assert res["done"] is True
    by_source = {}
    for r in res["records"]:
        assert r["attributes"]["type"] == "AggregateResult"
        by_source[r["LeadSource"]] = r["cnt"]
    assert by_source == {"Web": 3, "Phone Inquiry": 2, "Partner Referral": 1}

    res = sf.query(format_soql("SELECT COUNT(Id) FROM Lead WHERE Company = {}", f"Co-{tag}"))
    assert res["records"][0]["expr0"] == len(LEADS)


def test_query_all_pages_with_next_records_url(sf, tag):
    last_name = f"{tag}-bulk"
    ids = set()
    for start in range(0, BULK_ROWS, BATCH):
        body = {
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Contact"}, "FirstName": f"B{i:05d}", "LastName": last_name, "Phone": f"+1 415 555 {i:04d}"}
                for i in range(start, min(start + BATCH, BULK_ROWS))
            ],
        }
        results = sf.restful("composite/sobjects", method="POST", json=body)
        assert len(results) == len(body["records"])
        ids.update(created(r) for r in results)
    assert len(ids) == BULK_ROWS

    soql = format_soql("SELECT Id, FirstName FROM Contact WHERE LastName = {}", last_name)
    first = sf.query(soql)
    assert first["totalSize"] == BULK_ROWS
    assert first["done"] is False, "more than 2000 rows must come in more than one page"
    assert 0 < len(first["records"]) < BULK_ROWS
    next_url = first["nextRecordsUrl"]
    assert next_url.startswith(f"/services/data/v{API_VERSION}/query/"), next_url

    # query_more by locator (URL built by the client) and by URL (as query_all does)
    locator = next_url.rsplit("/", 1)[1]
    second = sf.query_more(locator)
    assert second["records"], second

    everything = sf.query_all(soql)
    got = [r["Id"] for r in everything["records"]]
    assert len(got) == BULK_ROWS
    assert set(got) == ids


# --------------------------------------------------------------------------
# update / delete


def test_update_contact(sf, tag):
    rec_id = created(sf.Contact.create({"FirstName": "Upd", "LastName": f"{tag}-upd", "Phone": "415 555 0170"}))
    status = sf.Contact.update(rec_id, {"Phone": "+1 415-555-0171", "Email": f"upd.{tag}@example.com"})
    assert status == 204
    rec = sf.Contact.get(rec_id)
    assert rec["Phone"] == "+1 415-555-0171"
    assert rec["Email"] == f"upd.{tag}@example.com"
    assert rec["FirstName"] == "Upd"  # untouched fields stay


def test_delete_contact(sf, tag):
    rec_id = created(sf.Contact.create({"FirstName": "Del", "LastName": f"{tag}-del"}))
    assert sf.Contact.delete(rec_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Contact.get(rec_id)
    assert exc.value.status == 404
    assert error_of(exc)["errorCode"] == "NOT_FOUND"
    res = sf.query(format_soql("SELECT Id FROM Contact WHERE Id = {}", rec_id))
    assert res["totalSize"] == 0


# --------------------------------------------------------------------------
# errors


def test_malformed_soql(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELEC Id FROM Contact")
    assert exc.value.status == 400
    assert error_of(exc)["errorCode"] == "MALFORMED_QUERY"


def test_invalid_field_in_query(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, NoSuchField__c FROM Contact")
    assert exc.value.status == 400
    assert error_of(exc)["errorCode"] == "INVALID_FIELD"


def test_invalid_field_on_create(sf, tag):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": tag, "NoSuchField__c": "x"})
    assert error_of(exc)["errorCode"] == "INVALID_FIELD"

