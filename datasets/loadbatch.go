package datasets

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/gomamba/gomamba/kernels"
)

// LoadBatch decodes the image files in paths and applies t to each,
// returning a (len(paths), C, Size, Size) tensor in path order. Files are
// decoded by up to GOMAXPROCS goroutines (each image's resize also uses the
// parallel pool). The first error (naming its file) or ctx's cancellation
// stops the work. opt configures decoding (nil for defaults).
func (t EvalTransform) LoadBatch(ctx context.Context, paths []string, opt *Options) (*kernels.Tensor, error) {
	if t.Size <= 0 {
		return nil, fmt.Errorf("datasets: eval transform size %d must be positive", t.Size)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("datasets: LoadBatch of no files")
	}
	out := kernels.New(len(paths), t.Channels(), t.Size, t.Size)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				img, err := opt.DecodeFile(paths[i])
				if err == nil {
					err = t.ApplyInto(out.Narrow0(i, 1), img)
					if err != nil {
						err = fmt.Errorf("%s: %w", paths[i], err)
					}
				}
				if err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for i := range paths {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("datasets: LoadBatch: %w", err)
	}
	return out, nil
}
