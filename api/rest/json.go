package rest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// Response bodies. Values are base64 in JSON (they are bytes); keys are
// strings, and a key that is not valid UTF-8 (which a JSON string cannot
// carry) is given again, exactly, in base64 as key_base64.

// putResponse answers PUT /v1/kv/{key}.
type putResponse struct {
	Version uint64 `json:"version"`
}

// deleteResponse answers DELETE /v1/kv/{key}.
type deleteResponse struct {
	Found   bool   `json:"found"`
	Version uint64 `json:"version"` // the version the key had; 0 if it did not exist
}

// scanResponse answers GET /v1/kv: one page of keys.
type scanResponse struct {
	Items []scanItem `json:"items"`
	// Next is where the next page starts (pass it as start=); empty when
	// the scan is done.
	Next       string `json:"next,omitempty"`
	NextBase64 []byte `json:"next_base64,omitempty"`
}

type scanItem struct {
	Key       string `json:"key"`
	KeyBase64 []byte `json:"key_base64,omitempty"`
	Value     string `json:"value"` // base64
	Version   uint64 `json:"version"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// batchResponse answers POST /v1/batch: the version every write of the
// batch got (the log index of its command), and one result per op.
type batchResponse struct {
	Version uint64        `json:"version"`
	Results []batchResult `json:"results"`
}

type batchResult struct {
	Op        string  `json:"op"`
	Found     *bool   `json:"found,omitempty"` // get, delete
	Version   uint64  `json:"version"`         // put: the new version; get: the version read; delete: the version removed
	Value     *string `json:"value,omitempty"` // get, when found: base64
	ExpiresAt string  `json:"expires_at,omitempty"`
}

// statusResponse answers the health endpoints.
type statusResponse struct {
	Status string `json:"status"`
}

// keyJSON returns key as a JSON string and, when that string cannot hold
// it exactly, the key itself for a base64 field.
func keyJSON(key []byte) (string, []byte) {
	if utf8.Valid(key) {
		return string(key), nil
	}
	return string(key), key
}

// expiresAt formats an expiry (Unix nanoseconds, 0 = never) as RFC 3339.
func expiresAt(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

func base64String(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug can get here: every body is a plain struct.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"encoding the answer failed"}}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
