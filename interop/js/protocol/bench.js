'use strict'
// hypercore-protocol 8 measured the way bench/protocol measures the C code:
//   node bench.js handshakes SECONDS [IN_FLIGHT]
//       new TCP connection per handshake (the server drops it once it has
//       checked message 3), fixed static keys, fresh ephemeral keys,
//       IN_FLIGHT handshakes at a time (default 1)
//   node bench.js throughput SECONDS   64 KiB stream extension messages
// The server runs in a child process; the result is one JSON line.
require('../profile-bitspace')

const net = require('net')
const { fork } = require('child_process')
const Protocol = require('hypercore-protocol')

const [mode, secondsArg, inFlightArg, role] = process.argv.slice(2)
const seconds = Number(secondsArg || 3)
const inFlight = Math.max(1, Number(inFlightArg || 1))
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
    // Handshakes: the server drops the connection once it has checked
    // message 3, so both sides do every step of every handshake counted.
    if (mode === 'handshakes') {
      stream.on('handshake', () => {
        socket.destroy()
        stream.destroy()
      })
    }
    socket.pipe(stream).pipe(socket)
  })
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
  process.on('message', (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage() })
  })
}

function client () {
  const child = fork(__filename, [mode, String(seconds), String(inFlight), 'server'])
  let onCpu = null
  // The server's CPU time, for the CPU spent per handshake on each side.
  const serverCpu = (cb) => {
    onCpu = cb
    child.send('cpu')
  }
  child.on('message', (m) => {
    if (m.cpu) return onCpu(m.cpu)
    if (mode === 'handshakes') {
      serverCpu((base) => handshakes(m.port, serverCpu, base, () => child.kill()))
    } else {
      throughput(m.port, () => child.kill())
    }
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

function handshakes (port, serverCpu, serverBase, done) {
  const start = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  const end = start + BigInt(Math.round(seconds * 1e9))
  let count = 0
  let running = 0
  let finished = false
  for (let i = 0; i < inFlight; i++) next()
  function next () {
    const now = process.hrtime.bigint()
    if (now >= end) {
      if (running > 0 || finished) return
      finished = true
      const mine = process.cpuUsage(cpu)
      return serverCpu((theirs) => {
        const perHandshake = (u, s) => (u + s) / count // microseconds
        console.log(JSON.stringify({
          handshakes: count,
          seconds,
          in_flight: inFlight,
          per_second: count / seconds,
          cpu_client_us: perHandshake(mine.user, mine.system),
          cpu_server_us: perHandshake(theirs.user - serverBase.user, theirs.system - serverBase.system)
        }))
        done()
      })
    }
    running++
    connect(port, (stream, socket) => {
      stream.on('handshake', () => {
        if (process.hrtime.bigint() < end) count++
      })
      socket.on('close', () => {
        stream.destroy()
        running--
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
