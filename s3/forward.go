package s3

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// Writes reach the leader. A follower that receives one — after checking
// its signature, before reading its body — passes the request on to the
// leader's S3 address as it came: the same method, path, query, headers
// and Host header (the leader checks the same signature, and the Host is
// part of what was signed), with the body streamed through unread. The
// leader's answer is streamed back the same way. Nothing is buffered, so a
// 5 GiB upload through a follower takes no more memory than one to the
// leader.
//
// The request is marked with X-Minikv-Forwarded-By. A marked request is
// never forwarded again: a node that receives one and is not the leader
// (leadership moved while the request was on its way) answers 503
// ServiceUnavailable, which every S3 client retries.
//
// A follower also forwards a write its own node refused for want of
// leadership, provided it had not read the body yet: the refusal means
// nothing was applied.

// proxyTarget is what the proxy needs to know about one forwarded request.
type proxyTarget struct {
	leader *url.URL
	rt     route
	id     string
}

type proxyTargetKey struct{}

// forward passes r on to the leader and copies its answer to w.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, rt route, id string) (string, error) {
	if by := r.Header.Get(forwardedByHeader); by != "" {
		return "", errorf(codeServiceUnavailable,
			"Node %s forwarded this request here as the leader, but this node is not the leader (any more): leadership is changing. Please retry.", by)
	}
	lead, ok := h.node.Leader()
	if !ok {
		return "", errorf(codeServiceUnavailable, "This node is not the leader and knows no leader (an election may be going on). Please retry.")
	}
	if lead.S3 == "" {
		return "", errorf(codeServiceUnavailable,
			"This node is not the leader, and the leader (node %d) has no S3 address: give every member an s3 address.", lead.ID)
	}
	target, err := url.Parse(baseURL(lead.S3))
	if err != nil || target.Host == "" {
		return "", errorf(codeServiceUnavailable, "The leader's S3 address %q is not a URL.", lead.S3)
	}
	// The leader names the answer; ours would be added to its.
	for _, k := range []string{"X-Amz-Request-Id", "X-Amz-Id-2", "Server", nodeHeader} {
		w.Header().Del(k)
	}
	ctx := context.WithValue(r.Context(), proxyTargetKey{}, &proxyTarget{leader: target, rt: rt, id: id})
	h.proxy.ServeHTTP(w, r.WithContext(ctx))
	return "forwarded", nil
}

func (h *Handler) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(proxyTargetKey{}).(*proxyTarget)
			pr.Out.URL.Scheme = t.leader.Scheme
			pr.Out.URL.Host = t.leader.Host
			pr.Out.Host = pr.In.Host // signed: the leader must see the client's
			pr.Out.Header.Set(forwardedByHeader, h.nodeID)
		},
		Transport: &http.Transport{
			Proxy:               nil, // traffic between members never goes through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			// Wait for the leader's "100 Continue" before sending the body
			// of a request that asks for it, so a refused upload is not sent.
			ExpectContinueTimeout: 2 * time.Second,
			DisableCompression:    true, // pass the answer on as the leader wrote it
		},
		FlushInterval: -1, // stream answers as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			t := r.Context().Value(proxyTargetKey{}).(*proxyTarget)
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			hdr := w.Header()
			hdr.Set("X-Amz-Request-Id", t.id)
			hdr.Set("X-Amz-Id-2", hostID(t.id))
			hdr.Set("Server", "minikv")
			hdr.Set(nodeHeader, h.nodeID)
			e := errorf(codeServiceUnavailable, "Forwarding the request to the leader at %s failed; it may or may not have been applied. Please retry.", t.leader.Host)
			e.err = err
			h.logError(r, t.rt, t.id, e)
			writeError(w, r, t.rt, t.id, e)
		},
	}
}

// baseURL makes a member's S3 address a URL without a trailing slash; an
// address without a scheme is plain HTTP.
func baseURL(addr string) string {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return strings.TrimRight(addr, "/")
}
