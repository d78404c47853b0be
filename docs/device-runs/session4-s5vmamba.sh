# s5vmamba (VMamba on CPU, issue #7, second shift): sourced by the lead's
# final device run with $B (gomamba, gomamba-old, *.test from HEAD),
# GOMAMBA_GOLDEN set, cwd = repo root. ~35 s, < 30 lines of output.
# Prints:
#  1. test verdicts on the AVX-512 Xeon: asm (Oct1OutAcc, Prefetch, the
#     N=1 scan kernels; avx512/avx2/go modes), kernels (N=1 scan with Δ
#     projected, Accumulate, LayerNorm2d split), vmamba golden parity with
#     AVX-512 and with AVX2 forced (max|Δ| lines, want ≤ 1e-4);
#  2. the N=1 scan at vmamba-tiny's stage-1/3 shapes, 1 thread: fused
#     forward vs fused reverse+accumulate (HEAD; reverse ≈ forward means the
#     block prefetch works there; before it reverse was 1.35-1.4x here);
#  3. LayerNorm2d at vmamba-tiny's stage maps and all the GEMMs of one
#     vmamba-tiny image (BenchmarkGemmVMamba/all) at 1 and 2 threads: does a
#     second thread help there? (here it varied with load: LayerNorm2d 0.6-2x,
#     the GEMMs 163.5 -> 82.8 ms, 1.97x, in the quietest run)
#  4. vmamba-tiny 224² at 2 threads, old (f5e7996) / new (HEAD)
#     alternating, one line each: <label> img/s best-ms median-ms CPU-ms/img
echo "== s5vmamba $(date -u +%T)"
s5v() { # name, dir, binary, args...: one verdict line (+ failures)
	local n=$1 d=$2 b=$3; shift 3
	(cd "$d" && timeout 25 "$B/$b" "$@" > /tmp/s5vm_$n.log 2>&1; rc=$?
	 echo "$n rc=$rc pass=$(grep -c -- '--- PASS' /tmp/s5vm_$n.log) skip=$(grep -c -- '--- SKIP' /tmp/s5vm_$n.log) fail=$(grep -c -- '--- FAIL' /tmp/s5vm_$n.log) avx512-pass=$(grep -c -- '--- PASS: .*/avx512' /tmp/s5vm_$n.log)"
	 grep -B2 -A6 -- '--- FAIL\|^panic' /tmp/s5vm_$n.log | head -12
	 m=$(grep -E 'max\|Δ\|' /tmp/s5vm_$n.log | sed -E 's/^ *parity_test.go:[0-9]+: //' | tr -s ' ' | paste -sd';' | cut -c1-230); [ -n "$m" ] && echo "  $m")
}
export GOMAXPROCS=2
s5v asm kernels/internal/asm asm.test -test.v -test.run 'Oct1|Prefetch|Recur8|DeltaRow|LayerNorm2dPixels'
s5v kern kernels kernels.test -test.v -test.run 'DeltaProj|Accumulate|Oct1|LayerNorm2dSplit|SgemmAGrids|Swapped|Pointwise'
s5v vmamba512 backbone/vmamba vmamba.test -test.v -test.run 'GoldenParity|BatchMatchesSingles|AnySize'
GOMAMBA_AVX512=0 s5v vmambaAVX2 backbone/vmamba vmamba.test -test.v -test.run 'GoldenParity'
echo "-- N=1 scan, 1 thread (ms/op, Gelem/s): fused forward, fused reverse+accumulate"
(cd kernels && GOMAXPROCS=1 taskset -c "${S5CPUS:-2-9}" timeout 15 "$B/kernels.test" -test.run '^$' -test.bench 'SelectiveScanDeltaProj/./fused' -test.benchtime 60x 2>/dev/null | awk '/^Benchmark/{sub(/BenchmarkSelectiveScanDeltaProj\//,"",$1); printf "%s %.3f %s\n", $1, $3/1e6, $5}')
echo "-- LayerNorm2d (us/op, helpers held) 96x56x56 192x28x28 384x14x14 768x7x7, and GEMMs of one image (ms/op GFLOP/s), at 1 and 2 threads"
for c in 1 2; do
	(cd kernels && GOMAXPROCS=$c taskset -c "${S5CPUS:-2-9}" timeout 8 "$B/kernels.test" -test.run '^$' -test.bench 'LayerNorm2dVMamba' -test.benchtime 1000x 2>/dev/null | awk -v c=$c '/^Benchmark/{v=v sprintf(" %.1f", $3/1e3)} END{print "ln2d cpu" c v}')
	(cd kernels && GOMAXPROCS=$c taskset -c "${S5CPUS:-2-9}" timeout 10 "$B/kernels.test" -test.run '^$' -test.bench 'GemmVMamba/all$' -test.benchtime 4x 2>/dev/null | awk -v c=$c '/^Benchmark/{printf "gemm-all cpu%s %.2f %s\n", c, $3/1e6, $5}')
done
unset GOMAXPROCS
s5vb() { # label, binary, extra env...
	local l=$1 b=$2; shift 2
	echo "$l $(env "$@" GOMAXPROCS=2 taskset -c "${S5CPUS:-2-9}" timeout 10 "$B/$b" bench vmamba --threads 2 --size 224 --min-time 1500ms 2>/dev/null | awk '/vmamba-tiny/{print $7, $8, $9, $11}')"
}
echo "-- vmamba-tiny 224 2 threads: img/s best-ms median-ms CPU-ms/img"
for i in 1 2 3; do s5vb old gomamba-old; s5vb new gomamba; done
echo "== s5vmamba end $(date -u +%T)"
