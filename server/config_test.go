package server

import (
	"os"
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
	text := string(b)
	for key := range settable(&def) {
		name := key
		for _, section := range []string{"listen_", "cluster_", "raft_", "limits_", "s3_", "debug_"} {
			if strings.HasPrefix(key, section) {
				name = strings.TrimPrefix(key, section)
			}
		}
		require.Contains(t, text, "\n"+name+" = ", "config.example.toml does not document %s", key)
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
