'use strict'
// Runs hyperswarm 2.15.3's real swarm dial loop (swarm.js kDrain, lib/queue.js,
// lib/peer-info.js, lib/bulk-timer.js) on a simulated clock with a scripted
// network, and prints every external event and every decision (dial,
// forget) with its time, as JSON. tests/swarm/test_swarm_queue_js.c replays
// the external events into the C core and expects the same decisions at the
// same milliseconds. Math.random is 0, so equal priorities go in insertion
// order in both (the C test's random callback returns 0 too).
const path = require('path')
const hyperswarm = require(path.join(__dirname, '..', 'node_modules', 'hyperswarm'))

// ---- simulated clock ----
let now = 0
let seq = 0
const timers = []
let immediates = []
function addTimer (fn, delay, repeat) {
  const t = { fn, at: now + delay, repeat, seq: seq++, active: true, unref () { return this }, ref () { return this } }
  timers.push(t)
  return t
}
const clamp = (ms) => (ms >= 1 && ms <= 2147483647) ? Math.floor(ms) : 1
global.setTimeout = (fn, ms, ...args) => addTimer(() => fn(...args), clamp(ms), 0)
global.setInterval = (fn, ms, ...args) => addTimer(() => fn(...args), clamp(ms), clamp(ms))
global.clearTimeout = global.clearInterval = (t) => { if (t) t.active = false }
global.setImmediate = (fn, ...args) => { immediates.push(() => fn(...args)) }
function runImmediates () {
  while (immediates.length) {
    const list = immediates
    immediates = []
    for (const fn of list) fn()
  }
}
function nextTimer () {
  let next = null
  for (const x of timers) if (x.active && (!next || x.at < next.at || (x.at === next.at && x.seq < next.seq))) next = x
  return next
}
function runTimer (x) {
  now = x.at
  if (x.repeat) { x.at = now + x.repeat; x.seq = seq++ } else x.active = false
  x.fn()
  runImmediates()
}
Math.random = () => 0

// ---- the scripted network ----
// Seed 0: the hand-written scenario. Any other seed: a random one (peers,
// outcomes of each attempt, discovery times), the same for a given seed.
const seed = Number(process.argv[2] || 0)
const maxPeers = Number(process.argv[3] || 24)
const maxClientSockets = Number(process.argv[4] || 0) || Infinity
function mulberry32 (a) {
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
let peers, failAfter, adds, END
const flushes = []
if (seed === 0) {
  peers = [
    { host: '10.0.0.1', port: 1001, local: false, attempts: [] },
    { host: '10.0.0.2', port: 1002, local: true, attempts: [{ ok: true, after: 15, close: 2500 }, { ok: false, after: 30 }, { ok: true, after: 20, close: 4000 }] },
    { host: '10.0.0.3', port: 1003, local: false, to: true, attempts: [] },
    { host: '10.0.0.4', port: 1004, local: false, attempts: [{ ok: true, after: 10, close: 100 }] },
    { host: '10.0.0.5', port: 1005, local: false, attempts: [] }
  ]
  failAfter = [40, 50, 25, 60, 35]
  adds = [[0, 0], [3, 1], [7, 4], [11, 2], [5000, 3], [90011, 0]]
  END = 150000
} else {
  const rnd = mulberry32(seed)
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1))
  const n = int(3, 10)
  peers = []
  failAfter = []
  adds = []
  for (let i = 0; i < n; i++) {
    const attempts = []
    for (let k = 0; k < 6; k++) {
      attempts.push(rnd() < 0.35
        ? { ok: true, after: int(1, 200), close: int(1, 9000) }
        : { ok: false, after: int(1, 600) })
    }
    peers.push({ host: '10.0.1.' + (i + 1), port: 2000 + i, local: rnd() < 0.25, to: rnd() < 0.15, attempts })
    failAfter.push(int(1, 600))
    adds.push([int(0, 20000), i])
    if (rnd() < 0.5) adds.push([int(20000, 120000), i])
  }
  // swarm.flush at a few moments; not with a small maxPeers, where the JS
  // flush can hang and the C one ends (a documented fix).
  // Mostly right after a discovery, while its dial is in flight.
  if (maxPeers >= n) for (let k = 0; k < 4; k++) flushes.push(rnd() < 0.75 ? adds[int(0, adds.length - 1)][0] + int(0, 3) : int(0, 60000))
  END = 200000
}

const log = []
const external = [] // {at, fn}
let eseq = 0
function schedule (at, fn) { external.push({ at, fn, seq: eseq++ }) }

const swarm = hyperswarm({ maxPeers, maxClientSockets })
const tried = peers.map(() => 0)
swarm.connect = (peer, cb) => {
  const i = peers.findIndex((p) => p.host === peer.host)
  log.push({ t: now, kind: 'dial', peer: i })
  const a = peers[i].attempts[tried[i]++] || { ok: false, after: failAfter[i] }
  schedule(now + a.after, () => {
    if (!a.ok) {
      log.push({ t: now, kind: 'fail', peer: i })
      return cb(new Error('refused'))
    }
    log.push({ t: now, kind: 'ok', peer: i })
    const { EventEmitter } = require('events')
    const socket = new EventEmitter()
    cb(null, socket, true)
    schedule(now + a.close, () => {
      log.push({ t: now, kind: 'close', peer: i })
      socket.emit('close')
    })
  })
}
const queue = swarm[Object.getOwnPropertySymbols(swarm).find((s) => String(s) === 'Symbol(hyperswarm.queue)')]
const remove = queue.remove.bind(queue)
queue.remove = (peer) => {
  if (queue._infos && queue._infos.has(peer.host + ':' + peer.port)) {
    log.push({ t: now, kind: 'forget', peer: peers.findIndex((p) => p.host === peer.host) })
  }
  return remove(peer)
}
// No sockets, no DHT: bound at once, and no topic has a pass pending.
swarm.network.bind = (cb) => cb(null)
swarm.network.discovery = { flush: (cb) => cb() }
for (const at of flushes) {
  schedule(at, () => {
    log.push({ t: now, kind: 'flush', peer: -1 })
    swarm.flush(() => log.push({ t: now, kind: 'flushed', peer: -1 }))
  })
}
for (const [at, i] of adds) {
  schedule(at, () => {
    const p = peers[i]
    const peer = { host: p.host, port: p.port, local: p.local, referrer: null }
    if (p.to) peer.to = { host: p.host, port: 50000 }
    log.push({ t: now, kind: 'add', peer: i })
    queue.add(peer)
  })
}


// Timers due at the same millisecond as an external event run first (the C
// replay runs the core's deadlines up to an event's time before it).
for (;;) {
  external.sort((x, y) => x.at - y.at || x.seq - y.seq)
  const e = external[0]
  const target = e && e.at <= END ? e.at : END
  const x = nextTimer()
  if (x && x.at <= target) {
    runTimer(x)
    continue
  }
  if (!e || e.at > END) break
  external.shift()
  now = e.at
  e.fn()
  runImmediates()
}
now = END
process.stdout.write(JSON.stringify({
  peers: peers.map(({ host, port, local, to }) => ({ host, port, local, to: !!to })),
  maxPeers,
  maxClientSockets: maxClientSockets === Infinity ? 0 : maxClientSockets,
  end: END,
  log
}))
process.exit(0)
