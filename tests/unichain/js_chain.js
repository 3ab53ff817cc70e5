'use strict'
// Builds a chain with the legacy hypercore 9.12 and dumps its files, for
// test_unichain_js to compare with the C writer/reader byte for byte.
//
// usage: node js_chain.js <modules dir> <out dir> <scenario> <args...>
//   appends N BATCH     N blocks "blk <i>", appended BATCH at a time (1 = single appends)
//   puts N K SEED       a writer with N blocks (one batch); a fresh reader (by key)
//                       receives K blocks in a seeded order through proof() + put()
// Files are written as <out dir>/<file> (writer: w_<file>, reader: r_<file>).
const path = require('path')
const fs = require('fs')
const { createRequire } = require('module')

const [modules, out, scenario, ...args] = process.argv.slice(2)
const req = createRequire(path.join(path.resolve(modules), 'package.json'))
const hypercore = req('hypercore')
const ram = req('random-access-memory')
const sodium = req('sodium-universal')

const seed = Buffer.alloc(32)
for (let i = 0; i < 32; i++) seed[i] = i
const publicKey = Buffer.alloc(32)
const secretKey = Buffer.alloc(64)
sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)

const p = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))))

function ramFeed (key, opts) {
  const files = {}
  const feed = hypercore((name) => { files[name] = ram(); return files[name] }, key, opts)
  return { feed, files }
}

function dump (prefix, files) {
  for (const name of Object.keys(files)) {
    fs.writeFileSync(path.join(out, prefix + name), files[name].toBuffer())
  }
}

function block (i) {
  return Buffer.from('blk ' + i)
}

// The same generator as the C side: 31-bit LCG.
function lcg (s) {
  let x = s >>> 0
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff
    return x
  }
}

async function appends (n, batch) {
  const w = ramFeed(publicKey, { secretKey })
  await p(cb => w.feed.ready(cb))
  for (let i = 0; i < n; i += batch) {
    const list = []
    for (let j = i; j < Math.min(n, i + batch); j++) list.push(block(j))
    await p(cb => w.feed.append(batch === 1 ? list[0] : list, cb))
  }
  dump('w_', w.files)
}

async function puts (n, k, s) {
  const w = ramFeed(publicKey, { secretKey })
  await p(cb => w.feed.ready(cb))
  const list = []
  for (let i = 0; i < n; i++) list.push(block(i))
  await p(cb => w.feed.append(list, cb))
  const r = ramFeed(publicKey, { sparse: true })
  await p(cb => r.feed.ready(cb))
  const next = lcg(s)
  for (let t = 0; t < k; t++) {
    const i = next() % n
    const proof = await p(cb => w.feed.proof(i, cb))
    const data = await p(cb => w.feed.get(i, cb))
    await p(cb => r.feed.put(i, data, proof, cb))
  }
  dump('w_', w.files)
  dump('r_', r.files)
}

async function main () {
  fs.mkdirSync(out, { recursive: true })
  if (scenario === 'appends') await appends(Number(args[0]), Number(args[1]))
  else if (scenario === 'puts') await puts(Number(args[0]), Number(args[1]), Number(args[2]))
  else throw new Error('unknown scenario ' + scenario)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
