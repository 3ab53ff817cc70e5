'use strict'
// A hypercore-protocol 8 peer for the C interop tests (tests/transport/
// test_bp_interop.c). One TCP connection, one scenario, events as JSON lines
// on stdout. Usage: node peer.js '<json config>'
//
// config: { role: 'listen' | 'connect', host, port, localAddress?,
//           scenario: 'basic' | 'js-sends-badcap' | 'expect-badcap' |
//                     'keepalive' | 'silent',
//           chainKey: hex, timeout: ms | false }
//
// The discovery keys must be the fork's ("unichain"): switch the stack to
// the bitspace profile before hypercore-protocol is loaded.
require('../profile-bitspace')

const net = require('net')
const pump = require('pump')
const Protocol = require('hypercore-protocol')

const config = JSON.parse(process.argv[2])
const chainKey = Buffer.from(config.chainKey, 'hex')

function emit (event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n')
}

function hex (b) {
  return b ? b.toString('hex') : null
}

function run (socket, initiator) {
  const stream = new Protocol(initiator, {
    live: true,
    timeout: config.timeout === undefined ? 20000 : config.timeout
  })

  if (config.scenario === 'js-sends-badcap') {
    // A wrong capability in every Open this side sends.
    stream.state.capability = function () { return Buffer.alloc(32, 0xee) }
  }

  const ext = stream.registerExtension('interop-ext', {
    encoding: 'binary',
    onmessage (message) {
      emit('extension', { message: message.toString() })
      if (!message.toString().startsWith('echo:')) {
        ext.send(Buffer.concat([Buffer.from('echo:'), message]))
      }
    }
  })

  const handlers = {
    onopen () { emit('channel-open') },
    onclose () { emit('channel-close') }
  }

  stream.on('handshake', () => {
    emit('handshake', { publicKey: hex(stream.publicKey), remotePublicKey: hex(stream.remotePublicKey) })
    if (config.scenario === 'basic') {
      stream.open(chainKey, handlers)
      ext.send(Buffer.from('hello from js'))
    }
  })

  if (config.scenario === 'expect-badcap') {
    // Opened first (queued until the handshake): the C Open that follows
    // carries a wrong capability and must be refused here.
    stream.open(chainKey, handlers)
  }

  stream.on('discovery-key', (dk) => {
    emit('discovery-key', { discoveryKey: hex(dk) })
    if (config.scenario === 'js-sends-badcap') stream.open(chainKey, handlers)
  })
  stream.on('duplex-channel', () => emit('duplex-channel'))
  stream.on('extensions', (names) => emit('extensions', { names }))
  stream.on('timeout', () => emit('timeout'))
  stream.on('error', (err) => emit('error', { message: err.message }))

  pump(socket, stream, socket, (err) => {
    emit('close', { error: err ? err.message : null })
    if (server) server.close()
    setImmediate(() => process.exit(0))
  })
}

let server = null
if (config.role === 'listen') {
  server = net.createServer((socket) => {
    server.close()
    run(socket, false)
  })
  server.listen(config.port || 0, config.host, () => {
    emit('listening', { port: server.address().port })
  })
} else {
  const socket = net.connect({ host: config.host, port: config.port, localAddress: config.localAddress })
  socket.on('connect', () => emit('connected'))
  run(socket, true)
}
