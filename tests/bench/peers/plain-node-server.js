'use strict';
// The benchmark's baseline: the same handler as projects/js-hello on Node's own
// `http` module, one process, no framework. Usage: node plain-node-server.js PORT
const http = require('node:http');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node plain-node-server.js PORT');
  process.exit(2);
}

const handler = async () => ({ status: 200, body: { message: 'hello' } });

const server = http.createServer(async (req, res) => {
  if (req.method !== 'GET' || req.url !== '/hello') {
    res.writeHead(404).end();
    return;
  }
  const out = await handler();
  const body = JSON.stringify(out.body);
  res.writeHead(out.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});

server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
