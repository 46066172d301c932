package server

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The example file must load, equal the defaults, and mention every key.
func TestConfigExampleDocumentsEveryKeyWithItsDefault(t *testing.T) {
	cfg := Config{}
	require.NoError(t, LoadConfig("../config.example.toml", &cfg))
	def := DefaultConfig()
	require.Equal(t, def, cfg, "config.example.toml shows every key with its default")
	b, err := os.ReadFile("../config.example.toml")
	require.NoError(t, err)
	// The keys the file sets, as section.key (commented-out examples aside).
	documented := map[string]bool{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.Trim(line, "[]") + "_"
		} else if k, _, ok := strings.Cut(line, " = "); ok && !strings.HasPrefix(k, "#") {
			documented[section+k] = true
		}
	}
	for key := range settable(&def) {
		require.True(t, documented[key], "config.example.toml does not document %s in its section", key)
	}
}

func TestConfigRefusesUnknownKeys(t *testing.T) {
	path := t.TempDir() + "/c.toml"
	require.NoError(t, os.WriteFile(path, []byte("id = 2\ndata_dri = \"x\"\n"), 0o600))
	cfg := DefaultConfig()
	err := LoadConfig(path, &cfg)
	require.ErrorContains(t, err, "data_dri")

	err = ApplyEnv(&cfg, []string{"MINIKV_LISTEN_HTTPS=1"})
	require.ErrorContains(t, err, "unknown variable MINIKV_LISTEN_HTTPS")
	require.ErrorContains(t, cfg.Set("raft.ticks", "1"), "unknown config key")
}

func TestConfigPrecedenceFileEnvSet(t *testing.T) {
	path := t.TempDir() + "/c.toml"
	require.NoError(t, os.WriteFile(path, []byte("data_dir = \"/from/file\"\n[raft]\ntick = \"20ms\"\n"), 0o600))
	cfg := DefaultConfig()
	require.NoError(t, LoadConfig(path, &cfg))
	require.NoError(t, ApplyEnv(&cfg, []string{"MINIKV_DATA_DIR=/from/env", "HOME=/root", "MINIKV_RAFT_ELECTION_TICKS=20"}))
	require.NoError(t, cfg.Set("listen.http", "127.0.0.1:9999"))
	require.Equal(t, "/from/env", cfg.DataDir)
	require.Equal(t, Duration(20*time.Millisecond), cfg.Raft.Tick)
	require.Equal(t, 20, cfg.Raft.ElectionTicks)
	require.Equal(t, "127.0.0.1:9999", cfg.Listen.HTTP)
	require.NoError(t, cfg.Set("debug.pprof", "true"))
	require.True(t, cfg.Debug.Pprof)
	require.ErrorContains(t, cfg.Set("debug.pprof", "yes please"), "debug.pprof")
	require.NoError(t, cfg.Validate())
	require.Equal(t, []Member{{ID: 1, Raft: "127.0.0.1:7072", HTTP: "http://127.0.0.1:9999", RPC: "127.0.0.1:7071", S3: "http://127.0.0.1:9000"}}, cfg.Cluster.Members,
		"no members: a cluster of this node alone")
}

func TestConfigValidateSaysWhatIsWrong(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Engine = "rocks"
	cfg.Raft.ElectionTicks = 1
	cfg.Cluster.Members = []Member{{ID: 2, Raft: "x:1"}}
	err := cfg.Validate()
	require.ErrorContains(t, err, `engine "rocks"`)
	require.ErrorContains(t, err, "election_ticks")
	require.ErrorContains(t, err, "does not list this node")
}

// TestConfigAdvertisedS3: a listen.s3 on every address of the host is no
// address to forward S3 writes to. An explicit s3 in the node's members
// entry wins; a node alone advertises loopback; any other cluster is
// refused, naming the key to set.
func TestConfigAdvertisedS3(t *testing.T) {
	three := func(ownS3 string) []Member {
		return []Member{
			{ID: 1, Raft: "10.0.0.1:7072", S3: ownS3},
			{ID: 2, Raft: "10.0.0.2:7072", S3: "http://10.0.0.2:9000"},
			{ID: 3, Raft: "10.0.0.3:7072", S3: "http://10.0.0.3:9000"},
		}
	}
	for _, tc := range []struct {
		name    string
		listen  string
		members []Member
		join    string
		want    string // this node's s3 in cluster.members (or what it asks to join with)
		err     []string
	}{
		{name: "loopback listener, alone", listen: "127.0.0.1:9000", want: "http://127.0.0.1:9000"},
		{name: "0.0.0.0, alone", listen: "0.0.0.0:9000", want: "http://127.0.0.1:9000"},
		{name: "[::], alone", listen: "[::]:9000", want: "http://[::1]:9000"},
		{name: "no host, alone", listen: ":9000", want: "http://127.0.0.1:9000"},
		{name: "0.0.0.0, a one-member list", listen: "0.0.0.0:9000", members: []Member{{ID: 1, Raft: "10.0.0.1:7072"}}, want: "http://127.0.0.1:9000"},
		{name: "0.0.0.0, alone, explicit", listen: "0.0.0.0:9000", members: []Member{{ID: 1, Raft: "10.0.0.1:7072", S3: "http://10.0.0.1:9000"}}, want: "http://10.0.0.1:9000"},
		{name: "0.0.0.0, three, explicit", listen: "0.0.0.0:9000", members: three("http://10.0.0.1:9000"), want: "http://10.0.0.1:9000"},
		{name: "0.0.0.0, three, nothing explicit", listen: "0.0.0.0:9000", members: three(""),
			err: []string{`listen.s3 "0.0.0.0:9000" listens on every address`, "set s3 in this node's [[cluster.members]] entry (id = 1)", `"http://10.0.0.1:9000"`}},
		{name: "[::], three, nothing explicit", listen: "[::]:9000", members: three(""),
			err: []string{`listen.s3 "[::]:9000"`, "(id = 1)"}},
		{name: "a specific address, three, nothing explicit (as before)", listen: "10.0.0.1:9000", members: three(""), want: ""},
		{name: "S3 off", listen: "", members: three(""), want: ""},
		{name: "a member's s3 is 0.0.0.0", listen: "10.0.0.1:9000", members: three("http://0.0.0.0:9000"),
			err: []string{`member 1's s3 "http://0.0.0.0:9000" is every address of a host`}},
		{name: "joining, 0.0.0.0, nothing explicit", listen: "0.0.0.0:9000", join: "http://10.0.0.2:7070",
			err: []string{`listen.s3 "0.0.0.0:9000"`, "set advertise.s3 to the address they reach it at"}},
		{name: "joining, 0.0.0.0, explicit", listen: "0.0.0.0:9000", join: "http://10.0.0.2:7070",
			members: []Member{{ID: 1, S3: "http://10.0.0.1:9000"}}, want: "http://10.0.0.1:9000"},
		{name: "joining, a specific address", listen: "10.0.0.1:9000", join: "http://10.0.0.2:7070", want: "http://10.0.0.1:9000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ID = 1
			cfg.DataDir = t.TempDir()
			cfg.Listen.S3 = tc.listen
			cfg.Cluster.Members = tc.members
			cfg.Cluster.Join = tc.join
			err := cfg.Validate()
			if len(tc.err) > 0 {
				require.Error(t, err)
				for _, want := range tc.err {
					require.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			if tc.join != "" {
				require.Equal(t, tc.want, cfg.self().S3, "what the node asks to join with")
				return
			}
			own, ok := cfg.ownEntry()
			require.True(t, ok)
			require.Equal(t, tc.want, own.S3)
		})
	}
}

// Every listener follows the rules of advertise.go, not only S3's.
func TestConfigAdvertise(t *testing.T) {
	base := func(t *testing.T) Config {
		cfg := DefaultConfig()
		cfg.ID = 1
		cfg.DataDir = t.TempDir()
		return cfg
	}
	three := []Member{
		{ID: 1, Raft: "10.0.0.1:7072", HTTP: "http://10.0.0.1:7070"},
		{ID: 2, Raft: "10.0.0.2:7072", HTTP: "http://10.0.0.2:7070"},
		{ID: 3, Raft: "10.0.0.3:7072", HTTP: "http://10.0.0.3:7070"},
	}

	t.Run("alone on 0.0.0.0: loopback", func(t *testing.T) {
		cfg := base(t)
		cfg.Listen = Listen{HTTP: "0.0.0.0:7070", RPC: ":7071", Raft: "[::]:7072", S3: "0.0.0.0:9000"}
		require.NoError(t, cfg.Validate())
		require.Equal(t, []Member{{ID: 1, Raft: "[::1]:7072", HTTP: "http://127.0.0.1:7070", RPC: "127.0.0.1:7071", S3: "http://127.0.0.1:9000"}},
			cfg.Cluster.Members)
	})
	t.Run("joining on 0.0.0.0 without advertise: refused, naming the keys", func(t *testing.T) {
		cfg := base(t)
		cfg.Listen.Raft, cfg.Listen.HTTP = "0.0.0.0:7072", "0.0.0.0:7070"
		cfg.Cluster.Join = "http://10.0.0.2:7070"
		err := cfg.Validate()
		require.ErrorContains(t, err, `listen.raft "0.0.0.0:7072" listens on every address`)
		require.ErrorContains(t, err, "set advertise.raft")
		require.ErrorContains(t, err, "set advertise.http")
		require.ErrorContains(t, err, `"http://10.0.0.1:7070"`)
	})
	t.Run("joining on 0.0.0.0 with advertise", func(t *testing.T) {
		cfg := base(t)
		cfg.Listen = Listen{HTTP: "0.0.0.0:7070", RPC: "0.0.0.0:7071", Raft: "0.0.0.0:7072", S3: "0.0.0.0:9000"}
		cfg.Advertise = Advertise{HTTP: "http://node1.example:7070", RPC: "node1.example:7071", Raft: "10.0.0.1:7072", S3: "http://node1.example:9000"}
		cfg.Cluster.Join = "http://10.0.0.2:7070"
		require.NoError(t, cfg.Validate())
		require.Equal(t, Member{ID: 1, Raft: "10.0.0.1:7072", HTTP: "http://node1.example:7070", RPC: "node1.example:7071", S3: "http://node1.example:9000"},
			cfg.self(), "what the node asks to join with")
	})
	t.Run("advertise on a wildcard: refused", func(t *testing.T) {
		cfg := base(t)
		cfg.Advertise.HTTP = "http://0.0.0.0:7070"
		require.ErrorContains(t, cfg.Validate(), `advertise.http "http://0.0.0.0:7070" is every address of a host`)
	})
	t.Run("advertise that contradicts cluster.members: refused", func(t *testing.T) {
		cfg := base(t)
		cfg.Cluster.Members = slices.Clone(three)
		cfg.Advertise.Raft = "10.0.0.9:7072"
		require.ErrorContains(t, cfg.Validate(), `advertise.raft "10.0.0.9:7072" differs from this node's [[cluster.members]] entry ("10.0.0.1:7072")`)
	})
	t.Run("a member's raft on a wildcard: refused", func(t *testing.T) {
		cfg := base(t)
		cfg.Cluster.Members = slices.Clone(three)
		cfg.Cluster.Members[2].Raft = "0.0.0.0:7072"
		require.ErrorContains(t, cfg.Validate(), `member 3's raft "0.0.0.0:7072" is every address of a host`)
	})
}
