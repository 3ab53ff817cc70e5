#!/usr/bin/env bash
# Every command has --help (exit 0); bad arguments exit 2 with a message.
. "$(dirname "$0")/lib.sh"

KEY=$(printf '%064d' 0)
for cmd in init create append cat info verify share clone demo bootstrap dht-lookup dht-announce version; do
  run 0 "$cmd" --help
  out_has "usage: chainstore $cmd"
done
run 0 --help
out_has "Exit codes"
run 2
run 2 no-such-command
err_has "unknown command"

D=$WORK/store
run 0 init "$D"

bad() { # bad ARGS... : exit 2 and a "chainstore: CMD: ..." message
  run 2 "$@"
  err_starts
  err_has "chainstore $1 --help"
}
bad init
bad init "$D" extra
bad init "$D" --profile nope
bad init "$D" --frobnicate
bad init "$D" --profile
bad create
bad create "$D" --name ""
bad create "$D" --profile upstream
bad append
bad append "$D"
bad append "$D" zz
bad append "$D" "${KEY:0:63}"
bad append "$D" "${KEY}0"
bad append "$D" "$KEY" a b
bad append "$D" "$KEY" --batch 0
bad append "$D" "$KEY" --batch x
bad append "$D" "$KEY" --batch 1048577
bad append "$D" "$KEY" --block-size 0
bad append "$D" "$KEY" --block-size 8388609
bad append "$D" "$KEY" --block-size -1
bad cat "$D"
bad cat "$D" nothex
bad cat "$D" "$KEY" --start x
bad cat "$D" "$KEY" --start 5 --end 4
bad cat "$D" "$KEY" extra
bad info
bad info "$D" --json extra
bad info "$D" --xml
bad verify
bad verify "$D" "$KEY" more
bad verify "$D" short
bad demo extra
bad demo --mib 0
bad demo --mib 2000

# A single-valued option given twice is an error, not "the last one wins".
twice() {
  bad "$@"
  err_has "given twice"
}
twice init "$D" --profile bitspace --profile hypercore
twice create "$D" --name a --name b
twice append "$D" "$KEY" --batch 1 --batch 2
twice append "$D" "$KEY" --block-size 1 --block-size 1
twice cat "$D" "$KEY" --start 1 --start 2
twice info "$D" --json --json
twice share "$D" --listen 127.0.0.1:0 --listen 127.0.0.1:1
twice clone "$D" "$KEY" --connect 127.0.0.1:1 --start 1 --start 2
twice clone "$D" "$KEY" --connect 127.0.0.1:1 --live --live
twice demo --mib 1 --mib 2
twice dht-lookup "$KEY" --local 127.0.0.1:1 --local 127.0.0.1:2
twice dht-announce "$KEY" --port 1 --port 2
twice bootstrap --port 1 --port 2
# ... but the repeatable ones are not (checked up to the usage error that
# follows them).
run 2 clone "$D" "$KEY" --connect 127.0.0.1:1 --connect 127.0.0.1:2 --start 2 --end 1
err_has "end is before"
echo "ok"
