// Package builtin embeds gomamba's default image model in the binary and
// registers it with vision.RegisterDefault, so that `gomamba classify` and
// vision.Default work offline with nothing downloaded.
//
// The model is vim-micro (a Vision Mamba: patch 4 on 28×28 grayscale, 49
// patches + a middle cls token, 4 bidirectional v2 blocks of width 64,
// d_state 8; 143,562 parameters, 561 KiB) trained from scratch by
// `gomamba train` on Fashion-MNIST. Its test accuracy, the training command
// and log are in vim-micro-fmnist/config.json and train_log.jsonl and in the
// README.
//
// Import it for its side effect:
//
//	import _ "github.com/gomamba/gomamba/vision/builtin"
//
//	m, err := vision.Default()
package builtin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/gomamba/gomamba/vision"
)

// Name is the registered name of the built-in model.
const Name = "vim-micro-fmnist"

//go:embed vim-micro-fmnist/model.safetensors vim-micro-fmnist/config.json
var files embed.FS

func init() { vision.RegisterDefault(Name, Load) }

// Load loads the built-in model with the given options.
func Load(opts ...vision.Option) (*vision.Model, error) {
	dir, err := extracted()
	if err != nil {
		return nil, err
	}
	return vision.Load(dir, opts...)
}

var (
	once    sync.Once
	dirPath string
	dirErr  error
)

// extracted writes the embedded files once per content hash to a cache
// folder (os.UserCacheDir()/gomamba/builtin/<hash>, or the temp folder when
// there is no writable cache) so that the checkpoint reader can map them.
func extracted() (string, error) {
	once.Do(func() { dirPath, dirErr = extract() })
	return dirPath, dirErr
}

func extract() (string, error) {
	names := []string{"model.safetensors", "config.json"}
	h := sha256.New()
	data := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := files.ReadFile("vim-micro-fmnist/" + n)
		if err != nil {
			return "", fmt.Errorf("builtin: %w", err)
		}
		h.Write(b)
		data[n] = b
	}
	tag := hex.EncodeToString(h.Sum(nil))[:16]
	var bases []string
	if c, err := os.UserCacheDir(); err == nil {
		bases = append(bases, filepath.Join(c, "gomamba", "builtin"))
	}
	bases = append(bases, filepath.Join(os.TempDir(), "gomamba-builtin"))
	var errs []error
	for _, base := range bases {
		dir := filepath.Join(base, Name+"-"+tag)
		if complete(dir, data) {
			return dir, nil
		}
		if err := writeAll(dir, data); err != nil {
			errs = append(errs, err)
			continue
		}
		return dir, nil
	}
	return "", fmt.Errorf("builtin: cannot write the built-in model to a cache folder: %w", errors.Join(errs...))
}

func complete(dir string, data map[string][]byte) bool {
	for n, b := range data {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil || st.Size() != int64(len(b)) {
			return false
		}
	}
	return true
}

// writeAll writes the files into a fresh temporary sibling folder and
// renames it into place, so concurrent processes never see a partial copy.
func writeAll(dir string, data map[string][]byte) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for n, b := range data {
		if err := os.WriteFile(filepath.Join(tmp, n), b, 0o644); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if complete(dir, data) { // another process won the race
			return nil
		}
		return err
	}
	return nil
}

// Files returns the embedded files (model.safetensors, config.json) for
// callers that want to copy the model elsewhere.
func Files() fs.FS {
	sub, _ := fs.Sub(files, "vim-micro-fmnist")
	return sub
}
