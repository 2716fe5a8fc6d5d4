#!/usr/bin/python3
# The baseline of bench/klaviyo_export.sh: the plain script a user would write instead of a
# tributary users job that copies Klaviyo profiles into a JSON-lines file, with Debian's
# python3-requests and python3-tenacity. The same export as the bench's job: GET /api/profiles
# with the same sparse fieldset, page[size]=100 and sort=updated, links.next followed to the end,
# 429s retried after Retry-After and 5xx with exponential backoff (tenacity), each profile mapped
# to the same 8 properties and written in the jsonl destination's line shape, written and fsynced
# per page.
#   /usr/bin/python3 bench/baseline_klaviyo_export.py BASE_URL API_KEY OUT.jsonl
import datetime, json, os, sys

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

FIELDS = "email,first_name,last_name,phone_number,organization,created,updated,location"


class Retryable(Exception):
    pass


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wait_for(state):
    # Retry-After when Klaviyo sent one (429), else exponential backoff (5xx, network).
    exc = state.outcome.exception()
    after = getattr(exc, "retry_after", None)
    return float(after) if after else wait_exponential(multiplier=0.5, max=30)(state)


@retry(retry=retry_if_exception_type((Retryable, requests.ConnectionError, requests.Timeout)),
       wait=wait_for, stop=stop_after_attempt(8), reraise=True)
def get_page(session, url, params):
    r = session.get(url, params=params, timeout=30)
    if r.status_code == 429 or r.status_code >= 500:
        e = Retryable(f"status {r.status_code}")
        e.retry_after = r.headers.get("Retry-After")
        raise e
    r.raise_for_status()
    return r.json()


def to_line(profile, stamp):
    a = profile.get("attributes") or {}
    location = a.get("location") or {}
    properties = {
        "email": a.get("email"),
        "first_name": a.get("first_name"),
        "last_name": a.get("last_name"),
        "phone": a.get("phone_number"),
        "company": a.get("organization"),
        "created_at": a.get("created"),
        "updated_at": a.get("updated"),
        "location": {"city": location.get("city")},
    }
    return json.dumps({"id": profile["id"], "op": "upsert", "properties": properties, "written_at": stamp},
                      separators=(",", ":")) + "\n"


def main(base_url, key, dst):
    session = requests.Session()
    session.headers.update({"Authorization": "Klaviyo-API-Key " + key, "revision": "2026-07-15",
                            "Accept": "application/vnd.api+json"})
    url = base_url.rstrip("/") + "/api/profiles"
    params = {"fields[profile]": FIELDS, "page[size]": 100, "sort": "updated"}
    copied = 0
    with open(dst, "w") as out:
        while url:
            page = get_page(session, url, params)
            stamp = now()
            out.write("".join(to_line(p, stamp) for p in page["data"]))
            out.flush()
            os.fsync(out.fileno())
            copied += len(page["data"])
            url = (page.get("links") or {}).get("next")
            params = None  # the next link carries the whole query
    print(copied)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
