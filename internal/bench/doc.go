// Package bench holds the measuring helpers behind `gomamba bench`: timing
// loops (best and median of repeated runs), the GEMM and selective-scan
// micro-benchmarks on the shapes the anchors use, the process's peak
// resident memory, the anchor programs in ../shared/anchors (run in the
// same process tree, so ours and theirs see the same machine load) and a
// gonum/plot chart of time against resolution.
//
// It is internal: the command line is the public face of these numbers.
// Nothing here is safe for concurrent use with itself (the measurements
// would disturb each other); run one measurement at a time.
package bench
