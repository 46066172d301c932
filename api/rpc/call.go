package rpcapi

import (
	"context"
	"fmt"
	"time"

	"github.com/minikv-go/minikv/kv"
)

// run runs one call's work under the node's request timeout, records its
// metrics and turns its error into a reply's Error.
func (s *Server) run(op string, work func(ctx context.Context) error) *Error {
	start := time.Now()
	var err error
	select {
	case <-s.node.Done():
		// The node has stopped (it died, or it is being closed): nothing
		// was tried, so the client may go elsewhere.
		err = ErrUnavailable
	default:
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		err = work(ctx)
		cancel()
	}
	e := errorOf(err, s.leaderRPC)
	code := "ok"
	if e != nil {
		code = e.Code
		if code == "internal" {
			s.log.Warn("rpc call failed", "op", op, "err", err)
		}
	}
	s.metrics.Observe("rpc", op, code, time.Since(start))
	return e
}

// leaderRPC returns the RPC address of member id, if the node knows it.
func (s *Server) leaderRPC(id uint64) string {
	if m, ok := s.node.Leader(); ok && m.ID == id {
		return m.RPC
	}
	for _, m := range s.node.Status().Members {
		if m.ID == id {
			return m.RPC
		}
	}
	return ""
}

// checkKeys refuses keys over the node's key limit before any work.
func (s *Server) checkKeys(keys ...[]byte) error {
	limit := s.node.Limits().MaxKeyBytes
	for _, k := range keys {
		if len(k) > limit {
			return fmt.Errorf("%w: key is %d bytes, limit %d", kv.ErrTooLarge, len(k), limit)
		}
	}
	return nil
}
