'use strict'
// A BitProtocol peer that completes the handshake, sends keep-alives and
// never answers an Open (neither Open nor Close): what a peer without the
// chain looks like when it ignores unknown discovery keys. Prints
// "listening on 127.0.0.1:PORT"; runs until killed.
//   node silent-peer.js [--timeout-ms 4000]   (it pings every half of it)
const net = require('net')
const path = require('path')
const { parseArgs } = require('./lib')

const args = parseArgs(process.argv.slice(2))
const modules = path.join(__dirname, 'node_modules')
const Protocol = require(path.join(modules, 'hypercore-protocol'))
const timeout = Number(args['timeout-ms'] || 4000)

const server = net.createServer(socket => {
  const p = new Protocol(false, { live: true, timeout, ondiscoverykey () {} })
  socket.on('error', () => {})
  p.on('error', err => console.error('silent-peer: ' + err.message))
  p.on('close', () => console.error('silent-peer: stream closed'))
  socket.pipe(p).pipe(socket)
})
server.listen(0, '127.0.0.1', () => {
  console.log('listening on 127.0.0.1:' + server.address().port)
})
