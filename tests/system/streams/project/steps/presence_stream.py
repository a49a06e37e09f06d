"""A stream defined in Python (JSON Schema, sync canAccess): group `closed`
is open to admins only."""

config = {
    "name": "presence",
    "schema": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "online": {"type": "boolean"}},
        "required": ["id", "online"],
    },
    "baseConfig": {"storageType": "default"},
    "canAccess": lambda subscription, auth: subscription["groupId"] != "closed"
    or (auth or {}).get("role") == "admin",
}
