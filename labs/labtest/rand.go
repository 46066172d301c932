package labtest

import (
	"fmt"
	"math/rand/v2"
)

// Rand is a seeded random source for test bodies: a test that picks "a random
// server" must pick the same one when its seed is replayed.
type Rand struct{ *rand.Rand }

func newRand(seed uint64) *Rand { return &Rand{rand.New(rand.NewPCG(seed, 0x1ab))} }

// Cmd returns the command for value v, as MIT's tests use integers.
func Cmd(v int) []byte { return fmt.Appendf(nil, "cmd-%d", v) }
