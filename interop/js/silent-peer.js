'use strict'
// A BitProtocol peer that completes the handshake, sends keep-alives and
// never answers an Open (neither Open nor Close), and never ends its side of
// the stream first: what a peer without the chain looks like when it ignores
// unknown discovery keys.
//   node silent-peer.js [--timeout-ms 4000]            listens; prints
//                                                      "listening on 127.0.0.1:PORT"
//   node silent-peer.js --connect HOST:PORT [...]      connects; prints "connected"
// It pings every half of --timeout-ms. Runs until killed.
const net = require('net')
const path = require('path')
const { parseArgs } = require('./lib')

const args = parseArgs(process.argv.slice(2))
const Protocol = require(path.join(__dirname, 'node_modules', 'hypercore-protocol'))
const timeout = Number(args['timeout-ms'] || 4000)

function silent (socket, initiator) {
  const p = new Protocol(initiator, { live: true, timeout, ondiscoverykey () {} })
  socket.on('error', () => {})
  p.on('error', err => console.error('silent-peer: ' + err.message))
  // The remote's end is not answered: only a kill ends this peer.
  socket.allowHalfOpen = true
  socket.pipe(p, { end: false }).pipe(socket)
  p.on('handshake', () => console.log('connected'))
}

if (args.connect) {
  const i = args.connect.lastIndexOf(':')
  const socket = net.connect({ host: args.connect.slice(0, i), port: Number(args.connect.slice(i + 1)), allowHalfOpen: true })
  silent(socket, true)
} else {
  const server = net.createServer({ allowHalfOpen: true }, socket => silent(socket, false))
  server.listen(0, '127.0.0.1', () => console.log('listening on 127.0.0.1:' + server.address().port))
}
