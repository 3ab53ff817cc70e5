'use strict'
// A hypercore 9.12 peer (the legacy JS stack, bitspace profile) replicating
// one chain over stdin/stdout, for test_replicate_js.c. Protocol bytes only
// on stdout; results on stderr ("RESULT ..."); exit code 0 when the check
// passed.
//
//   node js_peer.js writer <n> <prefix> [live] [append-after-upload <k>]
//     a writer with the vector key pair (seed 00..1f) holding <n> blocks
//     "<prefix><i>"; with append-after-upload k, once every block has been
//     uploaded it appends k more, one at a time.
//   node js_peer.js reader <n> <prefix> [live] [sparse <i,j,...>]
//     a reader: downloads everything (or, sparse, only blocks i, j, ...)
//     and checks the contents.
//
// Initiator: the writer (the C side is the other one).

const path = require('path')
const jsDir = process.env.CHAINSTORE_JS_DIR || path.join(__dirname, '../../interop/js')
require(path.join(jsDir, 'profile-bitspace.js'))
const req = (name) => require(require.resolve(name, { paths: [jsDir] }))
const hypercore = req('hypercore')
const ram = req('random-access-memory')
const hcrypto = req('hypercore-crypto')

const args = process.argv.slice(2)
const role = args[0]
const n = parseInt(args[1], 10)
const prefix = args[2]
const live = args.includes('live')
const optAfter = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : null }

const seed = Buffer.alloc(32)
for (let i = 0; i < 32; i++) seed[i] = i
const kp = hcrypto.keyPair(seed)

function result (ok, msg) {
  process.stderr.write('RESULT ' + (ok ? 'OK ' : 'FAIL ') + msg + '\n')
  process.exitCode = ok ? 0 : 1
}

function block (i) { return Buffer.from(prefix + i) }

if (role === 'writer') {
  const feed = hypercore(ram, kp.publicKey, { secretKey: kp.secretKey })
  const batch = []
  for (let i = 0; i < n; i++) batch.push(block(i))
  feed.append(batch, (err) => {
    if (err) return result(false, err.message)
    const more = parseInt(optAfter('append-after-upload') || '0', 10)
    let uploaded = 0
    let appended = 0
    feed.on('upload', () => {
      if (++uploaded !== n || !more) return
      const next = () => {
        if (appended === more) return
        feed.append(block(n + appended++), (err) => {
          if (err) return result(false, err.message)
          setImmediate(next)
        })
      }
      next()
    })
    const stream = feed.replicate(true, { live })
    process.stdin.pipe(stream).pipe(process.stdout)
    stream.on('error', (err) => result(false, 'stream ' + err.message))
    stream.on('close', () => {
      if (process.exitCode === undefined) result(true, 'uploaded ' + uploaded + ' length ' + feed.length)
    })
    process.stdin.on('end', () => stream.end())
  })
} else {
  const sparseList = optAfter('sparse')
  const wanted = sparseList ? sparseList.split(',').map(Number) : null
  const feed = hypercore(ram, kp.publicKey, { sparse: !!wanted })
  feed.ready(() => {
    const stream = feed.replicate(false, { live })
    process.stdin.pipe(stream).pipe(process.stdout)
    stream.on('error', (err) => result(false, 'stream ' + err.message))
    const check = (list) => {
      let pending = list.length
      let bad = null
      if (!pending) return finish(null)
      for (const i of list) {
        feed.get(i, (err, data) => {
          if (err) bad = bad || err.message
          else if (!data.equals(block(i))) bad = bad || 'block ' + i + ' differs'
          if (--pending === 0) finish(bad)
        })
      }
    }
    const finish = (bad) => {
      if (bad) result(false, bad)
      else result(true, 'length ' + feed.length + ' downloaded ' + feed.downloaded())
      if (live) stream.destroy()
    }
    if (wanted) {
      check(wanted) // waiting gets: requested from the C uploader
    } else {
      stream.on('close', () => {
        if (process.exitCode !== undefined) return
        const all = []
        for (let i = 0; i < n; i++) all.push(i)
        if (feed.length !== n) return result(false, 'length ' + feed.length)
        check(all)
      })
    }
    process.stdin.on('end', () => stream.end())
  })
}
