package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/internal/golden"
)

// hugePNG returns a PNG whose header declares w×h pixels and holds no data.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

// TestClassifyBadFiles: good images are classified, each bad one is
// reported by name with its problem, the batch goes on, and the command
// fails at the end.
func TestClassifyBadFiles(t *testing.T) {
	pre := golden.Dir(t, "preprocess")
	good, _ := filepath.Glob(filepath.Join(pre, "*.png"))
	require.NotEmpty(t, good)
	raw, err := os.ReadFile(good[0])
	require.NoError(t, err)
	dir := t.TempDir()
	bad := map[string][]byte{
		"truncated.png": raw[:len(raw)/3],
		"garbage.jpg":   []byte("this is not an image at all"),
		"huge.png":      hugePNG(100000, 100000),
		"empty.png":     nil,
	}
	var args []string
	for name, b := range bad {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		args = append(args, p)
	}
	args = append(args, good[0], filepath.Join(dir, "missing.png"))
	model := filepath.Join(golden.Dir(t, "vim"), "vim_model.pth")
	var out, errb bytes.Buffer
	err = runClassify(context.Background(), classifyFlags{model: model, topk: 3, batch: 4, json: true, quiet: true, device: "cpu"}, args, &out, &errb)
	require.ErrorContains(t, err, "5 of 6 files failed")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 6)
	got := map[string]classifyResult{}
	for _, l := range lines {
		var r classifyResult
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		got[filepath.Base(r.File)] = r
	}
	require.Len(t, got[filepath.Base(good[0])].Top, 3)
	require.Empty(t, got[filepath.Base(good[0])].Error)
	for name, want := range map[string]string{
		"truncated.png": "", "garbage.jpg": "unknown image format", "huge.png": "exceeds the limit",
		"empty.png": "", "missing.png": "no such file",
	} {
		r := got[name]
		require.NotEmpty(t, r.Error, name)
		require.Contains(t, r.Error, want, name)
		t.Logf("%s: %s", name, r.Error)
	}
}

// TestClassifyText checks the human-readable output and folder walking
// (non-images in a folder are skipped, not errors).
func TestClassifyText(t *testing.T) {
	pre := golden.Dir(t, "preprocess")
	model := filepath.Join(golden.Dir(t, "vim"), "vim_model.safetensors")
	var out, errb bytes.Buffer
	err := runClassify(context.Background(), classifyFlags{model: model, topk: 2, batch: 3, quiet: true, device: "cpu"}, []string{pre}, &out, &errb)
	require.NoError(t, err, errb.String())
	pngs, _ := filepath.Glob(filepath.Join(pre, "*.png"))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, len(pngs)) // cases.json and *.safetensors skipped
	require.Contains(t, lines[0], "class ")

	labels := filepath.Join(t.TempDir(), "labels.txt")
	require.NoError(t, os.WriteFile(labels, []byte("zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"), 0o644))
	out.Reset()
	err = runClassify(context.Background(), classifyFlags{model: model, topk: 1, batch: 1, quiet: true, device: "cpu", labels: labels}, pngs[:1], &out, &errb)
	require.NoError(t, err)
	require.Regexp(t, `: [a-z]+ \(\d\) \d+\.\d\d%`, out.String())

	err = runClassify(context.Background(), classifyFlags{model: "vim-nope", topk: 1, device: "cpu"}, pngs[:1], &out, &errb)
	require.ErrorContains(t, err, "not a preset name")
	err = runClassify(context.Background(), classifyFlags{model: model, topk: 1, device: "tpu"}, pngs[:1], &out, &errb)
	require.ErrorContains(t, err, "--device")
}
