package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The model: each key holds a value and the version (log index) of its
// last write. A put whose outcome is unknown (the request failed after it
// may have reached the leader) leaves the version unknown until a read pins
// it. Versions must grow in linearization order.
type opIn struct {
	Key   string
	Put   bool
	Value string
}

type opOut struct {
	Unknown bool
	Found   bool
	Value   string
	Version uint64
}

type keyState struct {
	Present  bool
	Value    string
	Version  uint64
	VerKnown bool
}

var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(opIn).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return keyState{VerKnown: true} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(keyState), input.(opIn), output.(opOut)
		if in.Put {
			if out.Unknown {
				return true, keyState{Present: true, Value: in.Value}
			}
			if st.VerKnown && out.Version <= st.Version {
				return false, st
			}
			return true, keyState{Present: true, Value: in.Value, Version: out.Version, VerKnown: true}
		}
		if out.Found != st.Present || out.Found && out.Value != st.Value {
			return false, st
		}
		if !out.Found {
			return true, st
		}
		if st.VerKnown {
			return out.Version == st.Version, st
		}
		st.Version, st.VerKnown = out.Version, true
		return true, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(opIn), output.(opOut)
		switch {
		case in.Put && out.Unknown:
			return fmt.Sprintf("put(%s, %s) → ?", in.Key, in.Value)
		case in.Put:
			return fmt.Sprintf("put(%s, %s) → v%d", in.Key, in.Value, out.Version)
		case !out.Found:
			return fmt.Sprintf("get(%s) → not found", in.Key)
		}
		return fmt.Sprintf("get(%s) → %s v%d", in.Key, out.Value, out.Version)
	},
}

// Concurrent clients write and read a few keys through every node while the
// leader is killed and restarted; porcupine checks the history.
func TestConcurrentClientsLinearizableAcrossALeaderKill(t *testing.T) {
	c := newCluster(t, 3)
	c.leader(15 * time.Second)
	var (
		mu      sync.Mutex
		history []porcupine.Operation
		wg      sync.WaitGroup
	)
	start := time.Now()
	stop := make(chan struct{})
	for client := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(client), 99))
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				nd := c.nodes[rng.IntN(len(c.nodes))]
				in := opIn{Key: fmt.Sprintf("key%d", rng.IntN(4)), Put: rng.IntN(2) == 0, Value: fmt.Sprintf("c%d-%d", client, seq)}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				call := time.Since(start)
				var out opOut
				var err error
				if in.Put {
					out.Version, err = put(ctx, nd, in.Key, in.Value)
				} else {
					out.Value, out.Version, err = get(ctx, nd, in.Key, false)
					out.Found = err == nil
					if errors.Is(err, errNotFound) {
						err = nil
					}
				}
				cancel()
				ret := time.Since(start)
				if err != nil {
					if !in.Put || errors.Is(err, syscall.ECONNREFUSED) {
						// A failed read constrains nothing; a refused
						// connection never reached the node.
						time.Sleep(50 * time.Millisecond)
						continue
					}
					// The put may or may not have been applied.
					out, ret = opOut{Unknown: true}, math.MaxInt64
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: int64(call), Return: int64(ret)})
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond) // the node is down: back off
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	lead := c.leader(5 * time.Second)
	c.kill(lead)
	time.Sleep(1500 * time.Millisecond)
	c.start(lead)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()

	known := 0
	for _, op := range history {
		if op.Return != math.MaxInt64 {
			known++
		}
	}
	if known < 100 {
		t.Fatalf("only %d operations completed: the cluster barely served", known)
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, history, 60*time.Second)
	if res != porcupine.Ok {
		path := filepath.Join(t.TempDir(), "history.html")
		if f, err := os.Create(path); err == nil {
			_ = porcupine.Visualize(kvModel, info, f)
			f.Close()
		}
		t.Fatalf("history of %d operations (%d known): porcupine says %v; visualisation: %s", len(history), known, res, path)
	}
	t.Logf("%d operations (%d with a known outcome) linearizable", len(history), known)
}
