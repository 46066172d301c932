package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Joining a running cluster takes two requests to any of its members'
// HTTP API: GET /v1/cluster for its id and first configuration (the new
// node's raft core starts from the same one), then, once the new node
// listens, POST /v1/cluster/members to be added as a learner.

var joinClient = &http.Client{Timeout: 30 * time.Second}

func fetchCluster(base string) (clusterFile, error) {
	resp, err := joinClient.Get(strings.TrimSuffix(base, "/") + "/v1/cluster")
	if err != nil {
		return clusterFile{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return clusterFile{}, fmt.Errorf("GET /v1/cluster: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var cs ClusterStatus
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil {
		return clusterFile{}, fmt.Errorf("GET /v1/cluster: %w", err)
	}
	if len(cs.Initial) == 0 {
		return clusterFile{}, fmt.Errorf("GET /v1/cluster: the answer has no initial_members")
	}
	return clusterFile{ClusterID: cs.ClusterID, Members: cs.Initial}, nil
}

func requestJoin(base string, self Member) error {
	body, _ := json.Marshal(self)
	resp, err := joinClient.Post(strings.TrimSuffix(base, "/")+"/v1/cluster/members", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode == http.StatusBadRequest && bytes.Contains(b, []byte("already a member")) && !bytes.Contains(b, []byte(", at ")) {
			// Added already (minikv cluster add, or a join whose answer
			// was lost) with these very addresses: nothing left to do.
			return nil
		}
		return fmt.Errorf("POST /v1/cluster/members: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}
