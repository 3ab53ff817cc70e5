// A utp-native (libutp) peer for the C uTP core's interop test.
// node utp-peer.js listen|connect PORT BYTES: sends BYTES of the pattern,
// (gives up after $UTP_PEER_TIMEOUT_MS, default 120000),
// ends its side, checks what it reads, and prints one JSON line at the end.
const utp = require('utp-native')

const [mode, portStr, bytesStr] = process.argv.slice(2)
const port = Number(portStr)
const total = Number(bytesStr)
const pat = (i) => ((i * 7) ^ Math.floor(i / 512)) & 0xff

function run (conn, socket) {
  let got = 0
  let bad = false
  let sent = 0
  conn.on('data', (d) => {
    for (let k = 0; k < d.length; k++) if (d[k] !== pat(got + k)) bad = true
    got += d.length
  })
  let ended = false
  let finished = false
  // Exits once both directions are done: its own data flushed, theirs ended.
  const t0 = Date.now()
  const maybeExit = () => {
    if (!ended || !finished) return
    console.log(JSON.stringify({ done_ms: Date.now() - t0 })) // for bench/utp
    setTimeout(() => process.exit(0), 1000)
  }
  conn.on('end', () => {
    console.log(JSON.stringify({ received: got, bad }))
    ended = true
    maybeExit()
  })
  conn.on('finish', () => {
    finished = true
    maybeExit()
  })
  conn.on('error', (e) => {
    console.log(JSON.stringify({ error: e.message }))
    process.exit(1)
  })
  function pump () {
    while (sent < total) {
      const n = Math.min(65536, total - sent)
      const b = Buffer.alloc(n)
      for (let k = 0; k < n; k++) b[k] = pat(sent + k)
      sent += n
      if (!conn.write(b)) return conn.once('drain', pump)
    }
    conn.end()
  }
  pump()
}

const socket = utp()
if (mode === 'listen') {
  socket.on('connection', (c) => run(c, socket))
  socket.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ ready: true })))
} else {
  run(socket.connect(port, '127.0.0.1'), socket)
}
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(1) }, Number(process.env.UTP_PEER_TIMEOUT_MS || 120000))
