'use strict'
// Comparisons for the interop tests (tests/interop/*.sh). Prints one line per
// check ("ok ..." / "FAIL ...") and exits 1 if any failed, 2 on bad usage.
//
//   node check.js read --read READ.json --chain KEY=GEN.json[+GEN.json...] [--chain ...]
//       [--exact]
//     READ.json from store-read.js; each --chain names a chain the C side wrote:
//     its public key and the gen-blocks.js outputs appended to it, in order.
//     Every entry of READ for that key must have opened, be writable (the JS
//     re-derived the key pair from the stored name), have the same length and
//     the same block hashes, and a head signature that verifies.
//     --exact: READ must hold no other chain.
//
//   node check.js info --written W.json --info INFO.json --profile P
//     W.json from store-write.js, INFO.json from `chainstore info --json`:
//     same profile, the same set of chains, and per chain the same key,
//     discovery key, length, byteLength and writability.
//
//   node check.js blocks --written W.json --key KEY --file CAT.bin [--start S] [--end E]
//     CAT.bin = `chainstore cat DIR KEY [--start S] [--end E]`: cut by the block
//     sizes the JS wrote, each piece must hash to the JS block hash.
//
//   node check.js same --written W.json --read READ.json
//     after the C side opened a JS store, the JS still reads every chain as written.
//
//   node check.js mismatch --read READ.json --key KEY [--key ...]
//     READ.json from store-read.js --allow-errors in the OTHER profile: none of
//     these name-derived chains may open writable (the derivation namespace or
//     the discovery key differs, so the JS must not find the same key pair).

const fs = require('fs')
const crypto = require('crypto')
const lib = require('./lib')

const [cmd, ...rest] = process.argv.slice(2)
const args = lib.parseArgs(rest, { multi: ['chain', 'key'], flags: ['exact'] })
let failures = 0

function check (ok, what) {
  if (!ok) failures++
  console.log((ok ? 'ok   ' : 'FAIL ') + what)
  return ok
}

function readJson (file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    lib.die('cannot read JSON ' + file + ': ' + err.message, 1)
  }
}

const short = (hex) => (hex || '').slice(0, 16)

function cmdRead () {
  if (!args.read || !args.chain.length) lib.die('read needs --read and --chain')
  const read = readJson(args.read)
  const wanted = new Set()
  for (const spec of args.chain) {
    const eq = spec.indexOf('=')
    const key = spec.slice(0, eq)
    wanted.add(key)
    const gens = spec.slice(eq + 1).split('+').filter(Boolean).map(readJson)
    const blocks = gens.flatMap(g => g.blocks)
    const bytes = gens.flatMap(g => g.sizes).reduce((a, b) => a + b, 0)
    const entries = read.chains.filter(c => c.key === key)
    check(entries.length > 0, `chain ${short(key)} found by the JS (${entries.length} selection(s))`)
    for (const c of entries) {
      const sel = JSON.stringify(c.select)
      if (!check(c.ok, `chain ${short(key)} ${sel} opens in JS${c.ok ? '' : ': ' + c.error}`)) continue
      check(c.writable === true, `chain ${short(key)} ${sel} writable in JS (key pair re-derived from its name)`)
      check(c.length === blocks.length, `chain ${short(key)} ${sel} length ${c.length} = ${blocks.length}`)
      check(c.byteLength === bytes, `chain ${short(key)} ${sel} byteLength ${c.byteLength} = ${bytes}`)
      if (blocks.length) {
        check(c.headSignature && c.headSignature.ok && c.headSignature.index === blocks.length - 1,
          `chain ${short(key)} ${sel} head signature verifies in JS`)
      }
      let firstBad = -1
      for (let i = 0; i < blocks.length; i++) {
        if (c.blocks[i] !== blocks[i]) { firstBad = i; break }
      }
      check(firstBad < 0, `chain ${short(key)} ${sel} ${blocks.length} blocks equal` +
        (firstBad < 0 ? '' : ` (first difference at block ${firstBad})`))
    }
  }
  if (args.exact) {
    const extra = [...new Set(read.chains.map(c => c.key))].filter(k => !wanted.has(k))
    check(extra.length === 0, `no other chain in the store${extra.length ? ': ' + extra.map(short).join(' ') : ''}`)
  }
}

function cmdInfo () {
  if (!args.written || !args.info || !args.profile) lib.die('info needs --written, --info, --profile')
  const w = readJson(args.written)
  const info = readJson(args.info)
  check(info.profile === args.profile, `C info profile ${info.profile} = ${args.profile}`)
  const byKey = new Map()
  for (const c of info.chains) {
    check(!c.error, `C opens chain ${short(c.discoveryKey)}${c.error ? ': ' + c.error : ''}`)
    if (c.key) byKey.set(c.key, c)
  }
  const writtenKeys = new Set(w.chains.map(c => c.key))
  check(info.chains.length === writtenKeys.size, `C lists ${info.chains.length} chains = ${writtenKeys.size} written`)
  for (const jc of w.chains) {
    const cc = byKey.get(jc.key)
    const what = `chain ${short(jc.key)} (${jc.spec})`
    if (!check(!!cc, `${what} listed by C`)) continue
    check(cc.discoveryKey === jc.discoveryKey, `${what} discovery key ${short(cc.discoveryKey)} = ${short(jc.discoveryKey)}`)
    check(cc.length === jc.length, `${what} length ${cc.length} = ${jc.length}`)
    check(cc.byteLength === jc.byteLength, `${what} byteLength ${cc.byteLength} = ${jc.byteLength}`)
    check(cc.writable === jc.writable, `${what} writable ${cc.writable} = ${jc.writable}`)
  }
}

function cmdSame () {
  if (!args.written || !args.read) lib.die('same needs --written, --read')
  const w = readJson(args.written)
  const r = readJson(args.read)
  for (const jc of w.chains) {
    const rc = r.chains.find(c => c.key === jc.key)
    const what = `chain ${short(jc.key)} (${jc.spec})`
    if (!check(!!rc && rc.ok, `${what} still opens in JS${rc && !rc.ok ? ': ' + rc.error : ''}`)) continue
    check(rc.length === jc.length && rc.writable === jc.writable, `${what} length ${rc.length}, writable ${rc.writable} unchanged`)
    check(rc.blocks.join() === jc.blocks.join(), `${what} blocks unchanged`)
  }
}

function cmdMismatch () {
  if (!args.read || !args.key.length) lib.die('mismatch needs --read, --key')
  const r = readJson(args.read)
  for (const key of args.key) {
    const bad = r.chains.filter(c => c.ok && c.key === key && c.writable)
    check(bad.length === 0, `chain ${short(key)} is not writable under the other profile`)
  }
}

function cmdBlocks () {
  if (!args.written || args.key.length !== 1 || !args.file) lib.die('blocks needs --written, --key, --file')
  const key = args.key[0]
  const w = readJson(args.written)
  const jc = w.chains.find(c => c.key === key)
  if (!check(!!jc, `chain ${short(key)} written by the JS`)) return
  const start = Number(args.start || 0)
  const end = args.end !== undefined ? Number(args.end) : jc.length
  const data = fs.readFileSync(args.file)
  let off = 0
  let firstBad = -1
  for (let i = start; i < end; i++) {
    const piece = data.subarray(off, off + jc.sizes[i])
    off += jc.sizes[i]
    if (crypto.createHash('sha256').update(piece).digest('hex') !== jc.blocks[i]) { firstBad = i; break }
  }
  const expectBytes = jc.sizes.slice(start, end).reduce((a, b) => a + b, 0)
  check(data.length === expectBytes, `chain ${short(key)} cat [${start}, ${end}) gives ${data.length} bytes = ${expectBytes}`)
  check(firstBad < 0, `chain ${short(key)} cat [${start}, ${end}) block for block equal` +
    (firstBad < 0 ? '' : ` (first difference at block ${firstBad})`))
}

if (cmd === 'read') cmdRead()
else if (cmd === 'info') cmdInfo()
else if (cmd === 'blocks') cmdBlocks()
else if (cmd === 'same') cmdSame()
else if (cmd === 'mismatch') cmdMismatch()
else lib.die('usage: check.js read|info|blocks|same|mismatch ... (see the header of check.js)')
process.exit(failures ? 1 : 0)
