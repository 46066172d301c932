package store_test

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minikv-go/minikv/s3/store"
)

// The benchmarks run a single node on the pebble engine (a node's
// default) with the store's default options: 1 MiB chunks, objects up to
// 64 KiB inline.
//
//	go test -run '^$' -bench . -benchtime 3s ./s3/store/

var benchSizes = []int{4 << 10, 64 << 10, 1 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// clients runs op b.N times in all, from n goroutines.
func clients(b *testing.B, n int, op func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkPutObject(b *testing.B) {
	for _, size := range benchSizes {
		for _, c := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", sizeName(size), c), func(b *testing.B) {
				e := newEnvEngine(b, "pebble", func(o *store.Options) { *o = store.Options{} })
				bucket := e.bucket("bench")
				data := randomBytes(size, 1)
				b.SetBytes(int64(size))
				clients(b, c, func(i int) error {
					_, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: bucket, Key: fmt.Sprintf("obj/%08d", i),
						Body: bytes.NewReader(data), Size: int64(size)})
					return err
				})
			})
		}
	}
}

func BenchmarkGetObject(b *testing.B) {
	for _, size := range benchSizes {
		for _, c := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", sizeName(size), c), func(b *testing.B) {
				e := newEnvEngine(b, "pebble", func(o *store.Options) { *o = store.Options{} })
				bucket := e.bucket("bench")
				const objects = 64
				for i := range objects {
					e.put(bucket, fmt.Sprintf("obj/%d", i), randomBytes(size, uint64(i)))
				}
				b.SetBytes(int64(size))
				clients(b, c, func(i int) error {
					_, body, err := e.s.GetObject(e.ctx, bucket, fmt.Sprintf("obj/%d", i%objects), nil)
					if err != nil {
						return err
					}
					defer body.Close()
					n, err := io.Copy(io.Discard, body)
					if err == nil && n != int64(size) {
						err = fmt.Errorf("read %d bytes", n)
					}
					return err
				})
			})
		}
	}
}
