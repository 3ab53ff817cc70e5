'use strict'
// The JS half of bench_append: the same appends with the legacy hypercore 9.12.
// bench_append spawns it and reads its `name=value` lines; it can also be run alone.
//
// usage: node append.js --modules DIR [--storage ram|disk] [--dir DIR]
//          [--batches N] [--singles4k N] [--singles512 N]
//   --modules     directory whose node_modules holds hypercore (interop/js)
//   --storage     ram = random-access-memory, disk = random-access-file under --dir
//   --batches     batches of 1,024 blocks of 64 KiB, one append(array) call each
//   --singles4k   4 KiB blocks, one append call (and one signature) each
//   --singles512  512 B blocks, one append call each
// Output (one per line): batch_mbps, batch_seconds, single4k_aps, single4k_seconds,
// single512_aps, single512_seconds, versions.

const path = require('path')
const fs = require('fs')
const crypto = require('crypto')
const { createRequire } = require('module')

function arg (name, def) {
  const i = process.argv.indexOf('--' + name)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def
}

const modules = path.resolve(arg('modules', path.join(__dirname, '..', '..', 'interop', 'js')))
const req = createRequire(path.join(modules, 'package.json'))
const hypercore = req('hypercore')
const ram = req('random-access-memory')
const storageKind = arg('storage', 'ram')
const baseDir = arg('dir', null)
const batches = Number(arg('batches', 2))
const singles4k = Number(arg('singles4k', 5000))
const singles512 = Number(arg('singles512', 5000))

const BIG = 64 * 1024
const BATCH = 1024
// One pool of random bytes; blocks are slices of it (same work as the C side).
const pool = crypto.randomBytes(BIG * BATCH)

let feedNo = 0
function newFeed () {
  if (storageKind === 'ram') return hypercore(() => new ram())
  if (!baseDir) throw new Error('--storage disk needs --dir')
  const dir = path.join(baseDir, 'js-' + (feedNo++))
  fs.rmSync(dir, { recursive: true, force: true })
  return hypercore(dir)
}

const p = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))))
const now = () => Number(process.hrtime.bigint()) / 1e9

async function withFeed (fn) {
  const feed = newFeed()
  await p(cb => feed.ready(cb))
  const r = await fn(feed)
  await p(cb => feed.close(cb))
  return r
}

async function benchBatches () {
  const blocks = []
  for (let i = 0; i < BATCH; i++) blocks.push(pool.subarray(i * BIG, (i + 1) * BIG))
  return withFeed(async feed => {
    const t0 = now()
    for (let b = 0; b < batches; b++) await p(cb => feed.append(blocks, cb))
    const s = now() - t0
    return { mbps: (batches * BATCH * BIG) / 1e6 / s, s }
  })
}

async function benchSingles (n, size) {
  return withFeed(async feed => {
    const slots = Math.floor(pool.length / size)
    const t0 = now()
    for (let i = 0; i < n; i++) {
      const off = (i % slots) * size
      await p(cb => feed.append(pool.subarray(off, off + size), cb))
    }
    const s = now() - t0
    return { aps: n / s, s }
  })
}

async function main () {
  const out = []
  if (batches > 0) {
    const r = await benchBatches()
    out.push(`batch_mbps=${r.mbps.toFixed(2)}`, `batch_seconds=${r.s.toFixed(3)}`)
  }
  if (singles4k > 0) {
    const r = await benchSingles(singles4k, 4096)
    out.push(`single4k_aps=${r.aps.toFixed(1)}`, `single4k_seconds=${r.s.toFixed(3)}`)
  }
  if (singles512 > 0) {
    const r = await benchSingles(singles512, 512)
    out.push(`single512_aps=${r.aps.toFixed(1)}`, `single512_seconds=${r.s.toFixed(3)}`)
  }
  out.push(`versions=node ${process.version} hypercore ${req('hypercore/package.json').version}`)
  process.stdout.write(out.join('\n') + '\n')
}

main().catch(err => {
  process.stderr.write('append.js: ' + (err.stack || err) + '\n')
  process.exit(1)
})
