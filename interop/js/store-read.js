'use strict'
// Opens a corestore 5 directory store (random-access-file) with the legacy JS
// stack and prints, per chain, its keys, lengths, head-signature check and
// the SHA-256 of every block, as JSON.
//
// usage: node store-read.js --dir DIR [--profile bitspace|hypercore]
//          [--all] [--key HEX64]... [--discovery-key HEX64]... [--name NAME]...
//          [--namespace NS]... [--no-blocks] [--allow-errors]
//   --all              every chain directory on disk (xx/yy/<dk>/key), opened by discovery key
//   --key              store.get({ key })
//   --discovery-key    store.get({ discoveryKey })
//   --name             store.get({ name })              (re-derives the key pair)
//   --namespace        store.namespace(NS).default()
//   --no-blocks        skip reading blocks
//   --allow-errors     exit 0 even when a chain fails to open or read
//
// Output: { profile, dir, masterKey, chains: [ { select, ok, error?, key,
//   discoveryKey, writable, length, byteLength, downloaded, headSignature:{ok,index},
//   blocks: [sha256 hex], sizes: [bytes], contentSha256 } ] } in selection order.
// Exit 1 if any chain failed (unless --allow-errors), 2 on bad usage.

const fs = require('fs')
const path = require('path')
const lib = require('./lib')

const args = lib.parseArgs(process.argv.slice(2), {
  multi: ['key', 'discovery-key', 'name', 'namespace'],
  flags: ['all', 'no-blocks', 'allow-errors']
})
if (!args.dir) lib.die('--dir is required')
if (!fs.existsSync(path.join(args.dir, 'master_key'))) lib.die('no master_key in ' + args.dir, 1)
const profile = args.profile || 'bitspace'
const stack = lib.loadStack(profile)

async function main () {
  const store = new stack.Corestore(args.dir)
  await store.ready()
  const selections = []
  if (args.all) for (const dk of lib.listStoredChains(args.dir)) selections.push({ discoveryKey: dk })
  for (const k of args.key) selections.push({ key: k })
  for (const dk of args['discovery-key']) selections.push({ discoveryKey: dk })
  for (const n of args.name) selections.push({ name: n })
  for (const ns of args.namespace) selections.push({ namespace: ns })
  if (!selections.length) lib.die('nothing selected (--all, --key, --discovery-key, --name, --namespace)')

  const out = { profile, dir: args.dir, masterKey: lib.hex(store.inner._masterKey), chains: [] }
  let failed = 0
  for (const sel of selections) {
    let feed
    try {
      if (sel.key) feed = store.get({ key: Buffer.from(sel.key, 'hex') })
      else if (sel.discoveryKey) feed = store.get({ discoveryKey: Buffer.from(sel.discoveryKey, 'hex') })
      else if (sel.name) feed = store.get({ name: sel.name })
      else feed = store.namespace(sel.namespace).default()
      // A failed open is reported through 'error' as well as ready(cb).
      feed.on('error', () => {})
      const summary = await lib.summarizeFeed(feed, { withBlocks: !args['no-blocks'] })
      out.chains.push({ select: sel, ok: true, ...summary })
    } catch (err) {
      failed++
      out.chains.push({ select: sel, ok: false, error: err.message })
    }
  }
  await lib.p(cb => store.close(cb)).catch(() => {})
  process.stdout.write(JSON.stringify(out, null, 1) + '\n')
  if (failed && !args['allow-errors']) process.exit(1)
}

main().catch(err => {
  process.stderr.write('store-read.js: ' + (err.stack || err) + '\n')
  process.exit(1)
})
