// The JS side of bench_dht: one @hyperswarm/dht 4.0.1 (dht-rpc 4.9.6) node
// on 127.0.0.1:PORT with the id and the contacts of CONTACTS_FILE (first line
// the node id in hex, then "id-hex ip port" per contact). Prints "ready N"
// (N = contacts in its routing table) and runs until stdin closes.
'use strict'
const path = require('path')
const fs = require('fs')
const [,, modules, port, file] = process.argv
const HyperDHT = require(path.join(modules, 'node_modules', '@hyperswarm', 'dht'))

const lines = fs.readFileSync(file, 'utf8').trim().split('\n')
const id = Buffer.from(lines[0], 'hex')
const dht = HyperDHT({ bootstrap: [], ephemeral: false, id })
dht.on('warning', () => {})
dht.listen(Number(port), '127.0.0.1', () => {
  const nodes = lines.slice(1).map((l) => {
    const [hex, host, p] = l.split(' ')
    return { id: Buffer.from(hex, 'hex'), host, port: Number(p) }
  })
  dht.ready(() => {
    dht.addNodes(nodes)
    process.stdout.write('ready ' + dht.nodes.length + '\n')
  })
})
process.stdin.resume()
process.stdin.on('end', () => { dht.destroy(); process.exit(0) })
