package storage

import (
	"fmt"
	"testing"
)

// Realistic sizes for the kv state machine: 16-byte keys, 256-byte values.
const (
	benchKeys     = 10000
	benchValueLen = 256
)

func benchKey(i int) []byte { return fmt.Appendf(nil, "key/%012d", i) } // 16 bytes

var benchValue = func() []byte {
	v := make([]byte, benchValueLen)
	for i := range v {
		v[i] = byte(i * 7)
	}
	return v
}()

// benchEngine opens an engine of kind holding benchKeys entries.
func benchEngine(b *testing.B, kind string) Engine {
	e, err := Open(kind, b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	var batch Batch
	for i := 0; i < benchKeys; i++ {
		batch.Put(benchKey(i), benchValue)
		if batch.Len() == 1000 {
			if err := e.Apply(&batch, false); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	if err := e.Apply(&batch, true); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkEngine runs each operation against each engine side by side.
// Put and Batch100 are measured both without and with fsync.
func BenchmarkEngine(b *testing.B) {
	for _, k := range engineKinds {
		b.Run(k.name, func(b *testing.B) {
			for _, sync := range []bool{false, true} {
				name := map[bool]string{false: "nosync", true: "sync"}[sync]
				b.Run("Put1/"+name, func(b *testing.B) {
					e := benchEngine(b, k.name)
					var batch Batch
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						batch.Reset()
						batch.Put(benchKey(benchKeys+i), benchValue)
						if err := e.Apply(&batch, sync); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("Batch100/"+name, func(b *testing.B) {
					e := benchEngine(b, k.name)
					var batch Batch
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						batch.Reset()
						for j := 0; j < 100; j++ {
							batch.Put(benchKey(benchKeys+i*100+j), benchValue)
						}
						if err := e.Apply(&batch, sync); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("Get", func(b *testing.B) {
				e := benchEngine(b, k.name)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if _, err := e.Get(benchKey((i * 7919) % benchKeys)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Scan100", func(b *testing.B) {
				e := benchEngine(b, k.name)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					it, err := e.Iter(IterOptions{LowerBound: benchKey((i * 7919) % (benchKeys - 100)), Limit: 100})
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for it.Next() {
						n += len(it.Value())
					}
					if err := it.Close(); err != nil || n != 100*benchValueLen {
						b.Fatal(err, n)
					}
				}
			})
		})
	}
}
