package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
)

// etcdProtocol speaks etcd v3's HTTP/JSON gateway (grpc-gateway), where
// keys and values travel base64-encoded:
//
//	POST /v3/kv/put            {"key": b64, "value": b64}
//	POST /v3/kv/range          {"key": b64}  →  {"kvs": [{"value": b64}]}
//	POST /v3/maintenance/status {}           →  {"header": {"member_id"}, "leader"}
type etcdProtocol struct{}

func (etcdProtocol) putRequest(ctx context.Context, endpoint, key string, value []byte) (*http.Request, error) {
	body, err := json.Marshal(struct {
		Key   []byte `json:"key"`
		Value []byte `json:"value"`
	}{[]byte(key), value})
	if err != nil {
		return nil, err
	}
	return postJSON(ctx, endpoint+"/v3/kv/put", body)
}

func (etcdProtocol) getRequest(ctx context.Context, endpoint, key string) (*http.Request, error) {
	body := `{"key":"` + base64.StdEncoding.EncodeToString([]byte(key)) + `"}`
	return postJSON(ctx, endpoint+"/v3/kv/range", []byte(body))
}

func postJSON(ctx context.Context, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func (etcdProtocol) checkPut(http.Header) error { return nil }

func (etcdProtocol) checkGet(body, want []byte) error {
	var r struct {
		KVs []struct {
			Value []byte `json:"value"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("reading the range answer: %v", err)
	}
	switch {
	case len(r.KVs) == 0:
		return &failure{kind: "not found", detail: "the range answer has no kvs"}
	case !bytes.Equal(r.KVs[0].Value, want):
		return fmt.Errorf("read %d bytes, not the %d written", len(r.KVs[0].Value), len(want))
	}
	return nil
}

func (etcdProtocol) statusRequest(ctx context.Context, endpoint string) (*http.Request, error) {
	return postJSON(ctx, endpoint+"/v3/maintenance/status", []byte("{}"))
}

func (etcdProtocol) parseStatus(body []byte) (bool, string, error) {
	// The gateway writes 64-bit ids as JSON strings.
	var st struct {
		Header struct {
			MemberID string `json:"member_id"`
		} `json:"header"`
		Leader string `json:"leader"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return false, "", fmt.Errorf("reading /v3/maintenance/status: %v", err)
	}
	return st.Leader != "" && st.Leader == st.Header.MemberID, "", nil
}
