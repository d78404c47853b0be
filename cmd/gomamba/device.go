package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
)

// addDeviceFlag registers --device on a command's flags.
func addDeviceFlag(f *pflag.FlagSet, dst *string) {
	f.StringVar(dst, "device", "cpu", `compute device: "cpu", "cuda" or "cuda:N"`)
}

// openBackend returns the backend named by a --device value.
func openBackend(name string) (kernels.Backend, error) {
	switch n := strings.ToLower(strings.TrimSpace(name)); {
	case n == "" || n == "cpu":
		return kernels.CPU(), nil
	case n == "cuda" || n == "gpu" || strings.HasPrefix(n, "cuda:"):
		i := 0
		if s, ok := strings.CutPrefix(n, "cuda:"); ok {
			var err error
			if i, err = strconv.Atoi(s); err != nil || i < 0 {
				return nil, fmt.Errorf("--device %q: want cuda:N with N ≥ 0", name)
			}
		}
		be, err := cuda.OpenDevice(i)
		if err != nil {
			return nil, err
		}
		return be, nil
	}
	return nil, fmt.Errorf("--device %q: want cpu, cuda or cuda:N", name)
}
