"""The Python floor: GET /hello on plain asyncio streams, one process, no framework.

The same handler as projects/py/steps/hello_step.py. HTTP/1.1 keep-alive, only
what a benchmark client sends (no chunked bodies). Usage: python3 plain-python-server.py PORT
"""

import asyncio
import json
import signal
import sys

HEADER_LIMIT = 16384


async def handler(req):
    return {"status": 200, "body": {"message": "hello"}}


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            if method == "GET" and target == "/hello":
                out = await handler({"method": method, "path": target})
                status, body = out["status"], json.dumps(out["body"]).encode()
            else:
                status, body = 404, b""
            writer.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                         b"content-length: %d\r\n\r\n%s"
                         % (status, b"OK" if status == 200 else b"Not Found", len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, limit=HEADER_LIMIT)
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python3 plain-python-server.py PORT")
    asyncio.run(main(int(sys.argv[1])))
