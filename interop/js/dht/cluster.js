// Hosts several @hyperswarm/dht 4.0.1 nodes in one process for the C
// interop tests, driven by JSON lines on stdin; answers with JSON lines on
// stdout. Commands (every one may carry "req", echoed in its answer):
//   {cmd:"create", id, bootstrap:[...], host, port, ephemeral, adaptive}
//       -> {ev:"ready", id, port}
//   {cmd:"announce"|"lookup"|"unannounce", id, topic:hex, port, localAddress}
//       -> {ev:"done", req, err, peers:["host:port", ...], local:[...]}
//   {cmd:"stats", id} -> {ev:"stats", req, nodes, records}
//   {cmd:"destroy", id} -> {ev:"destroyed", req}
//   {cmd:"exit"}
// Tests always pass their own bootstrap list.
'use strict'
const path = require('path')
const readline = require('readline')
const HyperDHT = require(path.join(__dirname, '..', 'node_modules', '@hyperswarm', 'dht'))

const nodes = new Map()
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

function parseAddr (s) {
  if (!s) return undefined
  const [host, port] = s.split(':')
  return { host, port: Number(port) }
}

function collect (results) {
  const peers = new Set()
  const local = new Set()
  for (const r of results || []) {
    for (const p of r.peers || []) peers.add(p.host + ':' + p.port)
    for (const p of r.localPeers || []) local.add(p.host + ':' + p.port)
  }
  return { peers: [...peers], local: [...local] }
}

function handle (msg) {
  const req = msg.req
  switch (msg.cmd) {
    case 'create': {
      const opts = { bootstrap: msg.bootstrap || [] }
      if (msg.adaptive) { opts.ephemeral = true; opts.adaptive = true } else opts.ephemeral = !!msg.ephemeral
      const dht = HyperDHT(opts)
      dht.on('warning', () => {})
      dht.on('error', (err) => out({ ev: 'error', id: msg.id, err: err.message }))
      nodes.set(msg.id, dht)
      dht.listen(msg.port || 0, msg.host || '127.0.0.1', () => {
        const port = dht.address().port
        dht.ready(() => out({ ev: 'ready', id: msg.id, port, req }))
      })
      break
    }
    case 'announce':
    case 'lookup':
    case 'unannounce': {
      const dht = nodes.get(msg.id)
      const topic = Buffer.from(msg.topic, 'hex')
      const opts = {}
      if (msg.cmd !== 'lookup') opts.port = msg.port || 0
      if (msg.localAddress) opts.localAddress = parseAddr(msg.localAddress)
      dht[msg.cmd](topic, opts, (err, results) => {
        const c = collect(results)
        out({ ev: 'done', req, err: err ? err.message : null, peers: c.peers, local: c.local })
      })
      break
    }
    case 'stats': {
      const dht = nodes.get(msg.id)
      out({ ev: 'stats', req, nodes: dht.nodes.length, records: dht._peers.size })
      break
    }
    case 'destroy': {
      const dht = nodes.get(msg.id)
      nodes.delete(msg.id)
      dht.destroy()
      out({ ev: 'destroyed', req })
      break
    }
    case 'exit':
      for (const dht of nodes.values()) dht.destroy()
      process.exit(0)
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return
  try {
    handle(JSON.parse(line))
  } catch (err) {
    out({ ev: 'error', err: err.message })
  }
})
process.stdin.on('end', () => {
  for (const dht of nodes.values()) dht.destroy()
  process.exit(0)
})
