'use strict'
// A corestore 5 + hypercore 9 peer for the C store replication tests
// (tests/netrepl/test_netrepl_js.c). One store in a directory, replicated
// (live) over TCP with corestore's replicate(): one stream per connection for
// every chain. Commands arrive as JSON lines on stdin, events leave as JSON
// lines on stdout.
//
// Usage: node peer.js '<json config>'
//   config: { profile: 'bitspace' | 'hypercore', dir, role: 'listen' | 'connect',
//             host, port, transport?: 'tcp' | 'utp' (utp-native),
//             prepare?: [command...] (run before the network starts;
//             the store is then closed and reopened, so those chains are only
//             on disk and served through corestore's exists-check) }
//
// Commands (each answered by one event, or an `error` event):
//   {cmd:'create', name, blocks, size, tag}       → created {name, key, length, sha256}
//   {cmd:'append', key, blocks, size, tag}        → appended {key, length, sha256}
//   {cmd:'create-later', name, key, blocks, size, tag}
//       the remote opened `key` already (and was refused): wait until the
//       stream forgot that channel, then create the chain → created
//   {cmd:'derive', name}                          → derived {name, key} (nothing opened)
//   {cmd:'open', key, sparse}                     → opened {key}
//   {cmd:'wait', key, length}                     → synced {key, length, sha256, downloads}
//   {cmd:'get', key, indexes}                     → got {key, count, downloads, downloaded}
//   {cmd:'stats', key}                            → stats {key, uploads, downloads}
//   {cmd:'ext', key, name}                        registers a chain extension → ext-ready;
//       its messages give ext-message {key, name, message}
//   {cmd:'ext-send', key, name, message}          → ext-sent {peers}
//   {cmd:'create-many', count, blocks, size, file} → created-many {count, sha256}
//       (keys written to `file`, one hex key per line)
//   {cmd:'open-many', file}                       → opened-many {count}
//   {cmd:'wait-many', file, length}               → synced-many {count, sha256}
//   {cmd:'connections'}                           → connections {count}
//   {cmd:'exit'}
// Block i of tag T is lib.blockBytes('netrepl', T, i, size). sha256 is over
// the chain's blocks in order (for many chains: over every chain in file order).
const path = require('path')
const fs = require('fs')
const net = require('net')
const readline = require('readline')
const crypto = require('crypto')
const lib = require('../lib')

const config = JSON.parse(process.argv[2])
const { Corestore, raf } = lib.loadStack(config.profile || 'bitspace')
const pump = require('pump')

function emit (event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n')
}

let store = null
const streams = new Set()
let connections = 0
const counters = new Map() // key hex → {uploads, downloads}
const exts = new Map()

function count (feed) {
  const k = feed.key.toString('hex')
  if (!counters.has(k)) {
    const c = { uploads: 0, downloads: 0 }
    counters.set(k, c)
    feed.on('upload', () => { c.uploads++ })
    feed.on('download', () => { c.downloads++ })
  }
  return counters.get(k)
}

function openStore () {
  // Room for every chain of the tests: passive chains (served through the
  // exists-check) are evicted past cacheSize, which closes their channels.
  store = new Corestore(name => raf(path.join(config.dir, name)), { cacheSize: 4096 })
  return lib.p(cb => store.ready(cb))
}

async function getFeed (opts) {
  const feed = store.get(opts)
  await lib.p(cb => feed.ready(cb))
  count(feed)
  return feed
}

async function contentSha (feed, length, hash) {
  const h = hash || crypto.createHash('sha256')
  for (let i = 0; i < length; i++) h.update(await lib.p(cb => feed.get(i, { valueEncoding: 'binary' }, cb)))
  return h
}

async function appendBlocks (feed, tag, from, n, size) {
  const batch = []
  for (let i = from; i < from + n; i++) batch.push(lib.blockBytes('netrepl', tag, i, size))
  for (let i = 0; i < batch.length; i += 64) await lib.p(cb => feed.append(batch.slice(i, i + 64), cb))
}

function waitFor (check, ms) {
  return new Promise((resolve, reject) => {
    const start = Date.now()
    const tick = () => {
      if (check()) return resolve()
      if (Date.now() - start > ms) return reject(new Error('timed out'))
      setTimeout(tick, 5)
    }
    tick()
  })
}

function synced (feed, length) {
  return feed.length >= length && (length === 0 || feed.downloaded(0, length) === length)
}

function streamHasChannel (dk) {
  for (const s of streams) if (s.channelizer && s.channelizer.getChannel(dk)) return true
  return false
}

const tags = new Map() // key → tag, size of chains created here

const commands = {
  async create (c) {
    const feed = await getFeed({ name: c.name })
    await appendBlocks(feed, c.tag, feed.length, c.blocks, c.size)
    tags.set(feed.key.toString('hex'), c)
    return ['created', { name: c.name, key: feed.key.toString('hex'), length: feed.length, sha256: (await contentSha(feed, feed.length)).digest('hex') }]
  },
  async append (c) {
    const feed = await getFeed({ key: Buffer.from(c.key, 'hex') })
    await appendBlocks(feed, c.tag, feed.length, c.blocks, c.size)
    return ['appended', { key: c.key, length: feed.length, sha256: (await contentSha(feed, feed.length)).digest('hex') }]
  },
  async 'create-later' (c) {
    const dk = lib.loadStack(config.profile || 'bitspace').hcrypto.discoveryKey(Buffer.from(c.key, 'hex'))
    await waitFor(() => !streamHasChannel(dk), 10000)
    return commands.create(c)
  },
  async derive (c) {
    return ['derived', { name: c.name, key: store.inner._generateKeyPair(c.name).publicKey.toString('hex') }]
  },
  async open (c) {
    await getFeed({ key: Buffer.from(c.key, 'hex'), sparse: !!c.sparse })
    return ['opened', { key: c.key }]
  },
  async wait (c) {
    const feed = await getFeed({ key: Buffer.from(c.key, 'hex') })
    await waitFor(() => synced(feed, c.length), 50000)
    return ['synced', { key: c.key, length: feed.length, downloads: count(feed).downloads, sha256: (await contentSha(feed, c.length)).digest('hex') }]
  },
  async get (c) {
    const feed = await getFeed({ key: Buffer.from(c.key, 'hex') })
    await Promise.all(c.indexes.map(i => lib.p(cb => feed.get(i, { valueEncoding: 'binary' }, cb))))
    return ['got', { key: c.key, count: c.indexes.length, downloads: count(feed).downloads, downloaded: feed.downloaded(0, feed.length) }]
  },
  async stats (c) {
    const k = counters.get(c.key) || { uploads: 0, downloads: 0 }
    return ['stats', { key: c.key, uploads: k.uploads, downloads: k.downloads }]
  },
  async ext (c) {
    const feed = await getFeed({ key: Buffer.from(c.key, 'hex') })
    const ext = feed.registerExtension(c.name, {
      encoding: 'binary',
      onmessage (message) { emit('ext-message', { key: c.key, name: c.name, message: message.toString() }) }
    })
    exts.set(c.key + '/' + c.name, { feed, ext })
    return ['ext-ready', { key: c.key, name: c.name }]
  },
  async 'ext-send' (c) {
    const { feed, ext } = exts.get(c.key + '/' + c.name)
    ext.broadcast(Buffer.from(c.message))
    return ['ext-sent', { peers: feed.peers.length }]
  },
  async 'create-many' (c) {
    const keys = []
    const h = crypto.createHash('sha256')
    for (let i = 0; i < c.count; i++) {
      const feed = await getFeed({ name: 'chain-' + i })
      await appendBlocks(feed, 'many/' + i, 0, c.blocks, c.size)
      keys.push(feed.key.toString('hex'))
      await contentSha(feed, c.blocks, h)
    }
    fs.writeFileSync(c.file, keys.join('\n') + '\n')
    return ['created-many', { count: keys.length, sha256: h.digest('hex') }]
  },
  async 'open-many' (c) {
    const keys = fs.readFileSync(c.file, 'utf8').split('\n').filter(Boolean)
    for (const k of keys) await getFeed({ key: Buffer.from(k, 'hex') })
    return ['opened-many', { count: keys.length }]
  },
  async 'wait-many' (c) {
    const keys = fs.readFileSync(c.file, 'utf8').split('\n').filter(Boolean)
    const h = crypto.createHash('sha256')
    for (const k of keys) {
      const feed = await getFeed({ key: Buffer.from(k, 'hex') })
      await waitFor(() => synced(feed, c.length), 50000)
      await contentSha(feed, c.length, h)
    }
    return ['synced-many', { count: keys.length, sha256: h.digest('hex') }]
  },
  async connections () {
    return ['connections', { count: connections, open: streams.size }]
  },
  async exit () {
    for (const s of streams) s.destroy()
    await lib.p(cb => store.close(cb))
    process.exit(0)
  }
}

async function run (c) {
  const fn = commands[c.cmd]
  if (!fn) throw new Error('unknown command ' + c.cmd)
  return fn(c)
}

function replicate (socket, initiator) {
  connections++
  const stream = store.replicate(initiator, { live: true })
  streams.add(stream)
  pump(socket, stream, socket, err => {
    streams.delete(stream)
    emit('disconnected', { error: err ? err.message : null })
  })
}

async function main () {
  await openStore()
  if (config.prepare && config.prepare.length) {
    for (const c of config.prepare) emit(...await run(c))
    await lib.p(cb => store.close(cb))
    await openStore()
  }
  if (config.transport === 'utp') {
    // utp-native: a connection is a duplex stream, as a TCP socket is.
    const sock = require('utp-native')()
    if (config.role === 'listen') {
      sock.on('connection', conn => replicate(conn, false))
      sock.listen(config.port || 0, config.host, () => emit('listening', { port: sock.address().port }))
    } else {
      const conn = sock.connect(config.port, config.host)
      conn.on('connect', () => emit('connected'))
      replicate(conn, true)
    }
  } else if (config.role === 'listen') {
    const server = net.createServer(socket => replicate(socket, false))
    server.listen(config.port || 0, config.host, () => emit('listening', { port: server.address().port }))
  } else {
    const socket = net.connect(config.port, config.host)
    socket.on('connect', () => emit('connected'))
    replicate(socket, true)
  }
  // Commands run one at a time, in order.
  let chain = Promise.resolve()
  readline.createInterface({ input: process.stdin }).on('line', line => {
    if (!line.trim()) return
    chain = chain.then(async () => {
      const c = JSON.parse(line)
      try {
        emit(...await run(c))
      } catch (err) {
        emit('error', { cmd: c.cmd, message: err.message })
      }
    })
  })
  process.stdin.on('end', () => process.exit(0))
}

main().catch(err => {
  emit('error', { message: err.message, stack: err.stack })
  process.exit(1)
})
