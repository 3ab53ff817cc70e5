// Regenerates rle-js-cases.json: random bitfields encoded by the legacy JS
// bitfield-rle 2.2.1, to check the C encoder's greedy choices byte for byte.
//   node tests/encoding/gen_rle_js_cases.js interop/js > tests/encoding/rle-js-cases.json
const path = require('path')
const rle = require(path.resolve(process.argv[2] || 'interop/js', 'node_modules/bitfield-rle'))

let seed = 0x12345678
function rand (n) { // xorshift32: reproducible without a dependency
  seed ^= seed << 13; seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5; seed >>>= 0
  return seed % n
}

const cases = []
for (let c = 0; c < 260; c++) {
  const len = rand(c < 200 ? 64 : 1200)
  const buf = Buffer.alloc(len)
  let i = 0
  while (i < len) {
    // Runs of 00/ff of varied length mixed with literal bytes, so every
    // branch of the run-vs-literal cost choice is exercised.
    const kind = rand(4)
    const n = Math.min(len - i, 1 + rand(kind === 3 ? 4 : (rand(3) === 0 ? 200 : 12)))
    for (let k = 0; k < n; k++, i++) {
      buf[i] = kind === 0 ? 0 : kind === 1 ? 255 : kind === 2 ? rand(256) : [0, 255, 0x80, 1][rand(4)]
    }
  }
  const enc = rle.encode(buf)
  cases.push({
    input: buf.toString('hex'),
    encoded: enc.toString('hex'),
    decoded_align4_length: rle.align(4).decodingLength(enc)
  })
}
process.stdout.write(JSON.stringify({ source: 'bitfield-rle 2.2.1, gen_rle_js_cases.js', cases }) + '\n')
