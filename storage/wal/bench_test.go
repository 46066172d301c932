package wal

import (
	"fmt"
	"testing"

	"github.com/minikv-go/minikv/raft"
)

// BenchmarkSave measures one Save with its own fsync, for 1 and 64 entries
// of 256 bytes, against group commit: 64 Saves of one entry, then one Sync
// (one op = the 64 saves and the sync).
func BenchmarkSave(b *testing.B) {
	data := make([]byte, 256)
	run := func(b *testing.B, perSave, saves int, sync bool) {
		w, _, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		ents := make([]raft.Entry, perSave)
		next := uint64(1)
		b.SetBytes(int64(perSave * saves * len(data)))
		b.ResetTimer()
		for range b.N {
			for range saves {
				for i := range ents {
					ents[i] = raft.Entry{Term: 1, Index: next, Data: data}
					next++
				}
				if err := w.Save(raft.HardState{Term: 1, Vote: 1, Commit: next - 1}, ents, sync); err != nil {
					b.Fatal(err)
				}
			}
			if !sync {
				if err := w.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*perSave*saves)/b.Elapsed().Seconds(), "entries/s")
	}
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("entries=%d/sync", n), func(b *testing.B) { run(b, n, 1, true) })
	}
	b.Run("entries=1x64/group-commit", func(b *testing.B) { run(b, 1, 64, false) })
}
