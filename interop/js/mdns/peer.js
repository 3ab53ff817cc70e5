'use strict'
// One @hyperswarm/discovery 2.0.1 instance for the C mDNS interop test,
// driven by JSON lines on stdin, reporting JSON lines on stdout.
//
//   node mdns/peer.js --profile bitspace|hypercore
//   -> {ev:"ready", domain}                       once the mDNS socket is bound
//   {cmd:"announce", topic:hex, port, lookup}     -> {ev:"ok", req}
//   {cmd:"lookup", topic:hex}                     -> {ev:"ok", req}
//   {cmd:"leave", topic:hex}                      -> {ev:"ok", req} (after close)
//   {cmd:"exit"}
//   -> {ev:"peer", topic, host, port, local, referrer} for every peer event
//
// The DHT gets no bootstrap node (bootstrap: []), so it never sends a packet
// anywhere: peers can only come from multicast DNS. `bitspace` switches the
// discovery factory to the domain bitswarm.local (profile-bitspace.js), as
// DESIGN.md says; `hypercore` runs the JS unchanged (hyperswarm.local).
const readline = require('readline')
const { parseArgs, die } = require('../lib')

const args = parseArgs(process.argv.slice(2))
const profile = args.profile || 'bitspace'
if (profile === 'bitspace') require('../profile-bitspace')
else if (profile !== 'hypercore') die('unknown profile ' + profile)

const discovery = require('@hyperswarm/discovery')
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

const d = discovery({ bootstrap: [], ephemeral: true })
d.mdns.on('warning', () => {})
d.mdns.on('error', (err) => { out({ ev: 'error', err: err.message }); process.exit(1) })
d.mdns.once('ready', () => out({ ev: 'ready', domain: d._tld.slice(1) }))

const topics = new Map()

function watch (topic) {
  topic.on('peer', (peer) => out({
    ev: 'peer',
    topic: peer.topic.toString('hex'),
    host: peer.host,
    port: peer.port,
    local: peer.local,
    referrer: peer.referrer
  }))
  topic.on('update', () => {})
  return topic
}

function handle (msg) {
  const req = msg.req
  switch (msg.cmd) {
    case 'announce': {
      const key = Buffer.from(msg.topic, 'hex')
      topics.set(msg.topic, watch(d.announce(key, { port: msg.port, lookup: !!msg.lookup })))
      out({ ev: 'ok', req })
      break
    }
    case 'lookup': {
      const key = Buffer.from(msg.topic, 'hex')
      topics.set(msg.topic, watch(d.lookup(key)))
      out({ ev: 'ok', req })
      break
    }
    case 'leave': {
      const t = topics.get(msg.topic)
      topics.delete(msg.topic)
      if (!t) return out({ ev: 'ok', req })
      t.once('close', () => out({ ev: 'ok', req }))
      t.destroy()
      break
    }
    case 'exit':
      d.destroy({ force: true })
      process.exit(0)
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim()) handle(JSON.parse(line))
}).on('close', () => process.exit(0))
