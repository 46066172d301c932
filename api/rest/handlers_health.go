package rest

import (
	"net/http"
)

// live answers the liveness probe: the process is up and serving HTTP.
func (h *Handler) live(w http.ResponseWriter, _ *http.Request, _ *request) error {
	writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
	return nil
}

// ready answers the readiness probe: 200 when the node knows a leader and
// has applied all it knows is committed, else 503 with the reason.
func (h *Handler) ready(w http.ResponseWriter, _ *http.Request, _ *request) error {
	if ok, reason := h.node.Ready(); !ok {
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "not ready: " + reason}
	}
	writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
	return nil
}

// metricsPage serves the Prometheus metrics of the Gatherer.
func (h *Handler) metricsPage(w http.ResponseWriter, r *http.Request, _ *request) error {
	if h.promh == nil {
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "metrics are not enabled on this node"}
	}
	h.promh.ServeHTTP(w, r)
	return nil
}
