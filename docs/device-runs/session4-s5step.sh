# s5step final (sourced by the lead's run; needs $B, GOMAMBA_GOLDEN, cwd =
# repo root). Decode-step state update (asm.StepStates16) and conv step
# (asm.Conv4Step), both AVX2 kernels, on the device Xeon: their tests and
# the LM parity tests on this CPU, then mamba-130m decode ms/step, session
# start (gomamba-old, f5e7996) vs HEAD (gomamba), alternating, 2 threads;
# then HEAD's step without GEMVs (DecodeRest) and GEMVs alone. <= ~45 s.
S5_T0=$(date +%s)
echo "== s5step tests (AVX-512 CPU; the new kernels are AVX2 and run in every mode)"
(cd kernels/internal/asm && $B/asm.test -test.run 'StepStates16|Conv4Step' -test.v 2>&1 | grep -E "^--- |^    --- " | sed -E 's/#[0-9]+//; s/ \(.*//; s/^ *//' | sort | uniq -c)
(cd kernels && echo -n "kernels SelectiveStateUpdate|Conv1dStep: " && $B/kernels.test -test.run 'SelectiveStateUpdate|Conv1dStep' 2>&1 | tail -1)
(cd mamba && $B/mamba.test -test.run 'TestGoldenLM$|TestStepMatchesForward|TestPrecision|TestPackedUntied|TestDecodeAllocs' -test.v 2>&1 | grep -E "^--- FAIL|^FAIL|^ok|^PASS|greedy_step|positions" | sed -E 's/^ *//' | sort | uniq -c | cut -c1-160)
echo "== s5step state update of one mamba-130m layer, helpers held: split over 2 threads vs serial (us)"
(cd kernels && for i in 1 2; do GOMAXPROCS=2 taskset -c 2-9 timeout 5 $B/kernels.test -test.run '^$' -test.bench 'SelectiveStateUpdateHeld|Conv1dStep/d1536' -test.benchtime 3000x 2>&1 | grep -E "^Bench" | awk '{printf "%s %.1f  ", $1, $3/1e3}'; echo; done)
echo "== s5step decode, mamba-130m random weights, 2 threads, prompt 16, best of 3 x 32 tokens (ms per step)"
s5_lm() { # binary precision
  if [ $(( $(date +%s) - S5_T0 )) -gt 35 ]; then echo "$1 $2: skipped (time)"; return; fi
  echo -n "$1 $2: "
  GOMAXPROCS=2 taskset -c 2-9 timeout 10 $B/$1 bench lm --threads 2 --repeat 3 --prompt 16 --precision $2 2>/dev/null | grep -oE "[0-9.]+ ms per step" || echo "failed"
}
s5_lm gomamba-old bf16; s5_lm gomamba bf16; s5_lm gomamba-old fp32; s5_lm gomamba fp32; s5_lm gomamba int8
(cd mamba && GOMAXPROCS=2 taskset -c 2-9 timeout 10 $B/mamba.test -test.run '^$' -test.bench 'DecodeRest$|DecodeGEMV$/int8' -test.benchtime 40x 2>&1 | grep -E "^Bench" | awk '{printf "%s %.3f ms\n", $1, $3/1e6}')
s5_lm gomamba int8; s5_lm gomamba bf16; s5_lm gomamba-old bf16; s5_lm gomamba fp32; s5_lm gomamba-old fp32
echo "s5step total $(( $(date +%s) - S5_T0 )) s"
