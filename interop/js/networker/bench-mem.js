'use strict'
// The JS side of bench/networker/bench_networker_mem.c: one
// @corestore/networker 1.2.1 (bitspace profile, RAM corestore) with --chains
// one-block chains, each configured to announce. Prints
// {"dkeys":[first --peers discovery keys]}, then, once --peers peers are
// connected (or after 90 s), {"peers","rss","fds","fds0"} and exits.
require('../profile-bitspace')
const fs = require('fs')
const { parseArgs } = require('../lib')
const Corestore = require('corestore')
const RAM = require('random-access-memory')
const Networker = require('@corestore/networker')

const args = parseArgs(process.argv.slice(2))
const nChains = Number(args.chains || 1000)
const nPeers = Number(args.peers || 24)
// @corestore/networker 1.2.1 drops connections from 127.0.0.1 without a
// word (index.js _open: `return null`, the socket left without an error
// listener), so the C bench runs everyone on a veth address; a reset of
// such a socket would reach no listener. The listeners below (swarm
// sockets, networker errors) make it survive; this is the last resort.
process.on('uncaughtException', (err) => {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return
  console.error(err)
  process.exit(1)
})
const fdCount = () => fs.readdirSync('/proc/self/fd').length - 1
const fds0 = fdCount()

async function main () {
  const store = new Corestore(RAM)
  await store.ready()
  const networker = new Networker(store, { bootstrap: [args.bootstrap], ephemeral: true })
  const dkeys = []
  for (let i = 0; i < nChains; i++) {
    const core = store.get()
    await new Promise((resolve, reject) => core.append('x', (err) => (err ? reject(err) : resolve())))
    dkeys.push(core.discoveryKey)
  }
  networker.on('error', () => {})
  networker.on('replication-error', () => {})
  await Promise.all(dkeys.map((d) => networker.configure(d, { announce: true, lookup: false })))
  // The swarm exists once configure ran; the peers start after the dkeys
  // line below, so no connection comes before this listener.
  networker.swarm.on('connection', (socket) => socket.on('error', () => {}))
  let done = false
  const report = () => {
    if (done) return
    done = true
    process.stdout.write(JSON.stringify({ peers: networker.peers.size, rss: process.memoryUsage().rss, fds: fdCount(), fds0 }) + '\n')
    process.exit(0)
  }
  networker.on('peer-add', () => { if (networker.peers.size >= nPeers) report() })
  setTimeout(report, 90000)
  process.stdout.write(JSON.stringify({ dkeys: dkeys.slice(0, nPeers).map((d) => d.toString('hex')) }) + '\n')
}
main().catch((err) => { console.error(err); process.exit(1) })
