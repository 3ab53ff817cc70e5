'use strict'
// One hyperswarm 2.15.3 for the C swarm interop test (tests/swarm/test_swarm_js.c),
// run as @corestore/networker 1.2.1 runs it: a hypercore-protocol stream on
// every connection, deduplicated by the two Noise static keys after the
// handshake. Reports JSON lines on stdout; exits on {cmd:"exit"} or stdin EOF.
//
//   node swarm/peer.js --profile bitspace --bootstrap host:port|none --topic hex
//                      [--announce] [--lookup]
//   -> {ev:"listening", port}
//   -> {ev:"conn", id, client, local:"a.b.c.d:p", remote:"a.b.c.d:p"}
//   -> {ev:"handshake", id, dup}
//   -> {ev:"close", id}
const readline = require('readline')
const { parseArgs, die } = require('../lib')

const args = parseArgs(process.argv.slice(2), { flags: ['announce', 'lookup'] })
const profile = args.profile || 'bitspace'
if (profile === 'bitspace') require('../profile-bitspace')
else if (profile !== 'hypercore') die('unknown profile ' + profile)

const hyperswarm = require('hyperswarm')
const Protocol = require('hypercore-protocol')
const pump = require('pump')

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const v4 = (a) => String(a).replace(/^::ffff:/, '')

const bootstrap = !args.bootstrap || args.bootstrap === 'none' ? [] : [args.bootstrap]
const swarm = hyperswarm({ bootstrap, ephemeral: true, queue: { multiplex: true } })
// one static key for every stream, as the networker's (dedup needs it)
const keyPair = Protocol.keyPair()
let nextId = 0

swarm.on('listening', () => out({ ev: 'listening', port: swarm.address().port }))
swarm.on('connection', (socket, info) => {
  const id = nextId++
  out({
    ev: 'conn',
    id,
    client: !!info.client,
    local: v4(socket.localAddress) + ':' + socket.localPort,
    remote: v4(socket.remoteAddress) + ':' + socket.remotePort
  })
  const stream = new Protocol(!!info.client, { live: true, keyPair })
  stream.on('handshake', () => {
    out({ ev: 'handshake', id, dup: info.deduplicate(stream.publicKey, stream.remotePublicKey) })
  })
  socket.on('close', () => out({ ev: 'close', id }))
  pump(socket, stream, socket, () => {})
})
swarm.on('error', (err) => die(err.message))

swarm.join(Buffer.from(args.topic, 'hex'), { announce: !!args.announce, lookup: !!args.lookup })

const rl = readline.createInterface({ input: process.stdin })
const exit = () => swarm.destroy(() => process.exit(0))
rl.on('line', (line) => { if (JSON.parse(line).cmd === 'exit') exit() })
rl.on('close', exit)
