# GET /hello as a Python step, the same handler as ../js/steps/hello.step.js.
# Measured once motia-actors runs Python steps (issue 4); until then the
# benchmark skips it and prints the runtime's reason.
config = {
    "type": "api",
    "name": "hello",
    "description": "Benchmark: a trivial GET",
    "path": "/hello",
    "method": "GET",
    "emits": [],
}


async def handler(req, context):
    return {"status": 200, "body": {"message": "hello"}}
