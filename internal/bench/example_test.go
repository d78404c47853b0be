package bench_test

import (
	"fmt"

	"github.com/gomamba/gomamba/internal/bench"
)

// The anchors print one line per shape; ParseFigure reads the figure.
func ExampleParseFigure() {
	v, err := bench.ParseFigure("sgemm 1024 1024 1024 threads=1 gflops=152.3\n", "gflops")
	fmt.Println(v, err)
	s := bench.GemmShapes[0]
	fmt.Println(s, s.Flop()/1e6, "Mflop", bench.GemmReps(s), "reps")
	// Output:
	// 152.3 <nil>
	// 197×768×192 58.097664 Mflop 344 reps
}
