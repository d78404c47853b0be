package labels

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestImageNet1k(t *testing.T) {
	names := ImageNet1k()
	if len(names) != 1000 {
		t.Fatalf("%d names, want 1000", len(names))
	}
	seen := map[string]int{}
	for i, n := range names {
		if n == "" || strings.TrimSpace(n) != n {
			t.Errorf("name %d %q is empty or padded", i, n)
		}
		if j, ok := seen[n]; ok {
			t.Errorf("name %q at %d and %d", n, j, i)
		}
		seen[n] = i
	}
	// Spot checks against torchvision's _IMAGENET_CATEGORIES.
	for i, want := range map[int]string{
		0: "tench", 1: "goldfish", 134: "crane bird", 301: "ladybug", 517: "crane",
		638: "maillot", 639: "maillot tank suit", 999: "toilet tissue",
	} {
		if names[i] != want {
			t.Errorf("ImageNet1k()[%d] = %q, want %q", i, names[i], want)
		}
	}
	names[0] = "changed"
	if ImageNet1k()[0] != "tench" {
		t.Fatal("ImageNet1k returned shared storage")
	}
}

func TestFashionMNIST(t *testing.T) {
	want := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	if diff := cmp.Diff(want, FashionMNIST()); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      string
	}{
		{"lines", "cat\ndog\n", []string{"cat", "dog"}, ""},
		{"crlf+bom", "\xef\xbb\xbfcat\r\ndog", []string{"cat", "dog"}, ""},
		{"json list", ` ["a b", "c"] `, []string{"a b", "c"}, ""},
		{"id2label", `{"architectures":["X"],"id2label":{"1":"dog","0":"cat","2":"eel"}}`, []string{"cat", "dog", "eel"}, ""},
		{"id2label gap", `{"id2label":{"0":"cat","2":"eel"}}`, nil, "ids must be 0..1"},
		{"id2label bad key", `{"id2label":{"x":"cat"}}`, nil, `key "x"`},
		{"object without", `{"labels":["a"]}`, nil, "without an id2label"},
		{"bad json", `["a",`, nil, "JSON label list"},
		{"empty", "\n", nil, "empty label file"},
		{"empty list", "[]", nil, "empty label list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(`{"id2label":{"0":"a","1":"b"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil || len(got) != 2 || got[1] != "b" {
		t.Fatalf("ReadFile = %v, %v", got, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"id2label":{"5":"a"}}`), 0o644)
	if _, err := ReadFile(bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("error should name the file: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none.txt")); err == nil {
		t.Fatal("missing file: no error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("cat\ndog\n"))
	f.Add([]byte(`{"id2label":{"0":"a"}}`))
	f.Add([]byte(`["a"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := Parse(b)
		if err == nil && len(names) == 0 {
			t.Fatal("no error and no names")
		}
	})
}
