// The JS side of utp_punch (same arguments, same output lines): hyperswarm's
// stack as @hyperswarm/network runs it, @hyperswarm/dht on a utp-native socket.
//   node utp_punch_js.js announce|connect BOOTSTRAP TOPIC_HEX BYTES
// announce: announces TOPIC, accepts one uTP connection, reads BYTES, answers 'k'.
// connect: looks TOPIC up, holepunches the first peer through its referrer
// (a failed punch: look up and punch again), sends BYTES over uTP.
// Exit 0 on success, 1 on failure, after 130 s at most (as utp_punch).
const dir = (process.env.CHAINSTORE_JS_DIR || `${__dirname}/../../interop/js`) + '/node_modules/'
const utp = require(dir + 'utp-native')
const DHT = require(dir + '@hyperswarm/dht')

const [mode, boot, topicHex, bytesStr] = process.argv.slice(2)
const topic = Buffer.from(topicHex, 'hex')
const total = Number(bytesStr)
const pat = (i) => ((i * 7) ^ Math.floor(i / 512)) & 0xff
const t0 = Date.now()
let tPunch = -1
let tConn = -1
let moved = 0
let bad = false

function finish (ok) {
  const now = Date.now() - t0
  console.log(JSON.stringify(mode === 'announce'
    ? { received: moved, ok }
    : { punched_ms: tPunch, connected_ms: tConn, done_ms: now, sent: moved, ok }))
  process.exit(ok ? 0 : 1)
}
setTimeout(() => { console.error('utp_punch_js: deadline'); finish(false) }, 130000)

const socket = utp()
socket.listen(0, () => {
  const dht = DHT({ bootstrap: [boot], socket, ephemeral: true })
  dht.on('warning', () => {})
  if (mode === 'announce') announce(dht)
  else lookup(dht)
})

function announce (dht) {
  socket.on('connection', (c) => {
    c.on('data', (d) => {
      for (let k = 0; k < d.length; k++) if (d[k] !== pat(moved + k)) bad = true
      moved += d.length
    })
    c.on('end', () => {
      const ok = moved === total && !bad
      if (ok) c.write(Buffer.from('k'))
      c.end()
      setTimeout(() => finish(ok), 2000)
    })
    c.on('error', (e) => { console.error('utp_punch_js: uTP: ' + e.message); finish(false) })
  })
  dht.announce(topic, { port: 0 }, (err) => {
    console.error('utp_punch_js: announced: ' + (err ? err.message : 'ok'))
    console.log(JSON.stringify({ announced: true }))
  })
}

function lookup (dht) {
  let busy = false
  const s = dht.lookup(topic)
  s.on('data', (d) => {
    if (busy || !d.peers || d.peers.length === 0) return
    busy = true
    const peer = { host: d.peers[0].host, port: d.peers[0].port, referrer: d.node }
    console.error(`utp_punch_js: peer ${peer.host}:${peer.port} via ${d.node.host}:${d.node.port}`)
    dht.holepunch(peer, (err) => {
      if (err) {
        console.error('utp_punch_js: holepunch: ' + err.message)
        return lookup(dht)
      }
      tPunch = Date.now() - t0
      send(socket.connect(peer.port, peer.host))
    })
  })
  s.on('error', () => {})
  s.on('end', () => { if (!busy) setTimeout(() => lookup(dht), 100) })
}

function send (c) {
  c.on('connect', () => { tConn = Date.now() - t0 })
  c.on('data', (d) => { if (d[0] === 0x6b) finish(true) })
  c.on('error', (e) => { console.error('utp_punch_js: uTP: ' + e.message); finish(false) })
  function pump () {
    while (moved < total) {
      const n = Math.min(65536, total - moved)
      const b = Buffer.alloc(n)
      for (let k = 0; k < n; k++) b[k] = pat(moved + k)
      moved += n
      if (!c.write(b)) return c.once('drain', pump)
    }
    c.end()
  }
  pump()
}
