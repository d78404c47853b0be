# s5vim (Vim on CPU, issue #7): sourced by the lead's final device run with
# $B (gomamba, gomamba-old, *.test from HEAD), GOMAMBA_GOLDEN set, cwd = repo root.
# ~40 s. Prints: test verdicts (AVX-512 default, AVX2 forced), then vim-tiny
# 224² at 2 threads, old (f5e7996) / new (HEAD) alternating, one line each:
#   <label> img/s best-ms median-ms CPU-ms/img
echo "== s5vim $(date -u +%T)"
S5B=$(cd "$B" && pwd) # absolute: the tests run from their package folders
s5t() { # name, dir, binary, args...: one verdict line (+ failures)
	local n=$1 d=$2 b=$3; shift 3
	(cd "$d" && timeout 25 "$S5B/$b" "$@" > /tmp/s5vim_$n.log 2>&1; rc=$?
	 echo "$n rc=$rc pass=$(grep -c -- '--- PASS' /tmp/s5vim_$n.log) fail=$(grep -c -- '--- FAIL' /tmp/s5vim_$n.log) $(grep -E '^(ok|PASS|FAIL)$' /tmp/s5vim_$n.log | tail -1)"
	 grep -B2 -A6 -- '--- FAIL\|^panic' /tmp/s5vim_$n.log | head -20
	 grep -E 'features: max abs|balanced: max' /tmp/s5vim_$n.log | sort | uniq -c | head -3)
}
(export GOMAXPROCS=2
s5t asm512 kernels/internal/asm asm.test -test.v -test.run 'GateSum|Conv4|ScanStates16|SoftplusSilu|DeltaRow'
s5t kern512 kernels kernels.test -test.v -test.run 'GateSum|Conv4|Conv1d|SelectiveScan|ScanRev|Reverse|DeltaProj|Staged'
s5t vim512 backbone/vim vim.test -test.v -test.run 'Golden|MixerPaths|RoundTrip|Dense|Alloc'
GOMAMBA_AVX512=0 s5t vimavx2 backbone/vim vim.test -test.v -test.run 'Golden|MixerPaths')
# Kernel microbenchmarks (one goroutine, vim-tiny 224² shapes), ns/op: the
# N = 16 reverse scan in place vs staged (revStaged16, off) beside forward;
# conv1d + SiLU; Δ projected in the scan vs MatMul + scan; GateSum vs Add + SiLU.
(cd kernels && GOMAXPROCS=2 taskset -c "${S5CPUS:-2-9}" timeout 20 "$S5B/kernels.test" -test.run XXX \
	-test.bench 'ScanReverseStaged/gated=false|Conv1dVim|DeltaProjN16|BenchmarkGateSum' -test.benchtime 200x -test.count 2 2>&1 |
	awk '/^Benchmark/{printf "%s %s ns/op\n", $1, $3}')
s5b() { # label, binary, extra env...
	local l=$1 b=$2; shift 2
	echo "$l $(env "$@" GOMAXPROCS=2 taskset -c "${S5CPUS:-2-9}" timeout 12 "$S5B/$b" bench vim --threads 2 --size 224 --min-time 1500ms 2>/dev/null | awk '/vim-tiny/{print $7, $8, $9, $11}')"
}
for i in 1 2 3; do s5b old gomamba-old; s5b new gomamba; done
s5b old-avx2 gomamba-old GOMAMBA_AVX512=0; s5b new-avx2 gomamba GOMAMBA_AVX512=0
echo "== s5vim end $(date -u +%T)"
