package kvlab

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/sim"
)

// TestExactlyOnceUnderDuplication: a client that did not hear back sends
// its command again, and the network duplicates messages besides. The
// session (kv/session.go) must make a resent command a duplicate: answered
// with the first result, Duplicate set, nothing applied again.
//
// (*sim.Clerk).Resend sends the clerk's last command again, unchanged (same
// session, same sequence number), through a node of the test's choosing:
// what a client does when the reply to its first attempt was lost. MIT's
// unreliable network duplicates client requests; ours duplicates Raft's
// messages (20% here), and Resend plays the duplicated request.
func TestExactlyOnceUnderDuplication(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewKVCluster(t, servers, labtest.WithOptions(func(o *sim.Options) {
			o.Net.Dup = 0.2
			o.Net.MaxDelay = 10 * time.Millisecond
		}))
		rnd := t.Rand()
		ck, other := c.MakeClerk(), c.MakeClerk()
		key := ck.Key("counter")

		// An unconditional put, resent through every server in turn.
		v := ck.MustPut(key, "1")
		for i := range servers {
			res := resend(t, c, ck, i)
			checkDuplicate(t, fmt.Sprintf("put(%q, 1) applied at index %d, resent through server %d", key, v, i), res, v)
			checkGet(t, ck, key, "1", v)
		}

		// Rounds of puts and conditional puts, each resent a few times
		// through random servers while another clerk writes too.
		for round := range 20 {
			prev := v
			value := string(rune('a' + round))
			if round%2 == 0 {
				v = ck.MustPutIf(key, value, prev)
			} else {
				v = ck.MustPut(key, value)
			}
			other.MustPut(other.Key("noise"), value)
			for range 1 + rnd.IntN(3) {
				i := rnd.IntN(servers)
				res := resend(t, c, ck, i)
				checkDuplicate(t, fmt.Sprintf("round %d: a write applied at index %d, resent through server %d", round, v, i), res, v)
			}
			checkGet(t, ck, key, value, v)
		}

		// A create-only put, resent after another clerk wrote the key: a
		// second application would now fail its condition (the key
		// exists), and a client that saw that failure would wrongly
		// conclude its create lost the race.
		shared := ck.Key("shared")
		created := ck.MustPutIf(shared, "mine", 0)
		overwritten := other.MustPut(shared, "theirs")
		res := resend(t, c, ck, rnd.IntN(servers))
		checkDuplicate(t, fmt.Sprintf("put(%q, mine) if absent, applied at %d, overwritten by another clerk at %d, then resent", shared, created, overwritten), res, created)
		checkGet(t, ck, shared, "theirs", overwritten)

		// A compare-and-set resent after another clerk changed the key.
		cas := ck.MustPutIf(shared, "mine again", overwritten)
		later := other.MustPut(shared, "theirs again")
		res = resend(t, c, ck, rnd.IntN(servers))
		checkDuplicate(t, fmt.Sprintf("put(%q) if version %d, applied at %d, then the key was written at %d, then the put was resent", shared, overwritten, cas, later), res, cas)
		checkGet(t, ck, shared, "theirs again", later)

		// A delete resent after the key was written again must not delete
		// the new value.
		if !ck.MustDelete(key) {
			t.Fatalf("delete(%q): the key was not there", key)
		}
		again := other.MustPut(key, "back")
		if res := resend(t, c, ck, rnd.IntN(servers)); !res.Duplicate {
			t.Fatalf("delete(%q), resent after another clerk wrote the key again: %s; want a duplicate: the delete was applied again", key, describe(res))
		}
		checkGet(t, ck, key, "back", again)
	})
}

// checkDuplicate checks that res answers a resent write that first applied
// at index, with ok: it must be marked a duplicate and carry the first
// result, the one the session recorded, index and versions included.
func checkDuplicate(t *labtest.T, what string, res kv.Result, index uint64) {
	t.Helper()
	switch {
	case !res.Duplicate:
		t.Fatalf("%s: %s; want a duplicate of the first result (index %d): the write was applied again", what, describe(res), index)
	case res.Index != index || res.Code != kv.CodeOK || len(res.Ops) != 1 || res.Ops[0].Version != index:
		t.Fatalf("%s: %s; a duplicate must carry the first result, as the session recorded it: ok, index and version %d", what, describe(res), index)
	}
}

// resend sends ck's last command again through server i.
func resend(t *labtest.T, c *labtest.KVCluster, ck *labtest.Clerk, i int) kv.Result {
	t.Helper()
	res, err := ck.Resend(c.ID(i))
	if err != nil {
		t.Fatalf("resend through server %d: %v", i, err)
	}
	return res
}

// describe says what a result reports, for a failure message.
func describe(res kv.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "applied at index %d", res.Index)
	if err := res.Err(); err != nil {
		fmt.Fprintf(&b, ", failed: %v", err)
	}
	for i, op := range res.Ops {
		fmt.Fprintf(&b, ", op %d version %d", i, op.Version)
	}
	if res.Duplicate {
		b.WriteString(", a duplicate")
	} else {
		b.WriteString(", not a duplicate")
	}
	return b.String()
}
