//go:build !unix

package bench

import "time"

// CPUTime returns the user plus system CPU time the process has used so
// far; it is not available on this system (false).
func CPUTime() (time.Duration, bool) { return 0, false }
