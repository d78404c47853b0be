package labels

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

//go:embed imagenet1k.txt
var imagenet1k string

//go:embed fashion_mnist.txt
var fashionMNIST string

// ImageNet1k returns the 1000 ImageNet-1k class names in class-index order
// (index 301 is "ladybug").
func ImageNet1k() []string { return splitLines(imagenet1k) }

// FashionMNIST returns the 10 Fashion-MNIST class names in label order
// (0 "T-shirt/top" … 9 "Ankle boot").
func FashionMNIST() []string { return splitLines(fashionMNIST) }

func splitLines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// MaxFileBytes bounds the size of a label file accepted by ReadFile/Parse.
const MaxFileBytes = 64 << 20

// ReadFile reads class names from path. Three forms are accepted:
//
//   - a JSON list of strings: ["tench", "goldfish", ...];
//   - a JSON object with "id2label" (a Hugging Face config.json):
//     {"id2label": {"0": "tench", "1": "goldfish", ...}} — the ids must be
//     exactly 0..n−1;
//   - plain text, one name per line (a trailing empty line and a UTF-8 BOM
//     are ignored; "\r\n" line ends are accepted).
//
// Errors name the file.
func ReadFile(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("labels: %s: %d bytes exceeds %d", path, st.Size(), MaxFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	names, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("labels: %s: %w", filepath.Base(path), err)
	}
	return names, nil
}

// Parse is ReadFile on bytes already in memory.
func Parse(b []byte) ([]string, error) {
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%d bytes exceeds %d", len(b), MaxFileBytes)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	t := bytes.TrimSpace(b)
	switch {
	case len(t) > 0 && t[0] == '[':
		var names []string
		if err := json.Unmarshal(t, &names); err != nil {
			return nil, fmt.Errorf("JSON label list: %w", err)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("empty label list")
		}
		return names, nil
	case len(t) > 0 && t[0] == '{':
		var cfg struct {
			ID2Label map[string]string `json:"id2label"`
		}
		if err := json.Unmarshal(t, &cfg); err != nil {
			return nil, fmt.Errorf("JSON config: %w", err)
		}
		if len(cfg.ID2Label) == 0 {
			return nil, fmt.Errorf("JSON object without an id2label map")
		}
		names := make([]string, len(cfg.ID2Label))
		seen := make([]bool, len(names))
		keys := make([]string, 0, len(names))
		for k := range cfg.ID2Label {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(names) || seen[i] {
				return nil, fmt.Errorf("id2label key %q: ids must be 0..%d, each once", k, len(names)-1)
			}
			seen[i] = true
			names[i] = cfg.ID2Label[k]
		}
		return names, nil
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty label file")
	}
	return strings.Split(s, "\n"), nil
}
