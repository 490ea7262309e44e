#!/bin/sh
# Creates the Meilisearch API key the app uses, so the app never holds the master key,
# and writes it to $MEILI_KEY_FILE as MEILI_KEY=<key>. Run by the meili-key service of
# docker-compose.yml in the Meilisearch image: busybox sh, wget and sed only.
#
# Idempotent: the key has a fixed uid and Meilisearch derives a key's value from its uid
# and the master key, so every run finds (or recreates) the same key. A key's actions and
# indexes cannot be changed: a different list needs a new MEILI_APP_KEY_UID (README).
set -eu

: "${MEILI_MASTER_KEY:?MEILI_MASTER_KEY is not set}"
MEILI_URL=${MEILI_URL:-http://meilisearch:7700}
MEILI_APP_KEY_UID=${MEILI_APP_KEY_UID:-d2088901-6606-40c5-a9f9-e0aa6744a43e}
MEILI_KEY_FILE=${MEILI_KEY_FILE:-/keys/meili.env}

# Only the app's index and its change-log position, and only the calls the app makes.
body='{"uid": "'"$MEILI_APP_KEY_UID"'",
 "name": "onething app",
 "description": "onething: search and indexing of policies (created by deploy/meili-key.sh)",
 "actions": ["search", "documents.add", "documents.get", "documents.delete",
  "indexes.create", "indexes.get", "settings.update", "settings.get",
  "tasks.get", "stats.get"],
 "indexes": ["policies", "policies_position"],
 "expiresAt": null}'

auth="Authorization: Bearer $MEILI_MASTER_KEY"

get_key() {
    wget -q -O - --header "$auth" "$MEILI_URL/keys/$MEILI_APP_KEY_UID"
}

create_key() {
    wget -q -O - --header "$auth" --header 'Content-Type: application/json' \
        --post-data "$body" "$MEILI_URL/keys"
}

# Look up first (wget gives no status code to tell 409 apart); create when missing; look
# up again if the create failed because another run created it meanwhile.
if json=$(get_key 2>/dev/null); then
    echo "meili-key: key $MEILI_APP_KEY_UID exists"
elif json=$(create_key); then
    echo "meili-key: key $MEILI_APP_KEY_UID created"
elif ! json=$(get_key); then
    echo "meili-key: cannot create or read key $MEILI_APP_KEY_UID at $MEILI_URL" >&2
    exit 1
fi

key=$(printf '%s\n' "$json" | sed -n 's/.*"key"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
case $key in
    '' | *[!0-9A-Za-z_-]*)
        echo "meili-key: no key value in the answer of $MEILI_URL" >&2
        exit 1
        ;;
esac

# Written whole then renamed, so the app never reads half a file; 0644 because the app
# runs as another user than this service.
tmp="$MEILI_KEY_FILE.tmp"
umask 022
printf 'MEILI_KEY=%s\n' "$key" >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$MEILI_KEY_FILE"
echo "meili-key: wrote $MEILI_KEY_FILE"
