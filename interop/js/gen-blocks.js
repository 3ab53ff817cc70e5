'use strict'
// Writes deterministic blocks to files, for feeding `chainstore append`, and
// prints their sizes and SHA-256 as JSON.
//
// usage: node gen-blocks.js --out DIR --count N [--size N|A-B] [--seed S] [--tag T] [--text]
//   DIR/blocks/000000 .. one file per block
//   DIR/all.bin          the blocks concatenated (--text: each followed by "\n")
//   --text               printable blocks without "\n" (sizes may be 0), for the
//                        line mode of `chainstore append`
// Output: { count, sizes: [n], blocks: [sha256 hex], contentSha256 }
// Same generator as store-write.js (AES-CTR keystream of seed/tag/index).

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const lib = require('./lib')

const args = lib.parseArgs(process.argv.slice(2), { flags: ['text'] })
if (!args.out) lib.die('--out is required')
const count = Number(args.count || 10)
const size = args.size || '1024'
const seed = args.seed || '1'
const tag = args.tag || 'gen'
const text = args.text !== undefined

const ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-_')
function printable (b) {
  for (let i = 0; i < b.length; i++) b[i] = ALPHABET[b[i] % ALPHABET.length]
  return b
}

fs.mkdirSync(path.join(args.out, 'blocks'), { recursive: true })
const all = fs.openSync(path.join(args.out, 'all.bin'), 'w')
const out = { count, sizes: [], blocks: [] }
const h = crypto.createHash('sha256')
for (let i = 0; i < count; i++) {
  let b = lib.blockBytes(seed, tag, i, lib.blockSize(size, seed, tag, i))
  if (text) b = printable(b)
  fs.writeFileSync(path.join(args.out, 'blocks', String(i).padStart(6, '0')), b)
  fs.writeSync(all, b)
  if (text) fs.writeSync(all, '\n')
  h.update(b)
  out.sizes.push(b.length)
  out.blocks.push(lib.sha256hex(b))
}
fs.closeSync(all)
out.contentSha256 = h.digest('hex')
process.stdout.write(JSON.stringify(out) + '\n')
