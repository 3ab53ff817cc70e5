'use strict'
// The JS side of bench/networker/bench_networker_time.c: one
// @corestore/networker 1.2.1 peer (bitspace profile, RAM corestore).
//
//   writer: appends --blocks blocks of --size bytes to a fresh chain,
//     configures its discovery key (announce + lookup), prints
//     {"key","writer"} (chain and networker keys) once configured, then
//     seeds until stdin ends.
//   reader --key HEX --writer HEX: listens (bound, DHT bootstrapped),
//     opens the chain, prints {"ready":true}, waits
//     for stdin to end (the bench's "go", given to every reader at once),
//     configures the discovery key (announce + lookup) and prints
//     {"ok","first","all","peer","conn","add","wadd","cfg","cpu"}: ms from the configure
//     call to the first verified block, to the whole chain, to the swarm's
//     first peer (lookup reply), first connection, first peer-add, the writer's
//     peer-add (wadd), the configure promise (cfg), and its CPU time to the
//     whole chain (cpu); then it seeds on until the bench ends it.
require('../profile-bitspace')
const crypto = require('crypto')
const { parseArgs, die } = require('../lib')
const Corestore = require('corestore')
const RAM = require('random-access-memory')
const Networker = require('@corestore/networker')

const args = parseArgs(process.argv.slice(2))
const mode = args._[0]
const nBlocks = Number(args.blocks || 1000)
const size = Number(args.size || 4096)
const deadlineMs = Number(args.deadline || 120000)
process.on('uncaughtException', (err) => {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return
  console.error(err)
  process.exit(1)
})
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))))

async function writer (store, networker) {
  const core = store.get()
  await p((cb) => core.ready(cb))
  const batch = []
  for (let i = 0; i < nBlocks; i++) batch.push(crypto.randomBytes(size))
  for (let i = 0; i < nBlocks; i += 64) await p((cb) => core.append(batch.slice(i, i + 64), cb))
  await networker.configure(core.discoveryKey, { announce: true, lookup: true })
  out({ key: core.key.toString('hex'), writer: networker.keyPair.publicKey.toString('hex') })
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

async function reader (store, networker) {
  const core = store.get({ key: Buffer.from(args.key, 'hex') })
  await p((cb) => core.ready(cb))
  // Ready as the C readers are: bound, the DHT node bootstrapped
  // (networker.listen() alone only makes the swarm; a join would bind it).
  networker.listen()
  await p((cb) => networker.swarm.listen(0, cb))
  await new Promise((resolve) => networker.swarm.network.discovery.dht.ready(resolve))
  const t = {}
  let t0 = 0n
  let cpu0 = null
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6
  const mark = (k) => { if (t0 && t[k] === undefined) t[k] = ms() }
  networker.swarm.on('peer', () => mark('peer'))
  networker.swarm.on('connection', () => mark('conn'))
  networker.on('peer-add', (peer) => {
    mark('add')
    if (peer.remotePublicKey.toString('hex') === args.writer) mark('wadd')
  })
  let done = false
  const finish = (ok) => {
    if (done) return
    done = true
    out({ ok, ...t })
    // and it seeds on, as a C reader does, until the bench ends it
  }
  core.on('download', () => {
    mark('first')
    if (core.length === nBlocks && core.downloaded(0, nBlocks) === nBlocks) {
      mark('all')
      const c = process.cpuUsage(cpu0)
      t.cpu = (c.user + c.system) / 1000
      finish(true)
    }
  })
  out({ ready: true })
  process.stdin.resume()
  process.stdin.on('end', () => {
    cpu0 = process.cpuUsage()
    t0 = process.hrtime.bigint()
    setTimeout(() => finish(false), deadlineMs)
    networker.configure(core.discoveryKey, { announce: true, lookup: true })
      .then(() => mark('cfg'), (err) => die(err.message))
  })
}

const store = new Corestore(RAM)
store.ready((err) => {
  if (err) die(err.message)
  const networker = new Networker(store, { bootstrap: [args.bootstrap], ephemeral: true })
  const run = mode === 'writer' ? writer : mode === 'reader' ? reader : null
  if (!run) die('usage: bench-time.js writer|reader --bootstrap host:port [--key HEX] [--blocks N] [--size B]')
  run(store, networker).catch((err) => die(err.message))
})
