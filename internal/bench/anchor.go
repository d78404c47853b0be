package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoAnchor reports that the anchors' run script was not found.
var ErrNoAnchor = errors.New("bench: anchor script not found")

// FindAnchor returns the path of the anchors' run script: $GOMAMBA_ANCHORS/run
// when the variable is set, else ../shared/anchors/run relative to the
// module root (found by walking up from the working directory to go.mod),
// else ../shared/anchors/run relative to the working directory. It returns
// ErrNoAnchor (wrapped, naming the places looked at) when none exists.
func FindAnchor() (string, error) {
	var tried []string
	try := func(p string) (string, bool) {
		tried = append(tried, p)
		st, err := os.Stat(p)
		return p, err == nil && !st.IsDir()
	}
	if dir := os.Getenv("GOMAMBA_ANCHORS"); dir != "" {
		if p, ok := try(filepath.Join(dir, "run")); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s", ErrNoAnchor, strings.Join(tried, ", "))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				if p, ok := try(filepath.Join(d, "..", "shared", "anchors", "run")); ok {
					return p, nil
				}
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
		if p, ok := try(filepath.Join(wd, "..", "shared", "anchors", "run")); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: looked at %s (set GOMAMBA_ANCHORS)", ErrNoAnchor, strings.Join(tried, ", "))
}

// RunAnchor runs the anchor script with args (for example GemmShape.Args)
// on the given number of OpenBLAS threads and returns the figure named key
// in its output ("gflops" for sgemm, "elems_per_s" for scan).
func RunAnchor(ctx context.Context, script string, threads int, key string, args ...string) (float64, error) {
	full := append(append([]string{}, args...), "--threads", strconv.Itoa(max(threads, 1)))
	cmd := exec.CommandContext(ctx, script, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("bench: anchor %s %s: %w: %s", script, strings.Join(full, " "), err, strings.TrimSpace(stderr.String()))
	}
	v, err := ParseFigure(string(out), key)
	if err != nil {
		return 0, fmt.Errorf("bench: anchor %s %s: %w", script, strings.Join(full, " "), err)
	}
	return v, nil
}

// ParseFigure returns the value of the last "key=value" field in out.
func ParseFigure(out, key string) (float64, error) {
	found := false
	var v float64
	for _, f := range strings.Fields(out) {
		if s, ok := strings.CutPrefix(f, key+"="); ok {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, fmt.Errorf("figure %s=%q: %w", key, s, err)
			}
			v, found = x, true
		}
	}
	if !found {
		return 0, fmt.Errorf("no %s= in output %q", key, strings.TrimSpace(out))
	}
	return v, nil
}
