#!/bin/bash
# Lead's final run (session 4): every GPU test with the embedded PTX; ours (HEAD, --threads 2) beside the
# PyTorch anchors (DeiT-tiny, official VMamba-T, HF Mamba-130m; 2 threads), same run; then the second
# shift's fragments (.device/s5*/final.sh: AVX-512 test verdicts and old/new pairs).
set -u
R=$PWD; D=$R/.device/final4; export B=/tmp/lb; T0=$(date +%s)
mkdir -p $B && tar xzf $D/final.tgz -C $B
export GOMAMBA_GOLDEN=$R/.device/cublas/golden
el() { echo "($(( $(date +%s) - T0 )) s)"; }
date -u; lscpu | grep "Model name"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; uptime
echo "== GPU tests, embedded PTX, GOMAMBA_REQUIRE_CUDA=1"
( export GOMAMBA_REQUIRE_CUDA=1
  cd kernels/cuda && timeout 150 $B/cuda.test -test.v > /tmp/c.log 2>&1; echo "cuda.test rc=$? pass $(grep -c -- '--- PASS' /tmp/c.log) skip $(grep -c -- '--- SKIP' /tmp/c.log) fail $(grep -c -- '--- FAIL' /tmp/c.log)"; grep -A6 -- "--- FAIL" /tmp/c.log | head -20 )
for p in vim:'GPU|CUDA' vmamba:CUDA mamba:'CUDA|GPU' vision:'GPU|Precision|Device'; do n=${p%%:*}; r=${p#*:}; d=backbone/$n; [ -d $d ] || d=$n
  (cd $d && GOMAMBA_REQUIRE_CUDA=1 timeout 90 $B/$n.test -test.run "$r" -test.v > /tmp/$n.log 2>&1; echo "$n rc=$? pass $(grep -c -- '--- PASS' /tmp/$n.log) skip $(grep -c -- '--- SKIP' /tmp/$n.log) fail $(grep -c -- '--- FAIL' /tmp/$n.log)"; grep -A6 -- "--- FAIL" /tmp/$n.log | head -20); done
echo "== kernels golden on AVX-512 $(el)"
(cd kernels && timeout 40 $B/kernels.test -test.run 'Golden|Packed|Int8|BF16' 2>&1 | tail -2)
echo "== anchors + ours, taskset 2-9, 2 threads, same run $(el)"
C="taskset -c 2-9"
timeout 90 $C python3 $D/bench_py.py cpu nolm 2>&1 | grep -E "ANCHOR|Error" | tail -4
timeout 40 $C $B/gomamba bench vim vmamba --threads 2 --size 224 --min-time 3s 2>/dev/null | grep -E "^ *(vim|vmamba)"
for p in int8 bf16 fp32; do echo -n "lm $p: "; timeout 30 $C $B/gomamba bench lm --threads 2 --precision $p --repeat 3 2>/dev/null | grep -E "prefill|decode|weights" | tr '\n' ' '; echo; done
timeout 100 $C python3 $D/hf.py cpu 2 2>&1 | grep -E "ANCHOR|ROOFLINE" | head
for p in int8 bf16; do echo -n "lm $p again: "; timeout 30 $C $B/gomamba bench lm --threads 2 --precision $p --repeat 3 2>/dev/null | grep -E "decode" | tr '\n' ' '; echo; done
timeout 40 $C $B/gomamba bench vmamba vim --threads 2 --size 224 --min-time 3s 2>/dev/null | grep -E "^ *(vim|vmamba)"
echo "== fragments $(el)"
for f in s5step s5vmamba s5vim; do [ -f $D/$f.sh ] && { echo "-- $f $(el)"; timeout 60 bash -c "source $D/$f.sh" 2>&1 | tail -40; }; done
echo "total $(el)"; date -u
