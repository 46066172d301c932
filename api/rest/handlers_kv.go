package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/minikv-go/minikv/kv"
)

// getKey answers GET /v1/kv/{key} with the raw value; the version and
// expiry are headers.
func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, req *request) error {
	it, err := h.node.Get(r.Context(), req.key, req.stale)
	if errors.Is(err, kv.ErrNotFound) {
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: fmt.Sprintf("key %q not found", req.key)}
	}
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Length", strconv.Itoa(len(it.Value)))
	hd.Set("X-Content-Type-Options", "nosniff") // a value is data, never a page
	hd.Set(versionHeader, strconv.FormatUint(it.Version, 10))
	if it.ExpiresAt != 0 {
		hd.Set(expiresHeader, expiresAt(it.ExpiresAt))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(it.Value)
	return nil
}

// putKey answers PUT /v1/kv/{key} with the key's new version.
func (h *Handler) putKey(w http.ResponseWriter, r *http.Request, req *request) error {
	res, err := h.node.Do(r.Context(), req.cmd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, putResponse{Version: res.Index})
	return nil
}

// deleteKey answers DELETE /v1/kv/{key}: whether the key existed, and the
// version it had.
func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request, req *request) error {
	res, err := h.node.Do(r.Context(), req.cmd)
	if err != nil {
		return err
	}
	if len(res.Ops) != 1 {
		return fmt.Errorf("delete: %d op results for one op", len(res.Ops))
	}
	writeJSON(w, http.StatusOK, deleteResponse{Found: res.Ops[0].Found, Version: res.Ops[0].Version})
	return nil
}

// scan answers GET /v1/kv with one page of keys and where the next starts.
func (h *Handler) scan(w http.ResponseWriter, r *http.Request, req *request) error {
	page, err := h.node.Scan(r.Context(), req.scan, req.stale)
	if err != nil {
		return err
	}
	out := scanResponse{Items: make([]scanItem, len(page.Items))}
	for i, it := range page.Items {
		item := &out.Items[i]
		item.Key, item.KeyBase64 = keyJSON(it.Key)
		item.Value = base64String(it.Value)
		item.Version = it.Version
		item.ExpiresAt = expiresAt(it.ExpiresAt)
	}
	if len(page.Next) > 0 {
		out.Next, out.NextBase64 = keyJSON(page.Next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// batch answers POST /v1/batch: its ops were applied atomically, as one
// command, so they share one version.
func (h *Handler) batch(w http.ResponseWriter, r *http.Request, req *request) error {
	res, err := h.node.Do(r.Context(), req.cmd)
	if err != nil {
		return err
	}
	if len(res.Ops) != len(req.cmd.Ops) {
		return fmt.Errorf("batch: %d op results for %d ops", len(res.Ops), len(req.cmd.Ops))
	}
	out := batchResponse{Version: res.Index, Results: make([]batchResult, len(res.Ops))}
	for i, o := range res.Ops {
		op := req.cmd.Ops[i].Type
		br := &out.Results[i]
		br.Op, br.Version = op.String(), o.Version
		if op == kv.OpGet || op == kv.OpDelete {
			br.Found = &o.Found
		}
		if op == kv.OpGet && o.Found {
			v := base64String(o.Value)
			br.Value = &v
			br.ExpiresAt = expiresAt(o.ExpiresAt)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
