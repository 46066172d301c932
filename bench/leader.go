package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// FindLeader asks each endpoint in turn who leads and returns the leader's
// base URL: the endpoint itself if it leads, or else the address an
// endpoint names for the leader (minikv's /v1/cluster lists every member's
// HTTP address; etcd's status names only an id, so with etcd the leader
// must be among the endpoints). An S3 API cannot be asked; see
// FindS3Leader.
func FindLeader(ctx context.Context, hc *http.Client, t Target, endpoints []string) (string, error) {
	var proto leaderAsker
	switch t {
	case TargetMinikv:
		proto = minikvProtocol{}
	case TargetEtcd:
		proto = etcdProtocol{}
	default:
		return "", fmt.Errorf("finding the leader: a %s endpoint cannot be asked who leads", t)
	}
	var hint string
	var problems []string
	for _, ep := range endpoints {
		isLeader, named, err := askLeader(ctx, hc, proto, ep)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", ep, err))
		case isLeader:
			return ep, nil
		case hint == "":
			hint = named
		}
	}
	if hint != "" {
		return hint, nil
	}
	if len(problems) == 0 {
		problems = append(problems, "none of them leads or knows a leader")
	}
	return "", errors.New("finding the leader: " + strings.Join(problems, "; "))
}

// FindS3Leader asks minikv's REST API at each of rest in turn who leads, and
// returns the leader's S3 base URL: the S3 address its member entry names,
// or else, when rest and s3 list the nodes in the same order, the s3
// endpoint at the leader's position in rest.
func FindS3Leader(ctx context.Context, hc *http.Client, rest, s3 []string) (string, error) {
	var problems []string
	for i, ep := range rest {
		body, err := ask(ctx, hc, func(ctx context.Context) (*http.Request, error) {
			return minikvProtocol{}.statusRequest(ctx, ep)
		})
		var st *clusterStatus
		if err == nil {
			st, err = parseClusterStatus(body)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", ep, err))
			continue
		}
		lead := st.Leader
		if st.Role == "leader" {
			lead = st.ID
		}
		if lead == 0 {
			continue // an election, perhaps; another node may know
		}
		m := st.member(lead)
		if m != nil && m.S3 != "" {
			return NormalizeEndpoint(m.S3)
		}
		at := -1 // the leader's position in rest
		if st.Role == "leader" {
			at = i
		} else if m != nil && m.HTTP != "" {
			if u, err := NormalizeEndpoint(m.HTTP); err == nil {
				at = slices.Index(rest, u)
			}
		}
		if at >= 0 && len(rest) == len(s3) {
			return s3[at], nil
		}
		return "", fmt.Errorf("finding the leader: %s: the leader, node %d, names no S3 address, and is not at a position of the REST endpoints matching one of the S3 endpoints", ep, lead)
	}
	if len(problems) == 0 {
		problems = append(problems, "none of them leads or knows a leader")
	}
	return "", errors.New("finding the leader: " + strings.Join(problems, "; "))
}

// locateLeader finds the leader for a leader-only run, and returns its base
// URL for cfg's protocol; eps and rest are normalized.
func locateLeader(ctx context.Context, hc *http.Client, cfg *Config, eps, rest []string) (string, error) {
	if cfg.Target == TargetS3 {
		return FindS3Leader(ctx, hc, rest, eps)
	}
	return FindLeader(ctx, hc, cfg.Target, eps)
}

func askLeader(ctx context.Context, hc *http.Client, proto leaderAsker, endpoint string) (bool, string, error) {
	body, err := ask(ctx, hc, func(ctx context.Context) (*http.Request, error) {
		return proto.statusRequest(ctx, endpoint)
	})
	if err != nil {
		return false, "", err
	}
	return proto.parseStatus(body)
}

// ask sends the request that newReq makes, with a timeout of its own, and
// returns the body of a 200 answer.
func ask(ctx context.Context, hc *http.Client, newReq func(context.Context) (*http.Request, error)) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := newReq(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusFailure(resp.StatusCode, body)
	}
	return body, nil
}
