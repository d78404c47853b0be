package mamba

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

const tol = 1e-4

// lmFixtures discovers the LM fixture sets: every folder of the golden root
// with an hf/ checkpoint and an io.safetensors. mamba_lm and mambabyte must
// be among them (the test fails, never skips, when they are missing).
func lmFixtures(t *testing.T) []string {
	t.Helper()
	golden.Dir(t, "mamba_lm")
	golden.Dir(t, "mambabyte")
	root := golden.Root()
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var sets []string
	for _, e := range ents {
		d := filepath.Join(root, e.Name())
		if st, err := os.Stat(filepath.Join(d, "hf")); err != nil || !st.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "io.safetensors")); err != nil {
			continue
		}
		sets = append(sets, d)
	}
	sort.Strings(sets)
	if len(sets) < 2 {
		t.Fatalf("found %d LM fixture sets under %s, want at least mamba_lm and mambabyte", len(sets), root)
	}
	return sets
}

// layouts lists the checkpoint folders of a fixture set (hf/ always,
// mamba_ssm/ when present).
func layouts(t *testing.T, set string) []string {
	dirs := []string{filepath.Join(set, "hf")}
	if _, err := os.Stat(filepath.Join(set, "mamba_ssm", "config.json")); err == nil {
		dirs = append(dirs, filepath.Join(set, "mamba_ssm"))
	}
	return dirs
}

type fixture struct {
	f *checkpoint.File
}

func openFixture(t *testing.T, path string) *fixture {
	t.Helper()
	f, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &fixture{f}
}

func (fx *fixture) tensor(t *testing.T, name string) *kernels.Tensor {
	t.Helper()
	x, err := fx.f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (fx *fixture) ids(t *testing.T, name string) [][]int {
	t.Helper()
	v, shape, err := fx.f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 {
		t.Fatalf("%s: shape %v, want 2-D", name, shape)
	}
	out := make([][]int, shape[0])
	for b := range out {
		for _, x := range v[b*shape[1] : (b+1)*shape[1]] {
			out[b] = append(out[b], int(x))
		}
	}
	return out
}

func TestGoldenLM(t *testing.T) {
	for _, set := range lmFixtures(t) {
		for _, dir := range layouts(t, set) {
			name := filepath.Base(set) + "/" + filepath.Base(dir)
			t.Run(name, func(t *testing.T) {
				m, err := Load(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				io := openFixture(t, filepath.Join(set, "io.safetensors"))
				ids := io.ids(t, "input_ids")

				// Full forward: logits and every hidden state.
				hid := openFixture(t, filepath.Join(set, "hidden_states.safetensors"))
				seen := map[string]bool{}
				logits, err := m.Forward(context.Background(), ids, &ForwardOptions{Hidden: func(n string, x *kernels.Tensor) {
					if _, ok := hid.f.Info(n); !ok {
						return
					}
					seen[n] = true
					if d := maxDiff(t, n, hid.tensor(t, n), x); d > tol {
						t.Errorf("hidden %s: max |diff| %.3g > %g", n, d, tol)
					} else {
						t.Logf("hidden %-14s max |diff| %.3g", n, d)
					}
				}})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range hid.f.Names() {
					if !seen[n] {
						t.Errorf("hidden state %s of the fixture was never produced", n)
					}
				}
				if d := maxDiff(t, "logits", io.tensor(t, "logits"), logits); d > tol {
					t.Errorf("logits: max |diff| %.3g > %g", d, tol)
				} else {
					t.Logf("logits %v max |diff| %.3g", logits.Shape(), d)
				}

				// Greedy generation through prefill + recurrent steps.
				prompt := io.ids(t, "prompt_ids")
				want := io.ids(t, "greedy_new_tokens")[0]
				stepWant := io.tensor(t, "greedy_step_logits")
				v := stepWant.Dim(1)
				st, err := m.NewState(1)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				lg, err := st.Prefill(ctx, prompt)
				if err != nil {
					t.Fatal(err)
				}
				var got []int
				worst := 0.0
				for i := range want {
					row := kernels.MustFromSlice(stepWant.Data[i*v:(i+1)*v], 1, v)
					worst = max(worst, maxDiff(t, fmt.Sprintf("step %d", i), row, lg))
					id := argmax(lg.Data)
					got = append(got, id)
					if lg, err = st.Step(ctx, []int{want[i]}); err != nil { // teacher-forced on the golden tokens
						t.Fatal(err)
					}
				}
				if worst > tol {
					t.Errorf("greedy_step_logits (prefill + recurrent steps): max |diff| %.3g > %g", worst, tol)
				} else {
					t.Logf("greedy_step_logits %d steps max |diff| %.3g", len(want), worst)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("greedy tokens (step mode)\n got %v\nwant %v", got, want)
				}

				// The public Generate gives the same tokens.
				g, err := m.Generate(ctx, prompt, GenerateOptions{MaxNewTokens: len(want)})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(g.Tokens[0]) != fmt.Sprint(want) {
					t.Errorf("Generate greedy tokens\n got %v\nwant %v", g.Tokens[0], want)
				}
			})
		}
	}
}
