'use strict'
// hypercore-protocol 8 measured the way bench/protocol measures the C code:
//   node bench.js handshakes SECONDS   new TCP connection per handshake,
//                                      fixed static keys, fresh ephemeral keys
//   node bench.js throughput SECONDS   64 KiB stream extension messages
// The server runs in a child process; the result is one JSON line.
require('../profile-bitspace')

const net = require('net')
const { fork } = require('child_process')
const Protocol = require('hypercore-protocol')

const [mode, secondsArg, role] = process.argv.slice(2)
const seconds = Number(secondsArg || 3)
const serverKeys = Protocol.keyPair(Buffer.alloc(32, 1))
const clientKeys = Protocol.keyPair(Buffer.alloc(32, 2))
const MSG = 64 * 1024

if (role === 'server') serve()
else client()

function serve () {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    const stream = new Protocol(false, { keyPair: serverKeys, live: true, timeout: false })
    let received = 0
    const ext = stream.registerExtension('bench', {
      encoding: 'binary',
      onmessage (m) {
        if (m.length === 4 && m.toString() === 'done') ext.send(Buffer.from(String(received)))
        else received += m.length
      }
    })
    socket.on('error', () => {})
    stream.on('error', () => {})
    socket.pipe(stream).pipe(socket)
  })
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
}

function client () {
  const child = fork(__filename, [mode, String(seconds), 'server'])
  child.on('message', ({ port }) => {
    if (mode === 'handshakes') handshakes(port, () => child.kill())
    else throughput(port, () => child.kill())
  })
}

function connect (port, onstream) {
  const socket = net.connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  const stream = new Protocol(true, { keyPair: clientKeys, live: true, timeout: false })
  socket.on('error', () => {})
  stream.on('error', () => {})
  socket.pipe(stream).pipe(socket)
  onstream(stream, socket)
}

function handshakes (port, done) {
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(seconds * 1e9))
  let count = 0
  next()
  function next () {
    const now = process.hrtime.bigint()
    if (now >= end) {
      const secs = Number(now - start) / 1e9
      console.log(JSON.stringify({ handshakes: count, seconds: secs, per_second: count / secs }))
      return done()
    }
    connect(port, (stream, socket) => {
      stream.on('handshake', () => {
        count++
        socket.destroy()
        stream.destroy()
        setImmediate(next)
      })
    })
  }
}

function throughput (port, done) {
  connect(port, (stream, socket) => {
    const payload = Buffer.alloc(MSG, 0xab)
    let start, sent = 0
    const ext = stream.registerExtension('bench', {
      encoding: 'binary',
      onmessage (m) {
        const secs = Number(process.hrtime.bigint() - start) / 1e9
        const received = Number(m.toString())
        console.log(JSON.stringify({ bytes: received, sent, seconds: secs, mb_per_second: received / secs / 1e6 }))
        socket.destroy()
        done()
      }
    })
    stream.on('handshake', () => {
      start = process.hrtime.bigint()
      const end = start + BigInt(Math.round(seconds * 1e9))
      pump()
      function pump () {
        while (process.hrtime.bigint() < end) {
          for (let i = 0; i < 16; i++) {
            ext.send(payload)
            sent += MSG
          }
          // Let the stream's readable side move into the socket; wait for
          // the socket when the kernel is behind.
          if (socket.writableNeedDrain) return socket.once('drain', pump)
          if (stream._readableState.buffered > 1024 * 1024) return setImmediate(pump)
        }
        ext.send(Buffer.from('done'))
      }
    })
  })
}
