'use strict'
// Switches the pinned legacy JS stack (hypercore 9, corestore 5, hyperswarm 2)
// to the `bitspace` network profile (DESIGN.md, "network profile"):
//
//   discovery key   BLAKE2b-256(msg = "unichain", key = public key)  (upstream: "hypercore")
//   key derivation  namespace "chainstore"                          (upstream: "corestore")
//   mDNS domain     "bitswarm.local"                                (upstream: "hyperswarm.local")
//
// Load it before anything requires hypercore or corestore:
//   node -r ./profile-bitspace.js script.js    or    require('./profile-bitspace') first.
//
// The patches go into the module instances the stack really resolves: each
// package is resolved from the directory of every package that requires it, so
// a nested copy (node_modules/x/node_modules/y) is patched too. Modules that
// capture a dependency at load time (corestore keeps `deriveSeed`, hypercore
// keeps `Feed.discoveryKey`) must not be loaded yet; loading this file after
// them is an error rather than a silently half-switched stack.

const path = require('path')
const Module = require('module')

const DISCOVERY_WORD = 'unichain'
const NAMESPACE_FROM = 'corestore'
const NAMESPACE_TO = 'chainstore'
const MDNS_DOMAIN = 'bitswarm.local'

const ROOT = __dirname

// Packages whose `require` of a patched module must see the patched version.
const REQUIRERS = {
  'hypercore-crypto': ['corestore', 'hypercore', 'hypercore-protocol', 'simple-hypercore-protocol',
    '@corestore/networker', 'hyperswarm', '@hyperswarm/network', '@hyperswarm/discovery', '.'],
  'derive-key': ['corestore', '@corestore/networker', '.'],
  '@hyperswarm/discovery': ['@hyperswarm/network', 'hyperswarm', '@corestore/networker', '.']
}

// Modules that read a patched export once, at load time.
const MUST_NOT_BE_LOADED = ['corestore', 'hypercore', 'hypercore-protocol', 'simple-hypercore-protocol',
  '@hyperswarm/network', 'hyperswarm', '@corestore/networker']

function packageDir (name, fromDir) {
  if (name === '.') return ROOT
  try {
    return path.dirname(require.resolve(name + '/package.json', { paths: [fromDir || ROOT] }))
  } catch (err) {
    return null
  }
}

// Every distinct file `name` resolves to from the packages that require it.
function resolvedCopies (name) {
  const files = new Set()
  for (const requirer of REQUIRERS[name]) {
    const dir = packageDir(requirer)
    if (!dir) continue
    try {
      files.add(require.resolve(name, { paths: [dir] }))
    } catch (err) {
      // this requirer is not installed or does not depend on `name`
    }
  }
  return [...files]
}

function assertNotLoaded () {
  for (const name of MUST_NOT_BE_LOADED) {
    let main
    try {
      main = require.resolve(name, { paths: [ROOT] })
    } catch (err) {
      continue
    }
    if (require.cache[main]) {
      throw new Error('profile-bitspace: ' + name + ' was loaded before the profile switch; ' +
        'require profile-bitspace.js first (node -r ./profile-bitspace.js)')
    }
  }
}

// Loads `file` and replaces its module.exports for everybody who requires it later.
function replaceExports (file, makeExports) {
  const exported = require(file)
  const mod = require.cache[file]
  if (exported && exported.__bitspace) return false
  const replacement = makeExports(exported, file)
  Object.defineProperty(replacement, '__bitspace', { value: true })
  mod.exports = replacement
  return true
}

const patched = { 'hypercore-crypto': [], 'derive-key': [], '@hyperswarm/discovery': [] }

function patchHypercoreCrypto () {
  for (const file of resolvedCopies('hypercore-crypto')) {
    const crypto = require(file)
    if (crypto.__bitspace) continue
    // Same sodium instance as hypercore-crypto itself uses.
    const sodium = Module.createRequire(file)('sodium-universal')
    const word = Buffer.from(DISCOVERY_WORD)
    crypto.discoveryKey = function discoveryKey (publicKey) {
      const digest = Buffer.allocUnsafe(32)
      sodium.crypto_generichash(digest, word, publicKey)
      return digest
    }
    Object.defineProperty(crypto, '__bitspace', { value: true })
    patched['hypercore-crypto'].push(file)
  }
}

function patchDeriveKey () {
  for (const file of resolvedCopies('derive-key')) {
    const done = replaceExports(file, (derive) => function deriveBitspace (ns, masterKey, input, output) {
      return derive(ns === NAMESPACE_FROM ? NAMESPACE_TO : ns, masterKey, input, output)
    })
    if (done) patched['derive-key'].push(file)
  }
}

function patchDiscovery () {
  for (const file of resolvedCopies('@hyperswarm/discovery')) {
    const done = replaceExports(file, (factory) => function discoveryBitspace (opts) {
      return factory({ ...(opts || {}), domain: MDNS_DOMAIN })
    })
    if (done) patched['@hyperswarm/discovery'].push(file)
  }
}

assertNotLoaded()
patchHypercoreCrypto()
patchDeriveKey()
patchDiscovery()

if (!patched['hypercore-crypto'].length && !require('hypercore-crypto').__bitspace) {
  throw new Error('profile-bitspace: hypercore-crypto not found from ' + ROOT)
}
if (!patched['derive-key'].length && !require(resolvedCopies('derive-key')[0]).__bitspace) {
  throw new Error('profile-bitspace: derive-key not found from corestore')
}

module.exports = {
  profile: 'bitspace',
  DISCOVERY_WORD,
  NAMESPACE: NAMESPACE_TO,
  MDNS_DOMAIN,
  patched
}
