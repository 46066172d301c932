package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// A write that reaches a follower is forwarded to the leader: the same
// method, path, query, headers and (buffered) body, marked with
// X-Minikv-Forwarded-By. The leader's answer — status, headers, body — is
// copied back as it is. A forwarded request is never forwarded again, so
// a request cannot loop while leadership moves: the second node answers
// 503 and the client retries.
//
// Forwarding is safe because a follower forwards only when its node
// refused the write with kv.NotLeaderError, which means the write was not
// applied (a proposal dropped by a leader change is reported the same way).

// forwardErrBody bounds how much of a leader's error answer is read to
// learn its code.
const forwardErrBody = 64 << 10

func newForwardClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // traffic between members never goes through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true, // copy the body as the leader wrote it
		},
		// The leader's answer is the answer, redirects included.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// forward sends r, whose body is body, to the leader and copies its answer
// to w. It returns the answer's code; or, if it could not forward, the
// error to answer with.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, body []byte) (string, error) {
	if by := r.Header.Get(forwardedByHeader); by != "" {
		e := &apiError{Status: http.StatusServiceUnavailable, Code: codeNotLeader,
			Message: fmt.Sprintf("node %s forwarded this write here, but this node (%s) is not the leader either; leadership is moving, retry", by, h.id)}
		if lead, ok := h.node.Leader(); ok {
			e.Leader = lead.ID
		}
		return "", e
	}
	lead, ok := h.node.Leader()
	switch {
	case !ok && lead.ID != 0:
		return "", &apiError{Status: http.StatusServiceUnavailable, Code: codeNotLeader, Leader: lead.ID,
			Message: fmt.Sprintf("this node is not the leader; node %d is, but its HTTP address is unknown (give every member an http address in cluster.members)", lead.ID)}
	case !ok:
		return "", &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
			Message: "this node is not the leader and knows no leader (an election may be going on); retry shortly"}
	}
	target := baseURL(lead.HTTP) + r.URL.RequestURI()
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	if err != nil {
		return "", &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Err: err,
			Message: fmt.Sprintf("cannot forward to the leader, node %d: bad address %q: %v", lead.ID, lead.HTTP, err)}
	}
	copyHeader(out.Header, r.Header)
	out.Header.Set(forwardedByHeader, h.id)
	resp, err := h.client.Do(out)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", &apiError{Status: http.StatusGatewayTimeout, Code: codeTimeout, Err: err,
				Message: fmt.Sprintf("the leader, node %d, did not answer in time; the write may or may not have been applied", lead.ID)}
		}
		return "", &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Err: err,
			Message: fmt.Sprintf("forwarding to the leader, node %d at %s: %v", lead.ID, lead.HTTP, err)}
	}
	defer resp.Body.Close()

	code := codeOK
	var head []byte // an error answer, read to learn its code
	if resp.StatusCode >= 300 {
		head, _ = io.ReadAll(io.LimitReader(resp.Body, forwardErrBody))
		code = answerCode(resp.StatusCode, head)
	}
	copyHeader(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(head)
	_, _ = io.Copy(w, resp.Body)
	return code, nil
}

// baseURL makes a member's HTTP address a URL without a trailing slash;
// an address without a scheme is plain HTTP.
func baseURL(addr string) string {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return strings.TrimRight(addr, "/")
}

// hopHeaders are the headers of one connection, not of the request or
// answer, which a proxy must not pass on (RFC 9110, section 7.6.1).
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// copyHeader sets every end-to-end header of src in dst.
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if !slices.Contains(hopHeaders, k) {
			dst[k] = slices.Clone(vv)
		}
	}
}

// answerCode is the error code of a leader's answer: the one in its JSON
// error body, or failing that, one that fits its status.
func answerCode(status int, body []byte) string {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		return eb.Error.Code
	}
	switch status {
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	case http.StatusConflict:
		return codeVersionMismatch
	case http.StatusRequestEntityTooLarge:
		return codeTooLarge
	case http.StatusServiceUnavailable:
		return codeUnavailable
	case http.StatusGatewayTimeout:
		return codeTimeout
	}
	switch {
	case status < 400:
		return codeOK
	case status < 500:
		return codeInvalid
	}
	return codeInternal
}
