#!/usr/bin/python3
# The baseline of bench/users_pipeline.sh: the plain script a user would write instead of a
# tributary users job that copies a JSON-lines file of users into another. It reads lines as the
# jsonl source does (a destination line {"id","op","properties","written_at"} or the user itself),
# copies the same 16 properties, writes the jsonl destination's line shape, and writes and fsyncs
# per batch of 500 lines (batch.max_items' default), as the destination does.
#   /usr/bin/python3 bench/baseline_users.py IN.jsonl OUT.jsonl
import datetime, json, os, sys

PROPERTIES = ("id", "email", "first_name", "last_name", "phone", "company", "birth_date", "locale",
              "created_at", "updated_at", "plan", "lifetime_value", "is_active", "tags", "location",
              "custom")
BATCH = 500


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def flush(out, lines):
    out.write("".join(lines))
    out.flush()
    os.fsync(out.fileno())
    lines.clear()


def main(src, dst):
    copied = 0
    lines = []
    stamp = now()  # one written_at per batch, as the destination does
    with open(src, encoding="utf-8") as inp, open(dst, "w", encoding="utf-8") as out:
        for text in inp:
            record = json.loads(text)
            user = record["properties"] if "op" in record else record
            props = {name: user[name] for name in PROPERTIES if name in user}
            line = {"id": str(record["id"]), "op": "upsert", "properties": props, "written_at": stamp}
            lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            copied += 1
            if len(lines) == BATCH:
                flush(out, lines)
                stamp = now()
        if lines:
            flush(out, lines)
    print(f"baseline_users: records={copied}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
