'use strict'
// The JS side of the C<->JS NAT runs (tests/nat/clone_nat_js.sh): a
// @corestore/networker 1.2.1 (hyperswarm 2.15, RAM corestore, bitspace
// profile) that shares a fresh chain or clones one by discovery key over the
// DHT only, as `chainstore share` / `chainstore clone --json` do.
//
//   node networker/nat-peer.js share --bootstrap host:port [--blocks N] [--block-size B]
//     -> {"event":"key","key":HEX} then {"event":"announced"} once the
//        announce has flushed, peer events; runs until SIGTERM
//   node networker/nat-peer.js clone KEY --bootstrap host:port
//     -> peer events, then {"event":"done","length":N,"seconds":S} and exits 0
//        (exit 1 after --timeout ms, default 20000)
// Peer events: {"event":"peer-add","remoteAddress":...,"type":"tcp"|"utp","ms":T}
// (T since the networker started, as the C CLI prints them).
require('../profile-bitspace')
const { parseArgs, die } = require('../lib')
const crypto = require('crypto')
const Corestore = require('corestore')
const RAM = require('random-access-memory')
const Networker = require('@corestore/networker')

const args = parseArgs(process.argv.slice(2))
const [mode, keyHex] = args._ || []
if (mode !== 'share' && mode !== 'clone') die('usage: nat-peer.js share|clone [KEY] --bootstrap host:port')
if (!args.bootstrap) die('--bootstrap is required (never a public node)')

process.stdout.on('error', () => {})
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const t0 = process.hrtime.bigint()
const ms = () => Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10

const store = new Corestore(RAM)
const networker = new Networker(store, { bootstrap: [args.bootstrap], ephemeral: true })
const peerEvent = (event) => (p) => out({ event, remoteAddress: p.remoteAddress, type: p.type, ms: ms() })
networker.on('peer-add', peerEvent('peer-add'))
networker.on('peer-remove', peerEvent('peer-remove'))

let closing = false
function close (code) {
  if (closing) return
  closing = true
  networker.close().then(() => process.exit(code), () => process.exit(1))
}
process.on('SIGTERM', () => close(0))
process.on('SIGINT', () => close(0))

const ready = (core) => new Promise((resolve) => core.ready(resolve))

async function share () {
  const core = store.get()
  await ready(core)
  const blocks = Number(args.blocks || 100)
  const size = Number(args['block-size'] || 4096)
  const data = []
  for (let i = 0; i < blocks; i++) data.push(crypto.randomBytes(size))
  await new Promise((resolve, reject) => core.append(data, (e) => e ? reject(e) : resolve()))
  out({ event: 'key', key: core.key.toString('hex') })
  await networker.configure(core.discoveryKey, { announce: true, lookup: true })
  out({ event: 'announced', ms: ms() })
}

async function clone () {
  if (!/^[0-9a-f]{64}$/.test(keyHex || '')) die('clone wants KEY (64 hex digits)')
  const core = store.get({ key: Buffer.from(keyHex, 'hex') })
  await ready(core)
  setTimeout(() => { out({ event: 'timeout', ms: ms() }); close(1) }, Number(args.timeout || 20000)).unref()
  networker.configure(core.discoveryKey, { announce: false, lookup: true }).catch(() => {})
  // the length the peer proves, then every block up to it
  core.update({ ifAvailable: false }, (err) => {
    if (err) return die(err.message, 1)
    core.download({ start: 0, end: core.length }, (err) => {
      if (err) return die(err.message, 1)
      out({ event: 'done', length: core.length, seconds: ms() / 1000 })
      close(0)
    })
  })
}

store.ready((err) => {
  if (err) die(err.message)
  networker.listen()
  ;(mode === 'share' ? share() : clone()).catch((e) => die(e.message, 1))
})
