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
// server and judges the answers. Any 2xx status is a success whose body the
// protocol then checks; anything else is an error of kind "HTTP <status>".
type protocol interface {
	putRequest(ctx context.Context, endpoint, key string, value []byte) (*http.Request, error)
	getRequest(ctx context.Context, endpoint, key string) (*http.Request, error)
	// checkGet reports whether a successful read returned want.
	checkGet(body, want []byte) error
	// statusRequest asks an endpoint who leads; parseStatus reads the
	// answer: whether this endpoint leads, and if not, the leader's base
	// URL when the endpoint names one.
	statusRequest(ctx context.Context, endpoint string) (*http.Request, error)
	parseStatus(body []byte) (isLeader bool, leaderURL string, err error)
}

func protocolFor(t Target) protocol {
	if t == TargetEtcd {
		return etcdProtocol{}
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
	var st struct {
		Role    string `json:"role"`
		Leader  uint64 `json:"leader"`
		Members []struct {
			ID   uint64 `json:"id"`
			HTTP string `json:"http"`
		} `json:"members"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return false, "", fmt.Errorf("reading /v1/cluster: %v", err)
	}
	if st.Role == "leader" {
		return true, "", nil
	}
	for _, m := range st.Members {
		if m.ID == st.Leader && st.Leader != 0 && m.HTTP != "" {
			u, err := NormalizeEndpoint(m.HTTP)
			return false, u, err
		}
	}
	return false, "", nil
}
