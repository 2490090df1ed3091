#!/usr/bin/env bash
# Dialtone's browser tests: a real `dialtone serve --demo` on a fresh data
# directory, the third-party Open CTI adapter on a second origin, and real
# Chromium (Debian's, never a downloaded one) driven by playwright-core under
# Node's own test runner.
#
#   DIALTONE_BIN=target/release/dialtone tests/browser/run.sh [test files…]
#
# Needs: node >= 20, npm (installs playwright-core into node_modules, no
# browser download), chromium (apt-get install -y chromium), sipp for the SIP
# test (apt-get install -y sip-tester; without it that test fails and says so).
# DIALTONE_SCREENSHOTS=1 also writes docs/screenshots/*.png.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

: "${DIALTONE_BIN:?set DIALTONE_BIN to a built dialtone binary, e.g. target/release/dialtone}"
DIALTONE_BIN="$(cd "$(dirname "$DIALTONE_BIN")" && pwd)/$(basename "$DIALTONE_BIN")"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "run.sh: no Chromium at $CHROMIUM (apt-get install -y chromium)" >&2; exit 2; }
if [ ! -d node_modules/playwright-core ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT="${DIALTONE_PORT:-$(free_port)}"
APORT="${ADAPTER_PORT:-$(free_port)}"
BASE="http://127.0.0.1:$PORT"
ABASE="http://127.0.0.1:$APORT"
WORK="$(mktemp -d /tmp/dialtone-browser.XXXXXX)"
DATA="$WORK/data"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "run.sh: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Two call centers whose adapter is the third-party page on the other origin:
# AcmeCti (initialises) and AcmeFailover (never does; its standby does).
callcenter() { # name adapterUrl standbyUrl timeout
  cat > "$WORK/$1.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">$1</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">$1 Call Center</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">$2</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">420</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">300</item>
    <item sortOrder="6" name="reqSalesforceCompatibilityMode" label="Salesforce Compatibility Mode">Lightning</item>
    <item sortOrder="7" name="reqTimeout" label="Adapter Timeout (ms)">$4</item>
    <item sortOrder="8" name="reqStandbyUrl" label="Standby URL">$3</item>
  </section>
  <section sortOrder="1" name="acmeSettings" label="Acme">
    <item sortOrder="0" name="acmeRegion" label="Region">eu-west</item>
  </section>
</callCenter>
XML
  "$DIALTONE_BIN" callcenter import "$WORK/$1.xml" --data "$DATA" >/dev/null
}
callcenter AcmeCti "$ABASE/index.html" "$ABASE/index.html?role=standby" 5000
callcenter AcmeFailover "$ABASE/index.html?noinit=1" "$ABASE/index.html?role=standby" 1500

secret() { node -e 'console.log(require("crypto").randomBytes(15).toString("base64url"))'; }
ACME_PW="$(secret)"; FO_PW="$(secret)"
echo "$ACME_PW" | "$DIALTONE_BIN" user add acme@dialtone.test --profile Agent --first-name Ada --last-name Acme --call-center AcmeCti --data "$DATA" >/dev/null
echo "$FO_PW" | "$DIALTONE_BIN" user add failover@dialtone.test --profile Agent --first-name Fay --last-name Over --call-center AcmeFailover --data "$DATA" >/dev/null

node adapter/serve.mjs "$APORT" "$BASE" > "$WORK/adapter.log" 2>&1 &
pids+=($!)
"$DIALTONE_BIN" serve --demo --data "$DATA" --http "127.0.0.1:$PORT" > "$WORK/serve.log" 2>&1 &
pids+=($!)

healthy() { # url
  for _ in $(seq 1 100); do curl -fsS "$1/health" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

# The SIP edge runs on a second server (the first has no SIP trunk, so its
# click-to-dial is the simulator's): the demo org, a SIP trunk from 127.0.0.1 to
# DialtoneDemo, and agent1's desk phone — a sipp UAS the SIP test starts on
# SIP_PHONE_PORT — as a static contact. The demo loads on a first start; the
# trunk and the contact are set while it is stopped.
SIP_BASE=""
if command -v sipp >/dev/null 2>&1; then
  SDATA="$WORK/sipdata"; SPORT="$(free_port)"; SIP_PORT="$(free_port)"; SIP_PHONE_PORT="$(free_port)"
  SIP_BASE="http://127.0.0.1:$SPORT"
  "$DIALTONE_BIN" serve --demo --data "$SDATA" --http "127.0.0.1:$SPORT" > "$WORK/sip-demo.log" 2>&1 &
  demo_pid=$!
  healthy "$SIP_BASE" || { echo "run.sh: the SIP server did not start:" >&2; cat "$WORK/sip-demo.log" >&2; exit 1; }
  kill "$demo_pid"; wait "$demo_pid" 2>/dev/null || true
  "$DIALTONE_BIN" trunk add carrier --provider sip --match-ip 127.0.0.1 --call-center DialtoneDemo --data "$SDATA" >/dev/null
  "$DIALTONE_BIN" agent contact agent1@dialtone.demo "sip:agent1@127.0.0.1:$SIP_PHONE_PORT" --data "$SDATA" >/dev/null
  "$DIALTONE_BIN" serve --data "$SDATA" --http "127.0.0.1:$SPORT" --sip "127.0.0.1:$SIP_PORT" > "$WORK/sip-serve.log" 2>&1 &
  pids+=($!)
  export SIP_ADDR="127.0.0.1:$SIP_PORT" SIP_PHONE_PORT
fi

healthy "$BASE" || { echo "run.sh: dialtone did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
for _ in $(seq 1 100); do curl -fsS "$ABASE/index.html" >/dev/null 2>&1 && break; sleep 0.2; done
if [ -n "$SIP_BASE" ]; then
  healthy "$SIP_BASE" || { echo "run.sh: the SIP server did not start:" >&2; cat "$WORK/sip-serve.log" >&2; exit 1; }
  spw() { awk -v u="$1" '$1 == u { print $NF }' "$WORK/sip-demo.log"; }
  SIP_USERS=$(node -e '
const [admin, a1] = process.argv.slice(1);
console.log(JSON.stringify({ admin: { username: "admin@dialtone.demo", password: admin }, agent1: { username: "agent1@dialtone.demo", password: a1 } }));
' -- "$(spw admin@dialtone.demo)" "$(spw agent1@dialtone.demo)")
  export SIP_URL="$SIP_BASE" SIP_USERS
fi
export SIP_SCENARIOS="$(cd "$here/../../crates/dialtone/tests/sip" && pwd)"

pw() { awk -v u="$1" '$1 == u { print $NF }' "$WORK/serve.log"; }
USERS=$(node -e '
const [admin, a1, a3, acme, fo] = process.argv.slice(1);
const u = (username, password) => ({ username, password });
console.log(JSON.stringify({
  admin: u("admin@dialtone.demo", admin), agent1: u("agent1@dialtone.demo", a1), agent3: u("agent3@dialtone.demo", a3),
  acme: u("acme@dialtone.test", acme), failover: u("failover@dialtone.test", fo) }));
' -- "$(pw admin@dialtone.demo)" "$(pw agent1@dialtone.demo)" "$(pw agent3@dialtone.demo)" "$ACME_PW" "$FO_PW")

export DIALTONE_URL="$BASE" ADAPTER_URL="$ABASE" DIALTONE_USERS="$USERS"
if [ "$#" -gt 0 ]; then files=("$@"); else files=(tests/*.test.mjs); fi
status=0
node --test --test-concurrency=1 "${files[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- dialtone serve log (tail) ---" >&2; tail -n 40 "$WORK/serve.log" >&2
  if [ -f "$WORK/sip-serve.log" ]; then echo "--- SIP server log (tail) ---" >&2; tail -n 40 "$WORK/sip-serve.log" >&2; fi
fi
exit "$status"
