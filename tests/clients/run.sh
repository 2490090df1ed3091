#!/usr/bin/env bash
# Real-client acceptance run: start a dialtone server on a fresh data dir (and,
# for postgres, a fresh database), then drive it with the real Python
# simple-salesforce and npm jsforce packages.
#
#   DIALTONE_BIN=target/release/dialtone tests/clients/run.sh sqlite|postgres
#
# Environment:
#   DIALTONE_BIN      the dialtone binary (required)
#   DIALTONE_PYTHON   python with tests/clients/python/requirements.txt installed
#                     (default: ~/.cache/dialtone/venv-clients/bin/python, else python3)
#   DIALTONE_TEST_PG  admin connection URL for the postgres backend
#                     (default postgres://postgres@127.0.0.1:5432/postgres); a
#                     database is created next to it and dropped at the end
#   DIALTONE_KEEP=1   keep the temp data dir (and database) for inspection
#   PYTEST_ARGS       extra pytest arguments, e.g. "-k four -s"
#
# scripts/test.sh installs the Python venv and node_modules before calling this.
set -euo pipefail

BACKEND=${1:-}
case "$BACKEND" in
  sqlite | postgres) ;;
  *)
    echo "usage: $0 sqlite|postgres" >&2
    exit 2
    ;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[clients/%s] %s\n' "$BACKEND" "$*"; }
die() {
  printf '[clients/%s] ERROR: %s\n' "$BACKEND" "$*" >&2
  exit 1
}

BIN=${DIALTONE_BIN:-}
[[ -n "$BIN" ]] || die "DIALTONE_BIN is not set (path to the dialtone binary)"
[[ -x "$BIN" ]] || die "DIALTONE_BIN=$BIN is not an executable file"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

PYTHON=${DIALTONE_PYTHON:-}
if [[ -z "$PYTHON" ]]; then
  if [[ -x "$HOME/.cache/dialtone/venv-clients/bin/python" ]]; then
    PYTHON=$HOME/.cache/dialtone/venv-clients/bin/python
  else
    PYTHON=python3
  fi
fi
"$PYTHON" -c 'import simple_salesforce, pytest' 2>/dev/null ||
  die "$PYTHON lacks simple-salesforce/pytest: pip install -r $HERE/python/requirements.txt (scripts/test.sh does this)"
command -v node >/dev/null || die "node not found"
[[ -d "$HERE/node/node_modules/jsforce" ]] ||
  die "jsforce is not installed: run 'npm ci' in $HERE/node (scripts/test.sh does this)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dialtone-clients-$BACKEND.XXXXXX")
DATA=$WORK/data
LOG=$WORK/server.log
mkdir -p "$DATA"
SERVER_PID=
DB_NAME=
PG_ADMIN=${DIALTONE_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}
STATUS=1 # until proven otherwise: the trap prints the server log unless 0

cleanup() {
  local rc=$?
  [[ $STATUS -eq 0 && $rc -eq 0 ]] || STATUS=1
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $STATUS -ne 0 && -f "$LOG" ]]; then
    echo "----- dialtone output ($BACKEND, last 200 lines of $LOG) -----" >&2
    tail -n 200 "$LOG" >&2 || true
    echo "----- end of server log -----" >&2
  fi
  if [[ -n "$DB_NAME" && "${DIALTONE_KEEP:-}" != 1 ]]; then
    psql "$PG_ADMIN" -X -q -w -v ON_ERROR_STOP=1 \
      -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 ||
      echo "[clients/$BACKEND] warning: could not drop database $DB_NAME" >&2
  fi
  if [[ "${DIALTONE_KEEP:-}" == 1 ]]; then
    echo "[clients/$BACKEND] kept $WORK${DB_NAME:+ and database $DB_NAME}" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STORE_ARGS=()
if [[ "$BACKEND" == postgres ]]; then
  command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"
  DB_NAME="dialtone_clients_$(date +%s)_$$"
  psql "$PG_ADMIN" -X -q -w -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null ||
    die "cannot create database $DB_NAME through $PG_ADMIN"
  STORE_ARGS=(--store "${PG_ADMIN%/*}/$DB_NAME")
  log "database $DB_NAME"
fi

# Free loopback ports (bound together so they differ): HTTP, HTTPS, the SIP
# edge (UDP; the TCP listener shares the number) and the agent's sipp phone.
read -r HTTP_PORT HTTPS_PORT SIP_PORT PHONE_PORT < <("$PYTHON" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)] + [socket.socket(type=socket.SOCK_DGRAM) for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)

USERNAME="acceptance@dialtone.test"
# Random per run, with characters that need form-encoding on the wire.
PASSWORD=$("$PYTHON" -c 'import secrets; print("Pw-" + secrets.token_urlsafe(18) + "#&=+%")')

log "adding user $USERNAME"
printf '%s\n' "$PASSWORD" |
  "$BIN" user add "$USERNAME" --profile "System Administrator" --data "$DATA" "${STORE_ARGS[@]}" >>"$LOG" 2>&1 ||
  die "'dialtone user add' failed"

log "adding app"
APP_OUT=$("$BIN" app add acceptance-tests --data "$DATA" "${STORE_ARGS[@]}" 2>>"$LOG") ||
  die "'dialtone app add' failed"
CLIENT_ID=$(sed -n 's/^client_id=//p' <<<"$APP_OUT" | head -n 1)
CLIENT_SECRET=$(sed -n 's/^client_secret=//p' <<<"$APP_OUT" | head -n 1)
[[ -n "$CLIENT_ID" && -n "$CLIENT_SECRET" ]] ||
  die "'dialtone app add' did not print client_id=... and client_secret=... lines; it printed: $APP_OUT"

log "adding a call center, a Twilio trunk and an agent"
cat >"$DATA/AcceptanceCC.xml" <<'XML'
<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">AcceptanceCC</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Acceptance Call Center</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/softphone</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">500</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">320</item>
  </section>
</callCenter>
XML
"$BIN" callcenter import "$DATA/AcceptanceCC.xml" --data "$DATA" "${STORE_ARGS[@]}" >>"$LOG" 2>&1 ||
  die "'dialtone callcenter import' failed"
TWILIO_SID=AC$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
TWILIO_TOKEN=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
printf '%s' "$TWILIO_TOKEN" |
  "$BIN" trunk add acceptance --provider twilio --account-sid "$TWILIO_SID" \
    --public-url "http://127.0.0.1:$HTTP_PORT" --call-center AcceptanceCC \
    --data "$DATA" "${STORE_ARGS[@]}" >>"$LOG" 2>&1 ||
  die "'dialtone trunk add' failed"
"$BIN" trunk add carrier --provider sip --match-ip 127.0.0.1 --call-center AcceptanceCC \
  --data "$DATA" "${STORE_ARGS[@]}" >>"$LOG" 2>&1 ||
  die "'dialtone trunk add --provider sip' failed"
AGENT="agent@dialtone.test"
printf '%s\n' "$PASSWORD" |
  "$BIN" user add "$AGENT" --profile Agent --call-center AcceptanceCC \
    --sip-contact "sip:agent@127.0.0.1:$PHONE_PORT" --data "$DATA" "${STORE_ARGS[@]}" >>"$LOG" 2>&1 ||
  die "'dialtone user add --call-center' failed"

log "adding a partner telephony call center (a fresh RSA key pair; its certificate in the file)"
PARTNER_KEY=$WORK/partner-key.pem
"$PYTHON" - "$PARTNER_KEY" "$DATA/PartnerCC.xml" <<'EOF' || die "could not write the partner telephony call center"
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partner.example")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
pem = cert.public_bytes(serialization.Encoding.PEM).decode()
open(sys.argv[2], "w").write(f"""<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="InternalName">PartnerCC</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Partner Telephony</item>
    <item sortOrder="2" name="reqVendorInfoApiName" label="Conversation Vendor Info Developer Name">partnerVendorInfo</item>
  </section>
  <section sortOrder="1" name="reqHvcc" label="SCV Settings">
    <item sortOrder="0" name="reqRelayState" label="Relay State">https://idp.partner.example/relay</item>
    <item sortOrder="1" name="reqIdentityUrl" label="Identity URL">https://idp.partner.example/login</item>
    <item sortOrder="2" name="reqTelephonyIntegrationCertificate" label="Telephony Integration Certificate">{pem}</item>
  </section>
</callCenter>
""")
EOF
"$BIN" callcenter import "$DATA/PartnerCC.xml" --data "$DATA" "${STORE_ARGS[@]}" >>"$LOG" 2>&1 ||
  die "'dialtone callcenter import' of the partner call center failed"

log "starting server: http 127.0.0.1:$HTTP_PORT, https 127.0.0.1:$HTTPS_PORT (log: $LOG)"
"$BIN" serve --data "$DATA" --http "127.0.0.1:$HTTP_PORT" \
  --https "127.0.0.1:$HTTPS_PORT" --tls-self-signed --sip "127.0.0.1:$SIP_PORT" "${STORE_ARGS[@]}" \
  </dev/null >>"$LOG" 2>&1 &
SERVER_PID=$!

HEALTH_URL="http://127.0.0.1:$HTTP_PORT/health"
CERT=$DATA/tls/cert.pem
deadline=$((SECONDS + ${DIALTONE_READY_TIMEOUT:-30}))
until "$PYTHON" - "$HEALTH_URL" <<'EOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
do
  kill -0 "$SERVER_PID" 2>/dev/null || die "dialtone serve exited before $HEALTH_URL answered"
  ((SECONDS < deadline)) || die "dialtone serve: $HEALTH_URL did not return 200 within ${DIALTONE_READY_TIMEOUT:-30}s"
  sleep 0.2
done
[[ -s "$CERT" ]] || die "dialtone serve --tls-self-signed did not write $CERT"
log "server ready (pid $SERVER_PID)"

export DIALTONE_URL="http://127.0.0.1:$HTTP_PORT"
export DIALTONE_HTTPS_URL="https://127.0.0.1:$HTTPS_PORT"
export DIALTONE_USER="$USERNAME"
export DIALTONE_AGENT="$AGENT"
export DIALTONE_PASSWORD="$PASSWORD"
export DIALTONE_CLIENT_ID="$CLIENT_ID"
export DIALTONE_CLIENT_SECRET="$CLIENT_SECRET"
export DIALTONE_TWILIO_SID="$TWILIO_SID"
export DIALTONE_TWILIO_TOKEN="$TWILIO_TOKEN"
export DIALTONE_BACKEND="$BACKEND"
export DIALTONE_SIP="127.0.0.1:$SIP_PORT"
export DIALTONE_AGENT_PHONE_PORT="$PHONE_PORT"
export DIALTONE_PARTNER_KEY="$PARTNER_KEY"
export DIALTONE_PARTNER_CC=PartnerCC
export REQUESTS_CA_BUNDLE="$CERT"
export NODE_EXTRA_CA_CERTS="$CERT"

failed=()
log "python: simple-salesforce (pytest)"
(cd "$HERE/python" && "$PYTHON" -m pytest ${PYTEST_ARGS:-}) || failed+=("python/simple-salesforce")

log "node: jsforce (node --test)"
(cd "$HERE/node" && node --test jsforce.test.mjs) || failed+=("node/jsforce")

kill -0 "$SERVER_PID" 2>/dev/null || failed+=("server died during the tests")

if ((${#failed[@]})); then
  die "failed: ${failed[*]}"
fi
STATUS=0
log "all client suites passed"
