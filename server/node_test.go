package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/stretchr/testify/require"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func testConfig(t *testing.T, engine string) Config {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Engine = engine
	cfg.Listen = Listen{HTTP: freeAddr(t), RPC: freeAddr(t), Raft: freeAddr(t)}
	cfg.Raft.Tick = Duration(10 * time.Millisecond)
	require.NoError(t, cfg.Validate())
	return cfg
}

func waitLeader(t *testing.T, n *Node) {
	t.Helper()
	require.Eventually(t, func() bool { ok, _ := n.Ready(); return ok && n.Status().Role == "leader" }, 10*time.Second, 10*time.Millisecond)
}

func put(key, value string) kv.Command {
	return kv.Command{Kind: kv.CmdOps, Ops: []kv.Op{{Type: kv.OpPut, Key: []byte(key), Value: []byte(value)}}}
}

func TestSingleNodeServesAndRestarts(t *testing.T) {
	// memory: the engine starts empty; the snapshot file and the WAL rebuild it.
	for _, engine := range []string{"pebble", "bolt", "memory"} {
		t.Run(engine, func(t *testing.T) {
			cfg := testConfig(t, engine)
			cfg.Raft.SnapshotEntries = 50 // snapshots and compaction happen
			n, err := Open(cfg, nil, nil)
			require.NoError(t, err)
			waitLeader(t, n)
			ctx := context.Background()
			var last uint64
			for i := range 200 {
				res, err := n.Do(ctx, put(fmt.Sprintf("k%03d", i), fmt.Sprint(i)))
				require.NoError(t, err)
				require.Greater(t, res.Ops[0].Version, last)
				last = res.Ops[0].Version
			}
			it, err := n.Get(ctx, []byte("k199"), false)
			require.NoError(t, err)
			require.Equal(t, "199", string(it.Value))
			require.NoError(t, n.Close())

			n, err = Open(cfg, nil, nil)
			require.NoError(t, err)
			defer n.Close()
			waitLeader(t, n)
			page, err := n.Scan(ctx, kv.ScanRequest{Prefix: []byte("k"), Limit: 1000}, false)
			require.NoError(t, err)
			require.Len(t, page.Items, 200, "every acknowledged write survives a restart")
			it, err = n.Get(ctx, []byte("k042"), false)
			require.NoError(t, err)
			require.Equal(t, "42", string(it.Value))
		})
	}
}

func TestReservedKeysOnlyThroughInternal(t *testing.T) {
	n, err := Open(testConfig(t, "memory"), nil, nil)
	require.NoError(t, err)
	defer n.Close()
	waitLeader(t, n)
	ctx := context.Background()
	_, err = n.Do(ctx, put("\x00s3/b/x", "bucket"))
	require.ErrorIs(t, err, kv.ErrInvalid)
	_, err = n.Internal().Do(ctx, put("\x00s3/b/x", "bucket"))
	require.NoError(t, err)
	_, err = n.Do(ctx, put("user", "key"))
	require.NoError(t, err)

	_, err = n.Get(ctx, []byte("\x00s3/b/x"), false)
	require.ErrorIs(t, err, kv.ErrInvalid)
	it, err := n.Internal().Get(ctx, []byte("\x00s3/b/x"), false)
	require.NoError(t, err)
	require.Equal(t, "bucket", string(it.Value))

	page, err := n.Scan(ctx, kv.ScanRequest{}, false)
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "a scan of everything lists user keys only")
	require.Equal(t, "user", string(page.Items[0].Key))
}

// Large values fill memory long before 10,000 entries do: a snapshot is
// also taken once the entries applied since the last one reach
// raft.snapshot_bytes, so the log held in memory stays bounded.
func TestSnapshotByBytes(t *testing.T) {
	for _, engine := range []string{"pebble", "memory"} {
		t.Run(engine, func(t *testing.T) {
			cfg := testConfig(t, engine)
			cfg.Raft.SnapshotEntries = 1 << 40
			cfg.Raft.SnapshotBytes = 64 << 10
			n, err := Open(cfg, nil, nil)
			require.NoError(t, err)
			defer n.Close()
			waitLeader(t, n)
			value := string(make([]byte, 8<<10))
			for i := range 40 {
				_, err := n.Do(context.Background(), put(fmt.Sprintf("big%02d", i), value))
				require.NoError(t, err)
			}
			require.Eventually(t, func() bool { return n.raft.Status().FirstIndex > 1 }, 5*time.Second, 10*time.Millisecond,
				"320 KiB of entries with snapshot_bytes = 64 KiB take snapshots, and the log is compacted")
			files, err := filepath.Glob(filepath.Join(cfg.DataDir, "snap", "*.snap"))
			require.NoError(t, err)
			if engine == "memory" {
				require.NotEmpty(t, files, "the memory engine restarts from snapshot files")
			} else {
				require.Empty(t, files, "a durable engine's snapshots are synced views: no file until a follower needs one")
			}
		})
	}
}
