#!/bin/bash
cd /work/main
for i in 1 2 3 4 5 6; do
  for gp in 0 8; do
    for v in new head; do
      raw=$(RUNBOT_EMU_GP_MS=$gp RUNBOT_BIN=/tmp/sp/rb-$v-emu RUNBOT_EXPORT_TOOL=/tmp/sp/export_tool bench/compare --only spawn -n 9 2>&1); out=$(printf "%s\n" "$raw" | grep -m1 "spawn latency (sandboxed" | grep -o "running: [0-9.]* ms - export [0-9.]* ms = [0-9.]* ms"); [ -n "$out" ] || out="FAILED: $(printf "%s" "$raw" | tail -3)"
      echo "$v gp=$gp round=$i: $out"
    done
  done
done
