"""What the acceptance suites share: the server's settings from tests/clients/run.sh
and an administrator's simple-salesforce session over HTTPS."""

import os

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.login import token_login

API_VERSION = "60.0"


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run through tests/clients/run.sh", pytrace=False)
    return value


@pytest.fixture(scope="module")
def sf():
    """The administrator, signed in with the OAuth2 password grant as simple-salesforce does it."""
    base = env("DIALTONE_HTTPS_URL").rstrip("/")
    session_id, instance = token_login(
        f"{base}/services/oauth2/token",
        {
            "grant_type": "password",
            "client_id": env("DIALTONE_CLIENT_ID"),
            "client_secret": env("DIALTONE_CLIENT_SECRET"),
            "username": env("DIALTONE_USER"),
            "password": env("DIALTONE_PASSWORD"),
        },
        "login",
        env("DIALTONE_CLIENT_ID"),
        None,
        None,
    )
    return Salesforce(instance=instance, session_id=session_id, version=API_VERSION)
