'use strict'
// Writes chains into a corestore 5 directory store (random-access-file) with
// the legacy JS stack, and prints what it wrote as JSON.
//
// usage: node store-write.js --dir DIR [--profile bitspace|hypercore]
//          [--master-key HEX64] [--seed S] --chain SPEC [--chain SPEC ...]
//
// SPEC = KIND[:ARG][,blocks=N][,size=N|A-B][,batch=B]
//   KIND  default          store.default()                (name "default")
//         name:NAME        store.get({ name: NAME })      (derived key pair)
//         namespace:NS     store.namespace(NS).default()  (derived, name NS)
//         random           store.get()                    (random 32-byte name)
//         keypair          store.get({ keyPair })         (explicit pair, secret_key file)
//         key:HEX64        store.get({ key })             (read-only, key file only; blocks=0)
//   blocks  number of blocks (default 10)
//   size    block size in bytes, fixed or a seeded random range (default 1024)
//   batch   blocks per append call: 1 = one signature per block (default 1)
// Block contents are deterministic: AES-CTR keystream of (seed, chain index, block index).
//
// Output: { profile, dir, masterKey, chains: [ { spec, kind, name, key,
//   discoveryKey, writable, length, byteLength, headSignature, blocks: [sha256 hex], sizes,
//   contentSha256 } ] }. Exit 1 on any error.

const fs = require('fs')
const path = require('path')
const lib = require('./lib')

const args = lib.parseArgs(process.argv.slice(2), { multi: ['chain'] })
if (!args.dir) lib.die('--dir is required')
if (!args.chain.length) lib.die('at least one --chain is required')
const profile = args.profile || 'bitspace'
const seed = args.seed || '1'
const stack = lib.loadStack(profile)

function parseSpec (spec) {
  const [head, ...rest] = spec.split(',')
  const colon = head.indexOf(':')
  const kind = colon < 0 ? head : head.slice(0, colon)
  const arg = colon < 0 ? null : head.slice(colon + 1)
  const o = { spec, kind, arg, blocks: 10, size: '1024', batch: 1 }
  for (const kv of rest) {
    const [k, v] = kv.split('=')
    if (k === 'blocks') o.blocks = Number(v)
    else if (k === 'size') o.size = v
    else if (k === 'batch') o.batch = Math.max(1, Number(v))
    else lib.die('unknown chain option ' + k + ' in ' + spec)
  }
  if (!['default', 'name', 'namespace', 'random', 'keypair', 'key'].includes(kind)) lib.die('unknown chain kind ' + kind)
  if ((kind === 'name' || kind === 'namespace' || kind === 'key') && !arg) lib.die(kind + ' needs an argument: ' + spec)
  if (kind === 'key' && o.blocks) o.blocks = 0
  return o
}

function openChain (store, c) {
  switch (c.kind) {
    case 'default': return { feed: store.default(), name: 'default' }
    case 'name': return { feed: store.get({ name: c.arg }), name: c.arg }
    case 'namespace': return { feed: store.namespace(c.arg).default(), name: c.arg }
    case 'random': return { feed: store.get(), name: null }
    case 'keypair': return { feed: store.get({ keyPair: stack.hcrypto.keyPair() }), name: null }
    case 'key': return { feed: store.get({ key: Buffer.from(c.arg, 'hex') }), name: null }
  }
}

async function main () {
  const specs = args.chain.map(parseSpec)
  fs.mkdirSync(args.dir, { recursive: true })
  if (args['master-key']) {
    const mk = Buffer.from(args['master-key'], 'hex')
    if (mk.length !== 32) lib.die('--master-key must be 64 hex characters')
    fs.writeFileSync(path.join(args.dir, 'master_key'), mk)
  }
  const store = new stack.Corestore(args.dir)
  await store.ready()
  const out = { profile, dir: args.dir, masterKey: null, chains: [] }
  out.masterKey = lib.hex(store.inner._masterKey)

  for (let ci = 0; ci < specs.length; ci++) {
    const c = specs[ci]
    const { feed, name } = openChain(store, c)
    await lib.p(cb => feed.ready(cb))
    const written = []
    let next = feed.length
    while (written.length < c.blocks) {
      const n = Math.min(c.batch, c.blocks - written.length)
      const batch = []
      for (let j = 0; j < n; j++, next++) {
        batch.push(lib.blockBytes(seed, ci, next, lib.blockSize(c.size, seed, ci, next)))
      }
      await lib.p(cb => feed.append(c.batch === 1 ? batch[0] : batch, cb))
      for (const b of batch) written.push(lib.sha256hex(b))
    }
    const summary = await lib.summarizeFeed(feed)
    const tail = summary.blocks.slice(summary.blocks.length - written.length)
    if (tail.join() !== written.join()) throw new Error('read-back mismatch in chain ' + c.spec)
    out.chains.push({
      spec: c.spec,
      kind: c.kind,
      name: name === null && feed.key ? readNameFile(args.dir, summary.discoveryKey) : name,
      ...summary
    })
  }
  await lib.p(cb => store.close(cb))
  process.stdout.write(JSON.stringify(out, null, 1) + '\n')
}

// Random-name chains keep their name (varint(len) || name) in the `name` file.
function readNameFile (dir, dk) {
  try {
    const buf = fs.readFileSync(path.join(dir, dk.slice(0, 2), dk.slice(2, 4), dk, 'name'))
    return { hex: buf.subarray(1).toString('hex') }
  } catch (err) {
    return null
  }
}

main().catch(err => {
  process.stderr.write('store-write.js: ' + (err.stack || err) + '\n')
  process.exit(1)
})
