package rest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/minikv-go/minikv/api"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the REST handler.
type Options struct {
	// Gatherer is served at /metrics; nil: /metrics answers 404.
	Gatherer prometheus.Gatherer
	// Metrics records every request (api "rest"); nil records nothing.
	Metrics *api.Metrics
	// Logger logs the requests that fail with a 5xx; nil: slog.Default().
	Logger *slog.Logger
}

// Headers the API sets or reads.
const (
	nodeHeader        = "X-Minikv-Node"         // on every answer: the node that served it
	forwardedByHeader = "X-Minikv-Forwarded-By" // on a forwarded request: the node that forwarded it
	versionHeader     = "X-Minikv-Version"      // GET /v1/kv/{key}: the key's version
	expiresHeader     = "X-Minikv-Expires-At"   // GET /v1/kv/{key}: when the key expires, RFC 3339
)

// Handler serves the REST API of one node. Make one with New.
type Handler struct {
	node    *server.Node
	id      string // the node's id, in decimal
	metrics *api.Metrics
	log     *slog.Logger
	promh   http.Handler // nil: no /metrics
	client  *http.Client // forwards writes to the leader

	maxBody int64         // limits.max_request_bytes
	timeout time.Duration // limits.request_timeout
}

// New returns the REST API of node.
func New(node *server.Node, opts Options) http.Handler {
	cfg := node.Config()
	def := server.DefaultConfig()
	h := &Handler{
		node:    node,
		id:      strconv.FormatUint(node.ID(), 10),
		metrics: opts.Metrics,
		log:     opts.Logger,
		client:  newForwardClient(),
		maxBody: cfg.Limits.MaxRequestBytes,
		timeout: time.Duration(cfg.Limits.RequestTimeout),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody <= 0 {
		h.maxBody = def.Limits.MaxRequestBytes
	}
	if h.timeout <= 0 {
		h.timeout = time.Duration(def.Limits.RequestTimeout)
	}
	if opts.Gatherer != nil {
		h.promh = promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	}
	return h
}

// ServeHTTP serves one request: route, read the body (bounded), parse,
// serve within the request timeout — forwarding a write to the leader if
// this node is not it — then record the request in the metrics, and log
// it if it failed on the server's side.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set(nodeHeader, h.id)
	rt, code, err := h.handle(w, r)
	op := "unknown"
	if rt != nil {
		op = rt.op
	}
	if err != nil {
		e := toAPIError(err)
		if r.Context().Err() != nil {
			// The client is gone: the answer goes nowhere, and the failure
			// is not the server's.
			e = &apiError{Status: statusClientClosed, Code: codeCanceled, Message: "the client went away"}
		}
		writeError(w, e)
		code = e.Code
		if e.Status >= 500 && e.Status != statusClientClosed && (rt == nil || !rt.quiet) {
			level := slog.LevelWarn
			if e.Status == http.StatusInternalServerError {
				level = slog.LevelError
			}
			h.log.LogAttrs(r.Context(), level, "request failed",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("op", op),
				slog.Int("status", e.Status), slog.String("code", e.Code), slog.String("err", errText(e)),
				slog.Duration("duration", time.Since(start)))
		}
	}
	h.metrics.Observe("rest", op, code, time.Since(start))
}

// handle serves r. It returns the route r matched (nil if none) and, if
// it answered, the answer's code ("ok", or the leader's code for a
// forwarded request); if it did not answer, the error to answer with.
func (h *Handler) handle(w http.ResponseWriter, r *http.Request) (*route, string, error) {
	rt, arg, err := lookup(r.Method, r.URL.Path)
	if err != nil {
		return nil, "", err
	}
	var body []byte
	if rt.body {
		if body, err = h.readBody(w, r); err != nil {
			return rt, "", err
		}
	}
	req, err := rt.parseArgs(arg, r.URL.RawQuery, body)
	if err != nil {
		return rt, "", err
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	r = r.WithContext(ctx)
	err = rt.serve(h, w, r, req)
	var nl *kv.NotLeaderError
	if err != nil && rt.write && errors.As(err, &nl) {
		code, err := h.forward(w, r, body)
		return rt, code, err
	}
	return rt, codeOK, err
}

// readBody reads the request body, at most limits.max_request_bytes of it.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, tooLarge(h.maxBody)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxBody)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		return nil, invalidf("reading the request body: %v", err)
	}
	return buf.Bytes(), nil
}

// errText is what the log says about e: the error behind it if any.
func errText(e *apiError) string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Message
}
