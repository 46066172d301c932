package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// A protocol turns the load's operations into HTTP requests for one kind of
// server and judges the answers. Any 2xx status is a success whose header
// and body the protocol then checks; anything else is an error of kind
// "HTTP <status>". A protocol is used by every client at once.
type protocol interface {
	// putRequest writes value, which is the same for every put of a run.
	putRequest(ctx context.Context, endpoint, key string, value []byte) (*http.Request, error)
	getRequest(ctx context.Context, endpoint, key string) (*http.Request, error)
	// checkPut reports whether a successful write's answer is right.
	checkPut(h http.Header) error
	// checkGet reports whether a successful read returned want.
	checkGet(body, want []byte) error
}

// A leaderAsker is a protocol that can ask an endpoint who leads:
// statusRequest asks, and parseStatus reads the answer: whether this
// endpoint leads, and if not, the leader's base URL when the endpoint names
// one. (S3 cannot be asked: an S3 run asks minikv's REST API, leader.go.)
type leaderAsker interface {
	statusRequest(ctx context.Context, endpoint string) (*http.Request, error)
	parseStatus(body []byte) (isLeader bool, leaderURL string, err error)
}

// A preparer readies a server for the load before it starts (an S3 run
// creates its bucket); an error stops the run before it begins.
type preparer interface {
	prepare(ctx context.Context, hc *http.Client, endpoint string) error
}

// An errorNamer reads the name of the error an unsuccessful answer
// reports, which then becomes part of the error's kind ("HTTP 503
// SlowDown"); "" when it names none.
type errorNamer interface {
	errorName(body []byte) string
}

// newProtocol returns the protocol of cfg's target, for a run whose puts
// all write value.
func newProtocol(cfg *Config, value []byte) protocol {
	switch cfg.Target {
	case TargetEtcd:
		return etcdProtocol{}
	case TargetS3:
		return newS3Protocol(cfg.S3, value)
	}
	return minikvProtocol{}
}

// minikvProtocol speaks minikv's REST API:
//
//	PUT /v1/kv/{key}  body: the value      200 {"version":N}
//	GET /v1/kv/{key}                       200 the value, 404 if absent
//	GET /v1/cluster                        {"role":..., "leader":ID, "members":[...]}
type minikvProtocol struct{}

func (minikvProtocol) putRequest(ctx context.Context, endpoint, key string, value []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, kvURL(endpoint, key), bytes.NewReader(value))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	return req, nil
}

func (minikvProtocol) getRequest(ctx context.Context, endpoint, key string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, kvURL(endpoint, key), nil)
}

func kvURL(endpoint, key string) string {
	return endpoint + "/v1/kv/" + url.PathEscape(key)
}

func (minikvProtocol) checkPut(http.Header) error { return nil }

func (minikvProtocol) checkGet(body, want []byte) error {
	if !bytes.Equal(body, want) {
		return fmt.Errorf("read %d bytes, not the %d written", len(body), len(want))
	}
	return nil
}

func (minikvProtocol) statusRequest(ctx context.Context, endpoint string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/v1/cluster", nil)
}

func (minikvProtocol) parseStatus(body []byte) (bool, string, error) {
	st, err := parseClusterStatus(body)
	if err != nil {
		return false, "", err
	}
	if st.Role == "leader" {
		return true, "", nil
	}
	if m := st.member(st.Leader); m != nil && m.HTTP != "" {
		u, err := NormalizeEndpoint(m.HTTP)
		return false, u, err
	}
	return false, "", nil
}

// clusterStatus is what minikv's GET /v1/cluster says about who leads.
type clusterStatus struct {
	ID      uint64          `json:"id"`
	Role    string          `json:"role"`
	Leader  uint64          `json:"leader"` // 0 when the node knows none
	Members []clusterMember `json:"members"`
}

type clusterMember struct {
	ID   uint64 `json:"id"`
	HTTP string `json:"http"`
	S3   string `json:"s3"` // "" when the member serves no S3 API
}

func parseClusterStatus(body []byte) (*clusterStatus, error) {
	var st clusterStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("reading /v1/cluster: %v", err)
	}
	return &st, nil
}

// member returns the member with the given id, or nil.
func (st *clusterStatus) member(id uint64) *clusterMember {
	if id == 0 {
		return nil
	}
	for i := range st.Members {
		if st.Members[i].ID == id {
			return &st.Members[i]
		}
	}
	return nil
}
