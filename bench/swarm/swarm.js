'use strict'
// The JS half of bench_swarm: hyperswarm 2.15.3 (bitspace profile, DHT and
// multicast DNS as it always runs) in one node process, on the bench's
// local DHT bootstrap node. Prints one JSON line.
//
//   node swarm.js --modules DIR --bootstrap host:port join --peers 10
//     10 swarms announce a topic (each join's callback seen), then one more
//     joins it to look up: {first_ms, all_ms} from that join to its first
//     and its 10th connection.
//   node swarm.js --modules DIR --bootstrap host:port rss --swarms 25
//     25 swarms announce and look up one topic, maxPeers 24, a
//     hypercore-protocol stream deduplicated by the Noise keys on every
//     connection (as the networker runs it), until each holds 24:
//     {rss_kib_per_swarm, conns_mean, waited_ms}.
const path = require('path')
const args = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith('--')) args[argv[i].slice(2)] = argv[++i]
  else args._ = argv[i]
}
const modules = path.resolve(args.modules || path.join(__dirname, '../../interop/js'))
require(path.join(modules, 'profile-bitspace'))
const req = (m) => require(path.join(modules, 'node_modules', m))
const hyperswarm = req('hyperswarm')
const Protocol = req('hypercore-protocol')
const pump = req('pump')
const crypto = require('crypto')

const bootstrap = [args.bootstrap]
const topic = crypto.randomBytes(32)
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\n'); process.exit(0) }
const fail = (m) => { process.stdout.write(JSON.stringify({ error: m }) + '\n'); process.exit(1) }
setTimeout(() => fail('timed out'), 120000).unref()

function join () {
  const n = Number(args.peers || 10)
  let announced = 0
  for (let i = 0; i < n; i++) {
    const s = hyperswarm({ bootstrap, ephemeral: true })
    s.on('connection', (socket) => socket.on('error', () => {}))
    s.join(topic, { announce: true, lookup: false }, () => { if (++announced === n) go() })
  }
  function go () {
    const j = hyperswarm({ bootstrap, ephemeral: true })
    let conns = 0
    let first = 0
    const start = process.hrtime.bigint()
    j.on('connection', (socket) => {
      socket.on('error', () => {})
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      if (++conns === 1) first = ms
      if (conns === n) out({ first_ms: first, all_ms: ms })
    })
    j.join(topic, { announce: false, lookup: true })
  }
}

function rss () {
  const n = Number(args.swarms || 25)
  const maxPeers = n - 1
  if (global.gc) global.gc()
  const rss0 = process.memoryUsage().rss
  const swarms = []
  const keyPair = Protocol.keyPair
  const start = Date.now()
  for (let i = 0; i < n; i++) {
    const s = hyperswarm({ bootstrap, ephemeral: true, maxPeers })
    const kp = keyPair()
    s.on('connection', (socket, info) => {
      const stream = new Protocol(!!info.client, { live: true, keyPair: kp })
      stream.on('handshake', () => info.deduplicate(stream.publicKey, stream.remotePublicKey))
      stream.on('error', () => {})
      socket.on('error', () => {})
      pump(socket, stream, socket, () => {})
    })
    s.join(topic, { announce: true, lookup: true })
    swarms.push(s)
  }
  const poll = setInterval(() => {
    const conns = swarms.map((s) => s.connections.size)
    if (conns.every((c) => c >= maxPeers) || Date.now() - start > 90000) {
      clearInterval(poll)
      setTimeout(() => {
        const mean = swarms.reduce((a, s) => a + s.connections.size, 0) / n
        out({ rss_kib_per_swarm: (process.memoryUsage().rss - rss0) / 1024 / n, conns_mean: mean,
          waited_ms: Date.now() - start })
      }, 1000)
    }
  }, 200)
}

if (args._ === 'join') join()
else if (args._ === 'rss') rss()
else fail('usage: swarm.js --bootstrap host:port join|rss')
