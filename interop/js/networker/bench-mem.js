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
// A socket reset by a peer can reach hyperswarm 2.15 without an error
// listener; the bench counts peers, it does not die of one.
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
  await Promise.all(dkeys.map((d) => networker.configure(d, { announce: true, lookup: false })))
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
