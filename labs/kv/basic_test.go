package kvlab

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/sim"
)

// TestBasic: one clerk on a healthy cluster. Puts, gets, deletes,
// compare-and-set and atomic batches do what kv/doc.go says: a key's
// version is the log index of the entry that last wrote it, a conditional
// put applies only at the version it names, and a batch whose condition
// fails writes nothing.
func TestBasic(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		c := labtest.NewKVCluster(t, 5)
		ck := c.MakeClerk()
		a, b, x, y := ck.Key("a"), ck.Key("b"), ck.Key("x"), ck.Key("y")

		if it, ok := ck.MustGet(a); ok {
			t.Fatalf("get(%q) on an empty store = %q (version %d); want not found", a, it.Value, it.Version)
		}
		v1 := ck.MustPut(a, "1")
		if v1 == 0 {
			t.Fatalf("put(%q) returned version 0; a present key's version is the (positive) log index that wrote it", a)
		}
		checkGet(t, ck, a, "1", v1)
		// The version is the log index of the entry that wrote the key: the
		// leader's log holds the clerk's put there.
		checkEntry(t, c, v1, a, "1")

		v2 := ck.MustPut(a, "2")
		if v2 <= v1 {
			t.Fatalf("second put(%q) got version %d, not above the first's %d: versions are log indices and grow with every write", a, v2, v1)
		}
		checkGet(t, ck, a, "2", v2)

		// Compare-and-set: at a stale version it fails and writes nothing.
		_, err := ck.PutIf(a, "3", v1)
		checkMismatch(t, err, fmt.Sprintf("put(%q, 3) if version %d", a, v1), v1, v2)
		checkGet(t, ck, a, "2", v2)
		// At the current version it applies.
		v3 := ck.MustPutIf(a, "3", v2)
		if v3 <= v2 {
			t.Fatalf("put(%q) if version %d got version %d; want above %d", a, v2, v3, v2)
		}
		checkGet(t, ck, a, "3", v3)
		// Version 0 means "the key must not exist": create-only.
		_, err = ck.PutIf(a, "4", 0)
		checkMismatch(t, err, fmt.Sprintf("put(%q, 4) if absent", a), 0, v3)
		checkGet(t, ck, a, "3", v3)
		vb := ck.MustPutIf(b, "b", 0)
		checkGet(t, ck, b, "b", vb)

		// Delete reports whether the key existed; a deleted key is gone,
		// its version back to 0.
		if !ck.MustDelete(a) {
			t.Fatalf("delete(%q) of a present key reported it absent", a)
		}
		if it, ok := ck.MustGet(a); ok {
			t.Fatalf("get(%q) after delete = %q (version %d); want not found", a, it.Value, it.Version)
		}
		if ck.MustDelete(a) {
			t.Fatalf("delete(%q) of an absent key reported it present", a)
		}
		_, err = ck.PutIf(a, "5", v3)
		checkMismatch(t, err, fmt.Sprintf("put(%q, 5) if version %d, after the delete", a, v3), v3, 0)
		v5 := ck.MustPutIf(a, "5", 0)
		checkGet(t, ck, a, "5", v5)

		// A batch is atomic: a failed condition on its second op keeps its
		// first op from being written too.
		_, err = ck.Batch(
			kv.Op{Type: kv.OpPut, Key: []byte(x), Value: []byte("x1")},
			kv.Op{Type: kv.OpPut, Key: []byte(y), Value: []byte("y1"), CheckVersion: true, IfVersion: vb},
		)
		checkMismatch(t, err, fmt.Sprintf("batch(put %q, put %q if version %d)", x, y, vb), vb, 0)
		if it, ok := ck.MustGet(x); ok {
			t.Fatalf("a batch whose second op failed its condition wrote its first op anyway: get(%q) = %q (version %d)", x, it.Value, it.Version)
		}
		// A batch that applies gives every key it writes the same version,
		// its log index, and its gets see the writes before them.
		res, err := ck.Batch(
			kv.Op{Type: kv.OpPut, Key: []byte(x), Value: []byte("x2")},
			kv.Op{Type: kv.OpPut, Key: []byte(y), Value: []byte("y2"), CheckVersion: true, IfVersion: 0},
			kv.Op{Type: kv.OpGet, Key: []byte(x)},
			kv.Op{Type: kv.OpGet, Key: []byte(b)},
		)
		if err != nil {
			t.Fatalf("batch(put x, put y if absent, get x, get b): %v", err)
		}
		if res.Ops[0].Version != res.Index || res.Ops[1].Version != res.Index {
			t.Fatalf("a batch at index %d gave its keys versions %d and %d; want both %d", res.Index, res.Ops[0].Version, res.Ops[1].Version, res.Index)
		}
		if g := res.Ops[2]; !g.Found || string(g.Value) != "x2" || g.Version != res.Index {
			t.Fatalf("the batch's get(x) after its put(x, x2) saw found=%v %q version %d; want x2 at %d", g.Found, g.Value, g.Version, res.Index)
		}
		if g := res.Ops[3]; !g.Found || string(g.Value) != "b" || g.Version != vb {
			t.Fatalf("the batch's get(b) saw found=%v %q version %d; want b at %d", g.Found, g.Value, g.Version, vb)
		}
		checkGet(t, ck, x, "x2", res.Index)
		checkGet(t, ck, y, "y2", res.Index)

		// A scan of the clerk's keys sees exactly these, in key order.
		page, err := ck.Scan(kv.ScanRequest{Prefix: []byte(ck.Key(""))})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		want := []struct {
			key, value string
			version    uint64
		}{{a, "5", v5}, {b, "b", vb}, {x, "x2", res.Index}, {y, "y2", res.Index}}
		if len(page.Items) != len(want) {
			t.Fatalf("scan of %q returned %d items; want %d", ck.Key(""), len(page.Items), len(want))
		}
		for i, w := range want {
			if it := page.Items[i]; string(it.Key) != w.key || string(it.Value) != w.value || it.Version != w.version {
				t.Fatalf("scan item %d = %q=%q (version %d); want %q=%q (version %d)", i, it.Key, it.Value, it.Version, w.key, w.value, w.version)
			}
		}

		// One session, numbered 1, 2, 3...: one sequence number per command,
		// reads (which do not go through the log) excluded.
		if s := ck.Session(); s.ClientID == 0 || s.Seq != 12 {
			t.Fatalf("after 12 commands the clerk's session is %+v; want a session id and sequence number 12", s)
		}
	})
}

// checkGet reads key through the clerk and checks value and version.
func checkGet(t *labtest.T, ck *labtest.Clerk, key, value string, version uint64) {
	t.Helper()
	it, ok := ck.MustGet(key)
	switch {
	case !ok:
		t.Fatalf("get(%q): not found; want %q at version %d", key, value, version)
	case string(it.Value) != value || it.Version != version:
		t.Fatalf("get(%q) = %q at version %d; want %q at version %d", key, it.Value, it.Version, value, version)
	}
}

// checkMismatch checks that err is a version mismatch, with the version the
// op expected and the key's actual version (0: absent).
func checkMismatch(t *labtest.T, err error, what string, expected, actual uint64) {
	t.Helper()
	var vm *kv.VersionMismatchError
	if !errors.As(err, &vm) {
		t.Fatalf("%s: got error %v; want a version mismatch (expected %d, actual %d): the condition was not checked", what, err, expected, actual)
	}
	if vm.Expected != expected || vm.Actual != actual {
		t.Fatalf("%s: version mismatch says expected %d, actual %d; want expected %d, actual %d", what, vm.Expected, vm.Actual, expected, actual)
	}
}

// checkEntry checks that the leader's log holds, at index, the put of value
// under key.
func checkEntry(t *labtest.T, c *labtest.KVCluster, index uint64, key, value string) {
	t.Helper()
	lead := c.WaitLeader()
	st, _ := c.Status(lead)
	if index < st.FirstIndex || index > st.LastIndex {
		t.Fatalf("index %d is not in the leader's log [%d, %d]", index, st.FirstIndex, st.LastIndex)
	}
	e := c.Raft(lead).Entries(index, index+1)[0]
	cmd, err := kv.DecodeCommand(e.Data)
	if err != nil {
		t.Fatalf("entry %d: %v", index, err)
	}
	if len(cmd.Ops) != 1 || cmd.Ops[0].Type != kv.OpPut || string(cmd.Ops[0].Key) != key || string(cmd.Ops[0].Value) != value {
		t.Fatalf("entry %d is %+v; want the put of %q under %q", index, cmd, value, key)
	}
}

// TestSpeed: one clerk doing operations one after the other on a healthy
// cluster gets through several per heartbeat interval, measured in virtual
// time, so the result is the same on any machine. MIT asks for 3 puts per
// heartbeat interval. In the simulator a put takes one round trip from the
// leader to a follower plus two fsyncs, about 5.6 ms of virtual time, a
// bit over 5 per 30 ms heartbeat interval; a read (ReadIndex, one heartbeat
// round, no fsync) about 3.6 ms, over 8 per interval. A leader that waited
// for the next heartbeat to send new entries, or to tell followers what
// committed before it answered, would manage about one.
func TestSpeed(t *testing.T) {
	const (
		ops         = 300
		putsPerBeat = 4
		getsPerBeat = 6
	)
	labtest.ForSeeds(t, 3, func(t *labtest.T) {
		c := labtest.NewKVCluster(t, 3)
		ck := c.MakeClerk()
		key := ck.Key("speed")
		c.CheckOneLeader()
		ck.MustPut(key, "warm-up") // opens the session
		hb := c.HeartbeatInterval()

		start := c.Now()
		for i := range ops {
			ck.MustPut(key, string(rune('a'+i%26)))
		}
		took := c.Now() - start
		if rate := perBeat(ops, took, hb); rate < putsPerBeat {
			t.Fatalf("%d puts took %v of virtual time: %.2f per heartbeat interval (%v); want at least %d", ops, took, rate, hb, putsPerBeat)
		} else {
			t.Logf("%d puts in %v of virtual time: %.2f per heartbeat interval", ops, took, rate)
		}

		start = c.Now()
		for range ops {
			ck.MustGet(key)
		}
		took = c.Now() - start
		if rate := perBeat(ops, took, hb); rate < getsPerBeat {
			t.Fatalf("%d gets took %v of virtual time: %.2f per heartbeat interval (%v); want at least %d", ops, took, rate, hb, getsPerBeat)
		} else {
			t.Logf("%d gets in %v of virtual time: %.2f per heartbeat interval", ops, took, rate)
		}
	})
}

func perBeat(ops int, took, hb time.Duration) float64 {
	return float64(ops) * float64(hb) / float64(took)
}

// TestTTLExpiresOnEveryReplica: a key written with a TTL expires by the
// state machine's clock, which is the time the leader stamped on the
// commands it proposed, never a replica's own. Every replica answers with
// the same expiry time, and the key is gone on all of them once the leader's
// clock tick passes it, with no write needed. A follower cut off before
// then still holds the key: its clock is the log's, and it has not applied
// the tick yet.
func TestTTLExpiresOnEveryReplica(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewKVCluster(t, servers)
		ck := c.MakeClerk()
		key, plain := ck.Key("lease"), ck.Key("plain")
		const ttl = 300 * time.Millisecond
		ck.MustPut(plain, "stays")
		leader := c.CheckOneLeader()
		lagger := (leader + 1) % servers

		before := c.Now()
		res, err := ck.Batch(kv.Op{Type: kv.OpPut, Key: []byte(key), Value: []byte("v"), TTL: ttl})
		if err != nil {
			t.Fatalf("put(%q) with TTL %v: %v", key, ttl, err)
		}
		after := c.Now()
		// The simulator stamps commands with its virtual time (plus one
		// nanosecond) as the leader's clock.
		lo, hi := int64(before)+int64(ttl), int64(after)+int64(ttl)+1
		var expires int64
		for i := range servers {
			it := getOn(t, c, i, key)
			if it == nil {
				t.Fatalf("server %d: get(%q) right after the put: not found", i, key)
			}
			if it.Version != res.Index {
				t.Fatalf("server %d: get(%q) version %d; want %d", i, key, it.Version, res.Index)
			}
			if expires == 0 {
				expires = it.ExpiresAt
			}
			if it.ExpiresAt != expires || it.ExpiresAt < lo || it.ExpiresAt > hi {
				t.Fatalf("server %d: %q expires at %d; want the same time on every server (first: %d), the put's time plus %v, in [%d, %d]", i, key, it.ExpiresAt, expires, ttl, lo, hi)
			}
		}

		c.Run(2 * c.HeartbeatInterval()) // every follower has applied the put
		c.DisconnectServer(lagger)
		// No writes from here on: only the leader's clock ticks
		// (kv.CmdTick) make the key expire.
		c.Run(ttl + 200*time.Millisecond)
		for i := range servers {
			if i == lagger {
				continue
			}
			if it := getOn(t, c, i, key); it != nil {
				t.Fatalf("server %d: get(%q) %v after it expired: found %q (expires at %d)", i, key, c.Now()-after, it.Value, it.ExpiresAt)
			}
			if it := getOn(t, c, i, plain); it == nil || string(it.Value) != "stays" {
				t.Fatalf("server %d: get(%q), a key without a TTL: %v; want \"stays\"", i, plain, it)
			}
		}
		// The cut-off follower's state machine has not applied the tick:
		// its clock, which only the log moves, is still before the expiry.
		if _, err := c.StaleGet(c.ID(lagger), key); err != nil {
			t.Fatalf("server %d, cut off before the key expired, no longer holds it (%v): its clock moved without the log", lagger, err)
		}
		c.ConnectServer(lagger)
		c.Run(c.ElectionTimeout())
		if it := getOn(t, c, lagger, key); it != nil {
			t.Fatalf("server %d, back with the cluster, still serves %q (expires at %d)", lagger, key, it.ExpiresAt)
		}
	})
}

// getOn reads key through server i alone (a linearizable read served from
// its own state machine), retrying a read whose messages were lost. It
// returns nil for an absent key.
func getOn(t *labtest.T, c *labtest.KVCluster, i int, key string) *kv.Item {
	t.Helper()
	var err error
	for range 10 {
		var it kv.Item
		it, err = c.GetOn(c.ID(i), key, time.Second)
		switch {
		case err == nil:
			return &it
		case errors.Is(err, kv.ErrNotFound):
			return nil
		case !errors.Is(err, sim.ErrReadTimeout):
			t.Fatalf("server %d: get(%q): %v", i, key, err)
		}
	}
	t.Fatalf("server %d: get(%q): %v, 10 times", i, key, err)
	return nil
}
