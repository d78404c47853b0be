package bench

import (
	"context"
	"slices"
	"time"
)

// Timing summarises repeated runs of one operation.
type Timing struct {
	Runs   int           // timed runs (warm-up excluded)
	Best   time.Duration // fastest run
	Median time.Duration // median run
}

// Loop is the stopping rule of Time: at least MinRuns timed runs, then more
// until MinTime has passed in timed runs or MaxRuns is reached.
type Loop struct {
	Warmup  int           // untimed runs first
	MinRuns int           // at least this many timed runs (≥ 1)
	MaxRuns int           // at most this many (0: no limit besides MinTime)
	MinTime time.Duration // keep running until this much timed work
}

// Time runs f under the loop's rule and returns its timing. It stops early,
// returning ctx's error, when ctx is done between runs, and returns f's
// first error.
func Time(ctx context.Context, l Loop, f func() error) (Timing, error) {
	for range l.Warmup {
		if err := ctx.Err(); err != nil {
			return Timing{}, err
		}
		if err := f(); err != nil {
			return Timing{}, err
		}
	}
	var runs []time.Duration
	var total time.Duration
	for len(runs) < max(l.MinRuns, 1) || (total < l.MinTime && (l.MaxRuns <= 0 || len(runs) < l.MaxRuns)) {
		if err := ctx.Err(); err != nil {
			return Timing{}, err
		}
		t0 := time.Now()
		if err := f(); err != nil {
			return Timing{}, err
		}
		d := time.Since(t0)
		runs = append(runs, d)
		total += d
	}
	slices.Sort(runs)
	return Timing{Runs: len(runs), Best: runs[0], Median: runs[len(runs)/2]}, nil
}
