"""POST /py/:stream/:group/:id (Python): writes the body to the stream `todo`
(defined in TypeScript) or `presence` (defined in Python) and answers the
stored item, what get() reads back, and the group's size (get_group)."""

config = {
    "type": "api",
    "name": "py-write",
    "path": "/py/:stream/:group/:id",
    "method": "POST",
    "emits": [],
}


async def handler(req, context):
    params = req["pathParams"]
    if params["stream"] not in ("todo", "presence"):
        return {"status": 404, "body": {"error": "no such stream"}}
    stream = getattr(context.streams, params["stream"])
    item = await stream.set(params["group"], params["id"], {**req["body"], "by": "python"})
    again = await stream.get(params["group"], params["id"])
    group = await stream.get_group(params["group"])
    return {"status": 200, "body": {"item": item, "get": again, "groupSize": len(group)}}
