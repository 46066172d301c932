package bench

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeServer is an in-memory server speaking the two tiny subsets of the
// minikv and etcd HTTP APIs that the load generator uses. It tests the
// load generator only; minikv itself is measured against a real cluster.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	data map[string][]byte

	puts, gets atomic.Int64 // requests answered 200

	// Knobs, set by newFakeServer's options before the server starts.
	failEvery int64  // answer 503 to every n-th put
	corrupt   bool   // answer gets with a wrong value
	role      string // what /v1/cluster reports; "leader" by default
	leaderURL string // the leader's address /v1/cluster reports
	requests  atomic.Int64
}

func newFakeServer(t *testing.T, options ...func(*fakeServer)) *fakeServer {
	f := &fakeServer{data: map[string][]byte{}, role: "leader"}
	for _, o := range options {
		o(f)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		f.put(w, r.PathValue("key"), r.Body)
	})
	mux.HandleFunc("GET /v1/kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := f.get(r.PathValue("key"))
		if !ok {
			http.Error(w, `{"error":"key not found","code":"not_found"}`, http.StatusNotFound)
			return
		}
		_, _ = w.Write(v)
	})
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": 1, "leader": 2, "role": f.role,
			"members": []map[string]any{{"id": 1, "http": "127.0.0.1:1"}, {"id": 2, "http": f.leaderURL}},
		})
	})
	mux.HandleFunc("POST /v3/kv/put", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Key, Value []byte }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.put(w, string(req.Key), nil, req.Value...)
	})
	mux.HandleFunc("POST /v3/kv/range", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Key []byte }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type kv struct{ Key, Value []byte }
		resp := struct {
			KVs []kv `json:"kvs,omitempty"`
		}{}
		if v, ok := f.get(string(req.Key)); ok {
			resp.KVs = []kv{{req.Key, v}}
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("POST /v3/maintenance/status", func(w http.ResponseWriter, r *http.Request) {
		leader := "7"
		if f.role != "leader" {
			leader = "8"
		}
		_, _ = io.WriteString(w, `{"header":{"member_id":"7"},"leader":"`+leader+`"}`)
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// put stores the body read from r, or value when r is nil.
func (f *fakeServer) put(w http.ResponseWriter, key string, r io.Reader, value ...byte) {
	if r != nil {
		var err error
		if value, err = io.ReadAll(r); err != nil {
			return
		}
	}
	if n := f.requests.Load(); f.failEvery > 0 && n%f.failEvery == 0 {
		http.Error(w, `{"error":"no leader","code":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	f.mu.Lock()
	f.data[key] = value
	f.mu.Unlock()
	f.puts.Add(1)
	_, _ = io.WriteString(w, `{"version":1}`)
}

func (f *fakeServer) get(key string) ([]byte, bool) {
	f.mu.Lock()
	v, ok := f.data[key]
	f.mu.Unlock()
	if ok {
		f.gets.Add(1)
		if f.corrupt {
			v = append([]byte("x"), v...)
		}
	}
	return v, ok
}

func (f *fakeServer) keys() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.data)
}
