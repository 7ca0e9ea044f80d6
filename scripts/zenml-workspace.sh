#!/usr/bin/env bash
# Print (or, with --run, launch) the command that runs an unmodified ZenML server in Pro
# mode as one zenpro workspace (spec §9). See docs/zenml.md.
#
#   scripts/zenml-workspace.sh [--run] [--rotate] [--port N] [--venv DIR] [--data DIR] WORKSPACE
#
# WORKSPACE is a workspace name or id. Environment:
#   ZENPRO_URL             zenpro's URL, byte-identical to the one users log in with
#                          (default http://127.0.0.1:8080)
#   ZENPRO_TOKEN           a Bearer token (session/API token or ZENPROKEY_ key) that may read
#                          the workspace (and update it, for --rotate)
#   ZENPRO_ENROLLMENT_KEY  the workspace's enrollment key (shown once when the workspace was
#                          created with ?enroll=true); or pass --rotate to issue a new one
#   ZENML_SERVER_JWT_SECRET_KEY  optional; otherwise one is generated and kept in DATA/jwt.key
set -euo pipefail

RUN=0 ROTATE=0 PORT=8237 VENV="${ZENML_VENV:-}" DATA="" WS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --run) RUN=1 ;;
    --rotate) ROTATE=1 ;;
    --port) PORT="$2"; shift ;;
    --venv) VENV="$2"; shift ;;
    --data) DATA="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) WS="$1" ;;
  esac
  shift
done
[ -n "$WS" ] || { echo "usage: $0 [--run] [--rotate] [--port N] [--venv DIR] WORKSPACE" >&2; exit 2; }

CP="${ZENPRO_URL:-http://127.0.0.1:8080}"
CP="${CP%/}"
: "${ZENPRO_TOKEN:?set ZENPRO_TOKEN to a token that may read the workspace}"
AUTH="Authorization: Bearer ${ZENPRO_TOKEN}"

api() { curl -fsS -H "$AUTH" "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }

WS_JSON="$(api "$CP/workspaces/$WS")"
WS_ID="$(field id <<<"$WS_JSON")"
WS_NAME="$(field name <<<"$WS_JSON")"
ORG_ID="$(field organization.id <<<"$WS_JSON")"
ORG_NAME="$(field organization.name <<<"$WS_JSON")"

KEY="${ZENPRO_ENROLLMENT_KEY:-}"
if [ "$ROTATE" = 1 ]; then
  KEY="$(api -X POST "$CP/workspaces/$WS_ID/enrollment_key" | field enrollment_key)"
  echo "# new enrollment key issued; the previous one no longer works" >&2
fi
[ -n "$KEY" ] || { echo "set ZENPRO_ENROLLMENT_KEY, or pass --rotate to issue a new key" >&2; exit 2; }

DATA="${DATA:-$PWD/zenml-$WS_NAME}"
mkdir -p "$DATA"
JWT="${ZENML_SERVER_JWT_SECRET_KEY:-}"
if [ -z "$JWT" ]; then
  [ -s "$DATA/jwt.key" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' > "$DATA/jwt.key")
  JWT="$(cat "$DATA/jwt.key")"
fi
UVICORN="${VENV:+$VENV/bin/}uvicorn"
SERVER_URL="http://127.0.0.1:$PORT"

ENV=(
  ZENML_SERVER=true
  "ZENML_CONFIG_PATH=$DATA/config"
  ZENML_ANALYTICS_OPT_IN=false
  ZENML_SERVER_DEPLOYMENT_TYPE=cloud
  "ZENML_SERVER_SERVER_URL=$SERVER_URL"
  "ZENML_SERVER_JWT_SECRET_KEY=$JWT"
  "ZENML_SERVER_PRO_API_URL=$CP"
  "ZENML_SERVER_PRO_DASHBOARD_URL=$CP/console"
  "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET=$KEY"
  ZENML_SERVER_PRO_OAUTH2_AUDIENCE=zenml-workspaces
  "ZENML_SERVER_PRO_ORGANIZATION_ID=$ORG_ID"
  "ZENML_SERVER_PRO_ORGANIZATION_NAME=$ORG_NAME"
  "ZENML_SERVER_PRO_WORKSPACE_ID=$WS_ID"
  "ZENML_SERVER_PRO_WORKSPACE_NAME=$WS_NAME"
)
CMD=("$UVICORN" zenml.zen_server.zen_server_api:app --host 127.0.0.1 --port "$PORT" --workers 1)

if [ "$RUN" = 1 ]; then
  exec env "${ENV[@]}" "${CMD[@]}"
fi
printf 'env \\\n'
for e in "${ENV[@]}"; do printf '  %q \\\n' "$e"; done
printf '  %s\n' "${CMD[*]}"
