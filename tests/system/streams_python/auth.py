# The project's WebSocket authenticate hook, in Python: the token comes in
# the query string; `bad` is refused, anything else names the user.
from urllib.parse import parse_qs, urlparse


async def authenticate(req):
    token = parse_qs(urlparse(req["url"]).query).get("token", [""])[0]
    if not token or token == "bad":
        raise ValueError(f"unknown token {token!r}")
    return {"user": token, "agent": req["headers"].get("user-agent", "")}
