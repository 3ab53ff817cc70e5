'use strict'
// One @corestore/networker 1.2.1 (RAM corestore) for the C networker's mixed
// tests (tests/networker/test_networker_js.c), driven by JSON lines on stdin,
// reporting JSON lines on stdout. Exits on {cmd:"exit"} or stdin EOF.
//
//   node networker/peer.js --profile bitspace|hypercore --bootstrap host:port
//        [--reject HEX]  (onauthenticate rejects that remote key)
//   -> {ev:"ready", publicKey}
//   <- {cmd:"create", data?}        -> {ev:"created", key, dkey}   (appends data)
//   <- {cmd:"append", key, data}    -> {ev:"appended", key, length}
//   <- {cmd:"get", key, index}      -> {ev:"block", key, index, data} once there
//   <- {cmd:"configure", dkey, announce?, lookup?} -> {ev:"configured", dkey}
//   <- {cmd:"ext", name, encoding, tag?, form?}  registers; -> {ev:"ext-message", name, tag, from, msg}
//        per message. tag (a number) tells apart extensions sharing a name; form "function"
//        uses registerExtension(name, fn) and reports -> {ev:"ext-built", tag, given, name}
//        with what fn was called with (its class, and its name then).
//   <- {cmd:"ext-send", name|tag, to, msg}  (to: remote public key hex; msg JSON-encoded for json)
//   <- {cmd:"close"}  networker.close() twice at once, then again -> {ev:"closed", peers}
//   <- {cmd:"peers"}  -> {ev:"peers", count}; every event before it was written before it
//   -> {ev:"peer-add"|"peer-remove", remotePublicKey, remoteAddress, type}
//   -> {ev:"auth", remotePublicKey}, {ev:"flushed", dkey}
const readline = require('readline')
const { parseArgs, die } = require('../lib')

const args = parseArgs(process.argv.slice(2))
const profile = args.profile || 'bitspace'
if (profile === 'bitspace') require('../profile-bitspace')
else if (profile !== 'hypercore') die('unknown profile ' + profile)

const Corestore = require('corestore')
const RAM = require('random-access-memory')
const Networker = require('@corestore/networker')

// The test may stop reading before we exit: a write then fails with EPIPE.
process.stdout.on('error', () => {})
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const hex = (b) => Buffer.from(b).toString('hex')
const bootstrap = !args.bootstrap || args.bootstrap === 'none' ? [] : [args.bootstrap]

const store = new Corestore(RAM)
const networker = new Networker(store, {
  bootstrap,
  ephemeral: true,
  onauthenticate (remotePublicKey, cb) {
    out({ ev: 'auth', remotePublicKey: hex(remotePublicKey) })
    if (args.reject && hex(remotePublicKey) === args.reject) return cb(new Error('rejected'))
    cb()
  }
})
const peerInfo = (p) => ({ remotePublicKey: hex(p.remotePublicKey), remoteAddress: p.remoteAddress, type: p.type })
networker.on('peer-add', (p) => out({ ev: 'peer-add', ...peerInfo(p) }))
networker.on('peer-remove', (p) => out({ ev: 'peer-remove', ...peerInfo(p) }))
networker.on('flushed', (dkey) => out({ ev: 'flushed', dkey: hex(dkey) }))

const exts = new Map()
const peerByKey = (k) => [...networker.peers].find((p) => hex(p.remotePublicKey) === k)

async function handle (m) {
  switch (m.cmd) {
    case 'create': {
      const core = store.get()
      await new Promise((resolve) => core.ready(resolve))
      if (m.data !== undefined) await new Promise((resolve, reject) => core.append(m.data, (e) => e ? reject(e) : resolve()))
      return out({ ev: 'created', key: hex(core.key), dkey: hex(core.discoveryKey) })
    }
    case 'append': {
      const core = store.get({ key: Buffer.from(m.key, 'hex') })
      await new Promise((resolve, reject) => core.append(m.data, (e) => e ? reject(e) : resolve()))
      return out({ ev: 'appended', key: m.key, length: core.length })
    }
    case 'get': {
      const core = store.get({ key: Buffer.from(m.key, 'hex') })
      await new Promise((resolve) => core.ready(resolve))
      core.get(m.index || 0, (err, data) => {
        if (err) return out({ ev: 'error', message: err.message })
        out({ ev: 'block', key: m.key, index: m.index || 0, data: data.toString() })
      })
      return
    }
    case 'configure':
      await networker.configure(Buffer.from(m.dkey, 'hex'), { announce: m.announce !== false, lookup: m.lookup !== false })
      return out({ ev: 'configured', dkey: m.dkey })
    case 'ext': {
      const key = m.tag !== undefined ? m.tag : m.name
      const handlers = {
        encoding: m.encoding || 'binary',
        onmessage (msg, from) {
          const text = Buffer.isBuffer(msg) ? msg.toString() : typeof msg === 'string' ? msg : JSON.stringify(msg)
          out({ ev: 'ext-message', name: m.name, tag: m.tag, from: hex(from.remotePublicKey), msg: text })
        },
        onerror (err) { out({ ev: 'ext-error', name: m.name, tag: m.tag, message: err.message }) }
      }
      let built = null
      const ext = m.form === 'function'
        ? networker.registerExtension(m.name, (given) => {
          built = given
          out({ ev: 'ext-built', tag: m.tag, given: given && given.constructor.name, name: given && given.name !== undefined ? given.name : null })
          return handlers
        })
        : networker.registerExtension(m.name, handlers)
      exts.set(key, { ext, encoding: m.encoding })
      return out({ ev: 'ext-registered', name: m.name, tag: m.tag, builtIsExt: built === ext })
    }
    case 'ext-send': {
      const { ext, encoding } = exts.get(m.tag !== undefined ? m.tag : m.name)
      const peer = peerByKey(m.to)
      if (!peer) return out({ ev: 'error', message: 'no peer ' + m.to })
      ext.send(encoding === 'json' ? JSON.parse(m.msg) : m.msg, peer)
      return out({ ev: 'ext-sent', name: m.name, tag: m.tag })
    }
    case 'close': {
      // spec scenario 7: a second close while the first runs, and one after
      await Promise.all([networker.close(), networker.close()])
      await networker.close()
      return out({ ev: 'closed', peers: networker.peers.size })
    }
    case 'peers':
      return out({ ev: 'peers', count: networker.peers.size })
    case 'exit':
      return exit()
    default:
      die('unknown command ' + m.cmd)
  }
}

let exiting = false
function exit () {
  if (exiting) return
  exiting = true
  networker.close().then(() => process.exit(0), () => process.exit(1))
}

store.ready((err) => {
  if (err) die(err.message)
  networker.listen()
  out({ ev: 'ready', publicKey: hex(networker.keyPair.publicKey) })
  // One command at a time, in order.
  let chain = Promise.resolve()
  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    const m = JSON.parse(line)
    chain = chain.then(() => handle(m)).catch((err) => out({ ev: 'error', message: err.message }))
  })
  rl.on('close', exit)
})
