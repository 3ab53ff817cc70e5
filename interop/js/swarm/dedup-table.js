'use strict'
// Runs hyperswarm 2.15.3's own deduplicate (lib/queue.js + lib/peer-info.js)
// over every combination of key order, transport types, dialling sides and
// call order, and prints what it decided as JSON: the table the C swarm
// core must reproduce (tests/swarm/test_swarm_dedup_js.c).
const { EventEmitter } = require('events')
const path = require('path')
const base = path.join(__dirname, '..', 'node_modules', 'hyperswarm', 'lib')
const peerQueue = require(path.join(base, 'queue.js'))
const peerInfo = require(path.join(base, 'peer-info.js'))

class FakeStream extends EventEmitter {
  constructor () {
    super()
    this.destroyed = false
    this.ended = false
  }

  end () { this.ended = true }
  destroy () { this.destroyed = true }
}

const keys = {
  lt: [Buffer.alloc(32, 1), Buffer.alloc(32, 2)],
  gt: [Buffer.alloc(32, 2), Buffer.alloc(32, 1)],
  eq: [Buffer.alloc(32, 3), Buffer.alloc(32, 3)]
}
const kinds = [
  { client: true, tcp: true },
  { client: true, tcp: false },
  { client: false, tcp: true },
  { client: false, tcp: false }
]

const rows = []
const topic = Buffer.alloc(32, 9)
let port = 1000
for (const order of Object.keys(keys)) {
  const [local, remote] = keys[order]
  for (const first of kinds) {
    for (const second of kinds) {
      const queue = peerQueue({})
      const make = (kind) => {
        const peer = kind.client ? { host: '10.0.0.2', port: port++, topic } : null
        if (peer) queue.add(peer)
        const info = peerInfo(peer, queue)
        const stream = new FakeStream()
        info.connected(stream, kind.tcp)
        return { info, stream }
      }
      const a = make(first)
      const b = make(second)
      const r1 = a.info.deduplicate(local, remote)
      const r2 = b.info.deduplicate(local, remote)
      const out = (x) => ({
        duplicate: x.info.duplicate,
        banned: x.info.banned,
        ended: x.stream.ended,
        destroyed: x.stream.destroyed
      })
      rows.push({ order, first, second, r1, r2, a: out(a), b: out(b) })
    }
  }
}
process.stdout.write(JSON.stringify(rows))
