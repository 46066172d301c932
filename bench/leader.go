package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// FindLeader asks each endpoint in turn who leads and returns the leader's
// base URL: the endpoint itself if it leads, or else the address an
// endpoint names for the leader (minikv's /v1/cluster lists every member's
// HTTP address; etcd's status names only an id, so with etcd the leader
// must be among the endpoints).
func FindLeader(ctx context.Context, hc *http.Client, t Target, endpoints []string) (string, error) {
	proto := protocolFor(t)
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

func askLeader(ctx context.Context, hc *http.Client, proto protocol, endpoint string) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := proto.statusRequest(ctx, endpoint)
	if err != nil {
		return false, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return false, "", statusFailure(resp.StatusCode, body)
	}
	return proto.parseStatus(body)
}
