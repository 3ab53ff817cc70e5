'use strict'
// Self-check of the profile switch against tests/vectors/chainstore/derivation.json.
//
// usage: node profile-check.js [VECTORS_DIR]            checks both profiles (one child process each)
//        node profile-check.js --profile P [VECTORS_DIR]  checks one profile in this process
//
// For master key a0a1..bf it derives the default chain through derive-key +
// hypercore-crypto as corestore resolves them, and through the real API
// (corestore 5 on RAM, store.default()), and compares key, discovery key and
// storage directory with the vectors:
//   bitspace  = fork_chainstore (namespace "chainstore", discovery word "unichain")
//   hypercore = upstream_corestore keys with the upstream discovery word "hypercore"
// It also checks the mDNS domain the (wrapped) @hyperswarm/discovery factory uses.
// Exit 0 = all equal, 1 = a mismatch (printed), 2 = usage.

const path = require('path')
const { spawnSync } = require('child_process')
const lib = require('./lib')

const args = lib.parseArgs(process.argv.slice(2))
const vectorsDir = args._[0] || process.env.CHAINSTORE_VECTORS ||
  path.join(__dirname, '..', '..', 'tests', 'vectors')

if (!args.profile) {
  let bad = 0
  for (const profile of lib.PROFILES) {
    const r = spawnSync(process.execPath, [__filename, '--profile', profile, vectorsDir], { stdio: 'inherit' })
    if (r.status !== 0) bad++
  }
  process.exit(bad ? 1 : 0)
}

const profile = args.profile
const stack = lib.loadStack(profile)
const vectors = require(path.join(path.resolve(vectorsDir), 'chainstore', 'derivation.json'))

let failures = 0
function check (what, got, want) {
  const ok = got === want
  if (!ok) failures++
  console.log(`${ok ? 'ok  ' : 'FAIL'} [${profile}] ${what}: ${got}${ok ? '' : ' (want ' + want + ')'}`)
}

async function main () {
  const master = Buffer.from(vectors.masterKey, 'hex')
  const set = profile === 'bitspace' ? vectors.fork_chainstore : vectors.upstream_corestore
  const v = set.find(e => e.name_utf8 === 'default')
  const wantDk = profile === 'bitspace' ? v.discoveryKey_unichain : v.discoveryKey_hypercore_upstream

  // 1. The modules as corestore resolves them.
  const corestoreDir = path.dirname(require.resolve('corestore/package.json', { paths: [__dirname] }))
  const derive = require(require.resolve('derive-key', { paths: [corestoreDir] }))
  const hcrypto = require(require.resolve('hypercore-crypto', { paths: [corestoreDir] }))
  const seed = derive('corestore', master, Buffer.from('default'))
  check('seed (derive-key via corestore)', seed.toString('hex'), v.seed)
  const kp = hcrypto.keyPair(seed)
  check('publicKey', kp.publicKey.toString('hex'), v.publicKey)
  check('discoveryKey (hypercore-crypto via corestore)', hcrypto.discoveryKey(kp.publicKey).toString('hex'), wantDk)
  const hypercoreDir = path.dirname(require.resolve('hypercore/package.json', { paths: [__dirname] }))
  const hcrypto2 = require(require.resolve('hypercore-crypto', { paths: [hypercoreDir] }))
  check('discoveryKey (hypercore-crypto via hypercore)', hcrypto2.discoveryKey(kp.publicKey).toString('hex'), wantDk)

  // 2. The real API.
  const store = new stack.Corestore(stack.ram, { masterKey: master })
  await store.ready()
  const feed = store.default()
  await lib.p(cb => feed.ready(cb))
  check('store.default().key', feed.key.toString('hex'), v.publicKey)
  check('store.default().discoveryKey', feed.discoveryKey.toString('hex'), wantDk)
  check('store.default().writable', String(feed.writable), 'true')
  const cross = vectors.api_cross_check && vectors.api_cross_check[profile === 'bitspace' ? 'fork_chainstore' : 'upstream_corestore']
  if (cross) {
    // Namespaced/nested names only depend on the derivation namespace: compare public keys.
    for (const c of cross) {
      // store(.namespace("x"))*.default()  or  ....get({ name: "y" })
      const m = /^store((?:\.namespace\("[^"]*"\))*)\.(?:default\(\)|get\(\{ name: "([^"]*)" \}\))$/.exec(c.call)
      if (!m) continue
      let s = store
      for (const ns of m[1].matchAll(/namespace\("([^"]*)"\)/g)) s = s.namespace(ns[1])
      const f = m[2] !== undefined ? s.get({ name: m[2] }) : s.default()
      await lib.p(cb => f.ready(cb))
      check(c.call + '.key', f.key.toString('hex'), c.publicKey)
    }
  }
  await lib.p(cb => store.close(cb))

  // 3. mDNS domain of the discovery factory that @hyperswarm/network resolves.
  const networkDir = path.dirname(require.resolve('@hyperswarm/network/package.json', { paths: [__dirname] }))
  const discovery = require(require.resolve('@hyperswarm/discovery', { paths: [networkDir] }))
  const d = discovery({ bootstrap: [], multicast: false, ephemeral: true })
  check('mDNS domain', d._tld.slice(1), profile === 'bitspace' ? 'bitswarm.local' : 'hyperswarm.local')
  d.destroy()

  process.exit(failures ? 1 : 0)
}

main().catch(err => {
  console.error('profile-check.js [' + profile + ']: ' + (err.stack || err))
  process.exit(1)
})
