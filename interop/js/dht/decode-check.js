// Differential check of the DHT decoders: reads lines "<kind> <hex>" on
// stdin, decodes with the real dht-rpc 4.9.6 / @hyperswarm/dht 4.0.1
// protobuf code and prints "OK <hex of the decoded object re-encoded>" or
// "ERR" per line. kind: message | holepunch | peersinput | peersoutput | mutable.
'use strict'
const path = require('path')
const nm = path.join(__dirname, '..', 'node_modules')
const { Message, Holepunch } = require(path.join(nm, 'dht-rpc', 'lib', 'messages'))
const { PeersInput, PeersOutput, Mutable } = require(path.join(nm, '@hyperswarm', 'dht', 'messages'))

const codecs = { message: Message, holepunch: Holepunch, peersinput: PeersInput, peersoutput: PeersOutput, mutable: Mutable }

const lines = require('fs').readFileSync(0, 'utf8').split('\n')
const out = []
for (const line of lines) {
  if (!line) continue
  const [kind, hex] = line.split(' ')
  const codec = codecs[kind]
  let res
  try {
    const obj = codec.decode(Buffer.from(hex || '', 'hex'))
    res = 'OK ' + codec.encode(obj).toString('hex')
  } catch (err) {
    res = 'ERR'
  }
  out.push(res)
}
process.stdout.write(out.join('\n') + '\n')
