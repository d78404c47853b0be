//go:build unix

package deit

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) this process has used, a
// steadier measure than wall time on a shared, overloaded machine.
func processCPU() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
