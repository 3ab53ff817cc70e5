'use strict'
// Helpers shared by the interop scripts: argument parsing, profile loading,
// deterministic block contents, chain summaries.
//
// Load order matters: call loadStack(profile) before anything else requires
// hypercore or corestore (profile-bitspace.js must patch them first).

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')

const PROFILES = ['bitspace', 'hypercore']

// Tiny option parser: --flag, --key value (repeatable keys collect into arrays
// when listed in `multi`).
function parseArgs (argv, { multi = [], flags = [] } = {}) {
  const out = { _: [] }
  for (const m of multi) out[m] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) { out._.push(a); continue }
    let k = a.slice(2)
    let v
    const eq = k.indexOf('=')
    if (eq >= 0) { v = k.slice(eq + 1); k = k.slice(0, eq) } else if (flags.includes(k)) v = true
    else {
      if (i + 1 >= argv.length) die('missing value for --' + k)
      v = argv[++i]
    }
    if (multi.includes(k)) out[k].push(v)
    else out[k] = v
  }
  return out
}

function die (msg, code = 2) {
  process.stderr.write(path.basename(process.argv[1] || 'node') + ': ' + msg + '\n')
  process.exit(code)
}

// Requires the JS stack in `profile`. bitspace patches it first.
function loadStack (profile) {
  if (!PROFILES.includes(profile)) die('unknown profile ' + JSON.stringify(profile) + ' (bitspace|hypercore)')
  if (profile === 'bitspace') require('./profile-bitspace')
  return {
    Corestore: require('corestore'),
    hypercore: require('hypercore'),
    hcrypto: require('hypercore-crypto'),
    ram: require('random-access-memory'),
    raf: require('random-access-file')
  }
}

// Deterministic bytes: AES-128-CTR keystream keyed by (seed, chain tag, block index).
function blockBytes (seed, tag, index, size) {
  const key = crypto.createHash('sha256').update(`${seed}/${tag}/${index}`).digest()
  const c = crypto.createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32))
  return c.update(Buffer.alloc(size))
}

// Block size for a spec: "N" fixed or "A-B" uniformly random in [A, B] (seeded).
function blockSize (sizeSpec, seed, tag, index) {
  const s = String(sizeSpec)
  const dash = s.indexOf('-')
  if (dash < 0) return Number(s)
  const lo = Number(s.slice(0, dash))
  const hi = Number(s.slice(dash + 1))
  const h = crypto.createHash('sha256').update(`size/${seed}/${tag}/${index}`).digest()
  return lo + (h.readUInt32BE(0) % (hi - lo + 1))
}

function sha256hex (buf) {
  return crypto.createHash('sha256').update(buf).digest('hex')
}

function hex (buf) {
  return buf ? Buffer.from(buf).toString('hex') : null
}

// Promisified callback call.
function p (fn) {
  return new Promise((resolve, reject) => fn((err, val) => (err ? reject(err) : resolve(val))))
}

// Reads every block of `feed` (wait:false: a missing block is an error, not a
// hang), verifies the head signature and returns a summary.
async function summarizeFeed (feed, { withBlocks = true } = {}) {
  await p(cb => feed.ready(cb))
  const out = {
    key: hex(feed.key),
    discoveryKey: hex(feed.discoveryKey),
    writable: !!feed.writable,
    length: feed.length,
    byteLength: feed.byteLength,
    downloaded: feed.length ? feed.downloaded(0, feed.length) : 0
  }
  if (feed.length > 0) {
    try {
      const sig = await p(cb => feed.signature(feed.length - 1, cb))
      await p(cb => feed.verify(feed.length - 1, sig.signature, cb))
      out.headSignature = { index: sig.index, ok: true }
    } catch (err) {
      out.headSignature = { ok: false, error: err.message }
    }
  }
  if (withBlocks) {
    out.blocks = []
    out.sizes = []
    const all = crypto.createHash('sha256')
    for (let i = 0; i < feed.length; i++) {
      const b = await p(cb => feed.get(i, { wait: false, valueEncoding: 'binary' }, cb))
      out.blocks.push(sha256hex(b))
      out.sizes.push(b.length)
      all.update(b)
    }
    out.contentSha256 = all.digest('hex')
  }
  return out
}

// Chain directories of a store on disk: <dk[0:2]>/<dk[2:4]>/<dk>/key.
function listStoredChains (dir) {
  const found = []
  const isHex = (s, n) => s.length === n && /^[0-9a-f]+$/.test(s)
  for (const a of safeReaddir(dir)) {
    if (!isHex(a, 2)) continue
    for (const b of safeReaddir(path.join(dir, a))) {
      if (!isHex(b, 2)) continue
      for (const id of safeReaddir(path.join(dir, a, b))) {
        if (isHex(id, 64) && id.startsWith(a + b) && fs.existsSync(path.join(dir, a, b, id, 'key'))) found.push(id)
      }
    }
  }
  return found.sort()
}

function safeReaddir (d) {
  try { return fs.readdirSync(d) } catch (err) { return [] }
}

module.exports = {
  PROFILES, parseArgs, die, loadStack, blockBytes, blockSize, sha256hex, hex, p, summarizeFeed, listStoredChains
}
