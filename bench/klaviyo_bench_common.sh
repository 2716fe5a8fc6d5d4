# Sourced by bench/klaviyo_export*.sh: a scratch dir removed on exit, mock Klaviyo as a process
# (start_mock ARGS…: sets base_url, stops the mock on exit), and the export job's config
# (export_yaml LIMITS_YAML: a Klaviyo → jsonl users job; LIMITS_YAML goes under the Klaviyo
# connection, empty for the spec's limits). Needs $mock and $bin set.
key=pk_$(printf 'b%.0s' $(seq 1 34))bench
dir=$(mktemp -d)
mock_pid=
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

start_mock() {
    "$mock" --key "$key" "$@" >"$dir/mock.out" 2>"$dir/mock.err" &
    mock_pid=$!
    for _ in $(seq 1 600); do
        grep -q '^listening ' "$dir/mock.out" 2>/dev/null && break
        sleep 0.1
    done
    base_url=$(sed -n 's/^listening //p' "$dir/mock.out")
    [ -n "$base_url" ] || { echo "the mock did not start" >&2; cat "$dir/mock.err" >&2; exit 1; }
}

export_yaml() {
    cat >"$dir/export.yaml" <<YAML
state:
  dir: $dir/state
  sync: normal
log:
  format: json
  level: warn
connections:
  klaviyo:
    connector: klaviyo
    settings:
      api_key: \${env:KLAVIYO_API_KEY}
    base_url: $base_url
$1
  out:
    connector: jsonl
    settings:
      path: $dir/users.jsonl
jobs:
  export:
    type: users
    source: { connection: klaviyo }
    destination: { connection: out, mode: upsert }
    lookback: 0s
    mapping:
      email: email
      first_name: first_name
      last_name: last_name
      phone: phone_number
      company: organization
      created_at: created
      updated_at: updated
      location.city: location.city
YAML
}
