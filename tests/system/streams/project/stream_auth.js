// The project's WebSocket authentication hook (motia-actors.json "streams.authenticate").
// The token comes from `?token=` or else the first offered Sec-WebSocket-Protocol.
// `bad` is refused (the upgrade gets a 401); `admin` may see the `secret` group.
exports.authenticate = async (req) => {
  const query = new URL(req.url, 'http://localhost').searchParams.get('token')
  const offered = (req.headers['sec-websocket-protocol'] || '').split(',')[0].trim()
  const token = query || offered || null
  if (token === 'bad') throw new Error('invalid token')
  return token === 'admin' ? { role: 'admin' } : { role: 'user', token }
}
