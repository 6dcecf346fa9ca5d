"""Drives the unchanged reference Python client (IAMPASS 0.0.32) against the emulator.

Run by tests/emulator.rs (module `interop`) with IAMPASS_SERVER pointing at a running
emulator:

    IAMPASS_SERVER=http://127.0.0.1:PORT python reference_client.py APP_ID SECRET RUST_SESSION_JSON

RUST_SESSION_JSON is a session written by the Rust `Session::to_json` (already approved); the
script loads it with the reference client's own schema, reads its status and logs it out.
On success it prints `PYTHON_SESSION_JSON=...` (a session written by Python, destroyed) and
`PYTHON_FAILED_SESSION_JSON=...` (a session that did not start) for the Rust side to load,
and exits 0. Any failed check exits non-zero with a message.
"""

import json
import os
import sys
import urllib.parse
import urllib.request

SERVER = os.environ["IAMPASS_SERVER"].rstrip("/")

# Imported after reading the environment on purpose: IAMPASS.config reads IAMPASS_SERVER once.
from IAMPASS.authentication_api import AuthenticationAPI  # noqa: E402
from IAMPASS.authentication_method import AuthenticationMethod  # noqa: E402
from IAMPASS.management_api import ManagementAPI, ManagementAPIResult  # noqa: E402
from IAMPASS.session import Session  # noqa: E402
from IAMPASS.status import Status  # noqa: E402


def check(condition, message):
    if not condition:
        print("FAILED: " + message, file=sys.stderr)
        sys.exit(1)
    print("ok: " + message)


def control(method, path, body=None):
    """Calls the emulator's control API and answers the decoded JSON."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        SERVER + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def main():
    app_id, secret, rust_session_json = sys.argv[1], sys.argv[2], sys.argv[3]
    management = ManagementAPI(app_id, secret)
    auth = AuthenticationAPI(app_id, secret)
    user = "py user+1/é"

    # Users.
    check(management.add_user(user) == ManagementAPIResult.success, "add_user creates")
    check(management.add_user(user) == ManagementAPIResult.user_exists, "add_user again: exists")
    created, existing = management.add_users(["py-a", "py-b", user])
    check(created == ["py-a", "py-b"] and existing == [user], "add_users: created/existing")
    check(management.delete_users(["py-a", "py-b"]) == ManagementAPIResult.success, "delete_users")

    # Registration link and SMS.
    link = management.get_registration_link(user, "Py Thon")
    prefix = SERVER + "/phone/register/"
    check(link is not None and link.startswith(prefix), "get_registration_link: " + str(link))
    check(
        management.send_registration_sms(user, "Py Thon", "+15551234567", "Hello from Python")
        is True,
        "send_registration_sms",
    )
    outbox = control("GET", "/_emulator/sms?app_id=" + urllib.parse.quote_plus(app_id))
    sms = [m for m in outbox if m["user"] == user]
    check(len(sms) == 1 and sms[0]["phone_number"] == "+15551234567", "the SMS is in the outbox")
    check(sms[0]["message"] == "Hello from Python " + sms[0]["register_url"], "link appended")

    # Device registration through the link, as the phone would.
    check(
        management.has_registered_mobile_device(user) == ManagementAPIResult.no_mobile_device,
        "has_registered_mobile_device before: no",
    )
    token = link[len(prefix):]
    registered = control("POST", "/_emulator/registrations/" + token)
    check(registered["user"] == user, "the link registers the user's phone")
    check(
        management.has_registered_mobile_device(user) == ManagementAPIResult.has_mobile_device,
        "has_registered_mobile_device after: yes",
    )
    check(
        management.has_registered_mobile_device("nobody") == ManagementAPIResult.failed,
        "has_registered_mobile_device of an unknown user: failed (404)",
    )

    # Authentication.
    session = auth.authenticate_user(
        user, authentication_methods=[AuthenticationMethod.acceptance], duration_seconds=600
    )
    check(session is not None and session.session_status == Status.pending, "authenticate_user")
    check(session.in_progress and not session.failed and not session.active, "in progress")
    check(session.status_url.startswith(SERVER + "/authentication/status/"), "status_url")
    check(session.logout_url.startswith(SERVER + "/authentication/logout/"), "logout_url")
    check(session.get_status() == Status.pending, "get_status: pending")
    listed = control(
        "GET",
        "/_emulator/sessions?app_id="
        + urllib.parse.quote_plus(app_id)
        + "&user="
        + urllib.parse.quote_plus(user),
    )
    check([s["session_token"] for s in listed] == [session.session_token], "listed by the emulator")
    check(listed[0]["methods"] == ["acceptance"], "methods as requested")
    answer = control("POST", "/_emulator/sessions/" + session.session_token + "/approve")
    check(answer == {"session_status": "active"}, "approved through the control API")
    check(session.get_status() == Status.active and session.active, "get_status: active")

    # Session JSON round trip with the reference client's own schema.
    dumped = Session.Schema().dumps(session)
    loaded = Session.Schema().loads(dumped)
    check(loaded == session, "Session JSON round trip")
    check(set(json.loads(dumped)) == {
        "session_token", "session_secret", "logout_url", "status_url", "failure_reason",
        "session_status"}, "Session JSON keys")
    check(loaded.get_status() == Status.active, "a loaded session still works")

    # Walk away and back.
    control("POST", "/_emulator/sessions/" + session.session_token + "/walkaway")
    check(session.get_status() == Status.walkaway, "get_status: walkaway")
    check(not session.active and not session.failed, "walkaway is neither active nor failed")
    control("POST", "/_emulator/sessions/" + session.session_token + "/return")
    check(session.get_status() == Status.active, "get_status: active again")

    # Destroy.
    check(session.destroy() is True, "destroy")
    check(session.get_status() == Status.closed, "get_status after destroy: closed")
    print("PYTHON_SESSION_JSON=" + Session.Schema().dumps(session))

    # Requests that do not start.
    failed = auth.authenticate_user("nobody")
    check(failed.session_status == Status.failed and failed.failure_reason == "UNKNOWN_USER",
          "unknown user: failed, UNKNOWN_USER")
    check(management.add_user("py-no-phone") == ManagementAPIResult.success, "add a user")
    failed = auth.authenticate_user("py-no-phone")
    check(failed.failed and failed.failure_reason == "NO_MOBILE_DEVICE", "no phone: NO_MOBILE_DEVICE")
    failed_json = Session.Schema().dumps(failed)
    check(json.loads(failed_json) == {
        "session_token": None, "session_secret": None, "logout_url": None, "status_url": None,
        "failure_reason": "NO_MOBILE_DEVICE", "session_status": "failed"}, "failed session JSON")
    print("PYTHON_FAILED_SESSION_JSON=" + failed_json)

    # A session written by Rust loads and works in Python.
    rust_session = Session.Schema().loads(rust_session_json)
    check(rust_session.session_token is not None, "the Rust session JSON loads")
    check(rust_session.get_status() == Status.active, "the Rust session is active")
    check(rust_session.destroy() is True, "the Rust session is destroyed from Python")
    check(rust_session.get_status() == Status.closed, "the Rust session is closed")

    # Signature failures look like failures to the reference client.
    bad = Session.Schema().loads(rust_session_json)
    bad.session_secret = "wrong"
    check(bad.get_status() == Status.failed, "a wrong session secret is refused")

    check(management.delete_user(user) == ManagementAPIResult.success, "delete_user")
    check(
        management.has_registered_mobile_device(user) == ManagementAPIResult.failed,
        "a deleted user is unknown",
    )
    print("reference client interop: all checks passed")


if __name__ == "__main__":
    main()
