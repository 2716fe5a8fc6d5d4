#!/usr/bin/python3
# The baseline of bench/hubspot_export.sh: the plain script a user would write instead of a
# tributary users job that copies HubSpot contacts into a JSON-lines file, with Debian's
# python3-requests and python3-tenacity. The same export as the bench's job: GET
# /crm/v3/objects/contacts with the same properties and limit=100, paging.next.after followed to
# the end, 429s retried after Retry-After and 5xx with exponential backoff (tenacity), each contact
# mapped to the same 5 properties (HubSpot's string datetimes turned into the jsonl destination's
# microsecond form) and written in the jsonl destination's line shape, written and fsynced per page.
#   /usr/bin/python3 bench/baseline_hubspot_export.py BASE_URL TOKEN OUT.jsonl
import datetime, json, os, sys

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

PROPERTIES = "email,firstname,lastname,createdate,lastmodifieddate"


class Retryable(Exception):
    pass


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wait_for(state):
    # Retry-After when HubSpot sent one (429, 477), else exponential backoff (5xx, network).
    exc = state.outcome.exception()
    after = getattr(exc, "retry_after", None)
    return float(after) if after else wait_exponential(multiplier=0.5, max=30)(state)


@retry(retry=retry_if_exception_type((Retryable, requests.ConnectionError, requests.Timeout)),
       wait=wait_for, stop=stop_after_attempt(8), reraise=True)
def get_page(session, url, params):
    r = session.get(url, params=params, timeout=30)
    if r.status_code in (429, 477) or r.status_code >= 500:
        e = Retryable(f"status {r.status_code}")
        e.retry_after = r.headers.get("Retry-After")
        raise e
    r.raise_for_status()
    return r.json()


def datetime_of(text):
    # ISO 8601 (as the list endpoint answers) or epoch milliseconds, as tributary reads them.
    if not text:
        return None
    if text.isdigit():
        t = datetime.datetime.fromtimestamp(int(text) / 1000, datetime.timezone.utc)
    else:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_line(contact, stamp):
    p = contact.get("properties") or {}
    properties = {
        "email": p.get("email") or None,
        "first_name": p.get("firstname") or None,
        "last_name": p.get("lastname") or None,
        "created_at": datetime_of(p.get("createdate")),
        "updated_at": datetime_of(p.get("lastmodifieddate")),
    }
    return json.dumps({"id": contact["id"], "op": "upsert", "properties": properties, "written_at": stamp},
                      separators=(",", ":")) + "\n"


def main(base_url, token, dst):
    session = requests.Session()
    session.headers.update({"Authorization": "Bearer " + token, "Accept": "application/json"})
    url = base_url.rstrip("/") + "/crm/v3/objects/contacts"
    params = {"limit": 100, "properties": PROPERTIES}
    copied = 0
    with open(dst, "w") as out:
        while True:
            page = get_page(session, url, params)
            stamp = now()
            results = page.get("results") or []
            out.write("".join(to_line(c, stamp) for c in results))
            out.flush()
            os.fsync(out.fileno())
            copied += len(results)
            after = (((page.get("paging") or {}).get("next")) or {}).get("after")
            if not after:
                break
            params = {"limit": 100, "properties": PROPERTIES, "after": after}
    print(copied)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
