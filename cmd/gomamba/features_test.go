package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
)

func TestFeaturesCommand(t *testing.T) {
	pre := golden.Dir(t, "preprocess")
	pngs, _ := filepath.Glob(filepath.Join(pre, "*.png"))
	require.NotEmpty(t, pngs)
	model := filepath.Join(golden.Dir(t, "vim"), "vim_model.pth")
	out := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.png")
	require.NoError(t, os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nbroken"), 0o644))
	var so, se bytes.Buffer
	fl := featuresFlags{model: model, device: "cpu", out: out, layers: []int{0, -1}, json: true, quiet: true}
	err := runFeatures(context.Background(), fl, []string{pngs[0], bad}, &so, &se)
	require.ErrorContains(t, err, "1 of 2 files failed")
	lines := strings.Split(strings.TrimSpace(so.String()), "\n")
	require.Len(t, lines, 2)
	var r featuresResult
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &r))
	require.Empty(t, r.Error)
	require.Len(t, r.Maps, 2)
	require.Equal(t, "layers.0", r.Maps[0].Name)
	require.Equal(t, "layers.3", r.Maps[1].Name)
	f, err := checkpoint.Open(r.Out)
	require.NoError(t, err)
	defer f.Close()
	ti, ok := f.Info("layers.3")
	require.True(t, ok)
	require.Equal(t, []int{64, 4, 4}, ti.Shape)

	// --native: the map follows the image's own aspect ratio.
	so.Reset()
	fl = featuresFlags{model: model, device: "cpu", out: out, layers: []int{-1}, native: true, maxSide: 160, quiet: true}
	require.NoError(t, runFeatures(context.Background(), fl, pngs[:1], &so, &se))
	require.Contains(t, so.String(), "layers.3 [64 ")

	so.Reset()
	require.NoError(t, runFeatures(context.Background(), featuresFlags{model: model, device: "cpu", list: true}, nil, &so, &se))
	require.Equal(t, 4, strings.Count(so.String(), "stride  16"))
}
