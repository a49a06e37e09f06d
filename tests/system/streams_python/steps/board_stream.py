# Each user sees only the group named after them.
def can_access(subscription, auth_context):
    return bool(auth_context) and subscription["groupId"] == auth_context["user"]


config = {
    "name": "board",
    "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
    "baseConfig": {"storageType": "default"},
    "canAccess": can_access,
}
