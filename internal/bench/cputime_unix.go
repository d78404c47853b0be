//go:build unix

package bench

import (
	"syscall"
	"time"
)

// CPUTime returns the user plus system CPU time the process has used so
// far, all threads together, and whether it could be read.
func CPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
