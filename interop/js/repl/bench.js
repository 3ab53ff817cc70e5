'use strict'
// corestore 5 + hypercore 9 replication measured the way bench/replicate
// measures the C code: one process per peer over TCP on 127.0.0.1, the
// receiver storing to disk. Results are JSON lines on stdout.
//   node bench.js prepare DIR MIB BLOCK   → {"key", "length", "byteLength"}
//   node bench.js seed DIR                → {"port"}; serves until SIGTERM
//   node bench.js clone DIR KEY PORT      → {"seconds", "bytes", "blocks"}
const path = require('path')
const net = require('net')
const lib = require('../lib')
const { Corestore, raf } = lib.loadStack('bitspace')
const pump = require('pump')

const [mode, dir, a, b] = process.argv.slice(2)
const out = o => process.stdout.write(JSON.stringify(o) + '\n')
const store = new Corestore(name => raf(path.join(dir, name)))

async function prepare (mib, block) {
  await lib.p(cb => store.ready(cb))
  const feed = store.get({ name: 'bench' })
  await lib.p(cb => feed.ready(cb))
  const n = Math.ceil(mib * 1024 * 1024 / block)
  const chunk = Buffer.alloc(block)
  for (let i = 0; i < n;) {
    const batch = []
    for (let k = 0; k < 256 && i < n; k++, i++) {
      chunk.writeUInt32BE(i, 0)
      batch.push(Buffer.from(chunk))
    }
    await lib.p(cb => feed.append(batch, cb))
  }
  out({ key: feed.key.toString('hex'), length: feed.length, byteLength: feed.byteLength })
  await lib.p(cb => store.close(cb))
}

async function seed () {
  await lib.p(cb => store.ready(cb))
  const server = net.createServer(socket => {
    socket.setNoDelay(true)
    pump(socket, store.replicate(false, { live: true }), socket, () => {})
  })
  server.listen(0, '127.0.0.1', () => out({ port: server.address().port }))
  process.on('SIGTERM', () => process.exit(0))
}

async function clone (key, port) {
  await lib.p(cb => store.ready(cb))
  const feed = store.get({ key: Buffer.from(key, 'hex') })
  await lib.p(cb => feed.ready(cb))
  const t0 = process.hrtime.bigint()
  const socket = net.connect(Number(port), '127.0.0.1')
  socket.setNoDelay(true)
  pump(socket, store.replicate(true, { live: true }), socket, () => {})
  await lib.p(cb => feed.update({ ifAvailable: false }, cb))
  const length = feed.length
  await lib.p(cb => feed.download({ start: 0, end: length }, cb))
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  out({ seconds, bytes: feed.byteLength, blocks: length })
  process.exit(0)
}

if (mode === 'prepare') prepare(Number(a), Number(b))
else if (mode === 'seed') seed()
else if (mode === 'clone') clone(a, b)
else lib.die('usage: bench.js prepare|seed|clone ...')
