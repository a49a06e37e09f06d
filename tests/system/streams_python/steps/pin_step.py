config = {"type": "api", "name": "Pin", "path": "/pin/:user/:id", "method": "POST", "emits": []}


async def handler(req, context):
    item = await context.streams.board.set(req["pathParams"]["user"], req["pathParams"]["id"], req["body"])
    return {"status": 200, "body": item}
