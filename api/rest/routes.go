package rest

import (
	"fmt"
	"net/http"
	"strings"
)

// A route is one operation of the API: a method on a resource, the parser
// of its arguments and the handler that serves it.
type route struct {
	method string
	op     string   // the operation's name in metrics and logs: "kv.put", ...
	write  bool     // only the leader can serve it: a follower forwards it
	body   bool     // it reads the request body
	quiet  bool     // its 5xx answers are answers, not failures: not logged
	params []string // the query parameters it accepts
	parse  func(req *request, arg string, q query, body []byte) error
	serve  func(h *Handler, w http.ResponseWriter, r *http.Request, req *request) error
}

// A resource is a path and its routes, one per method. A path that ends
// in "/" is a prefix: the rest of the request's path is the argument of
// the route (a key, a member id).
type resource struct {
	path   string
	routes []*route
}

var (
	consistencyParam = []string{"consistency"}
	putParams        = []string{"if_version", "ttl"}
	deleteParams     = []string{"if_version"}
	scanParams       = []string{"prefix", "start", "end", "limit", "consistency"}
)

// resources is the whole API. Paths are matched exactly as they come,
// without cleaning, so that a key may hold "//" or "..".
var resources = []resource{
	{"/v1/kv/", []*route{
		{method: http.MethodGet, op: "kv.get", params: consistencyParam, parse: parseGet, serve: (*Handler).getKey},
		{method: http.MethodPut, op: "kv.put", write: true, body: true, params: putParams, parse: parsePut, serve: (*Handler).putKey},
		{method: http.MethodDelete, op: "kv.delete", write: true, params: deleteParams, parse: parseDelete, serve: (*Handler).deleteKey},
	}},
	{"/v1/kv", []*route{
		{method: http.MethodGet, op: "kv.scan", params: scanParams, parse: parseScan, serve: (*Handler).scan},
	}},
	{"/v1/batch", []*route{
		{method: http.MethodPost, op: "batch", write: true, body: true, parse: parseBatch, serve: (*Handler).batch},
	}},
	{"/v1/cluster", []*route{
		{method: http.MethodGet, op: "cluster.status", serve: (*Handler).clusterStatus},
	}},
	{"/v1/cluster/members", []*route{
		{method: http.MethodPost, op: "cluster.add_member", write: true, body: true, parse: parseAddMember, serve: (*Handler).addMember},
	}},
	{"/v1/cluster/members/", []*route{
		{method: http.MethodDelete, op: "cluster.remove_member", write: true, parse: parseRemoveMember, serve: (*Handler).removeMember},
	}},
	{"/v1/cluster/transfer-leader", []*route{
		{method: http.MethodPost, op: "cluster.transfer_leader", write: true, body: true, parse: parseTransfer, serve: (*Handler).transferLeader},
	}},
	{"/healthz", []*route{{method: http.MethodGet, op: "health.live", serve: (*Handler).live}}},
	{"/health/live", []*route{{method: http.MethodGet, op: "health.live", serve: (*Handler).live}}},
	{"/readyz", []*route{{method: http.MethodGet, op: "health.ready", quiet: true, serve: (*Handler).ready}}},
	{"/health/ready", []*route{{method: http.MethodGet, op: "health.ready", quiet: true, serve: (*Handler).ready}}},
	{"/metrics", []*route{{method: http.MethodGet, op: "metrics", serve: (*Handler).metricsPage}}},
}

// lookup finds the route for method on path (the decoded URL path) and
// returns it with its argument. A path no resource matches is a 404; a
// method the resource does not serve is a 405 naming the ones it does.
// HEAD is served wherever GET is.
func lookup(method, path string) (*route, string, error) {
	for i := range resources {
		res := &resources[i]
		arg, ok := res.match(path)
		if !ok {
			continue
		}
		m := method
		if m == http.MethodHead {
			m = http.MethodGet
		}
		for _, rt := range res.routes {
			if rt.method == m {
				return rt, arg, nil
			}
		}
		allow := res.allow()
		return nil, "", &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed, Allow: allow,
			Message: fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", method, res.pattern(), allow)}
	}
	return nil, "", &apiError{Status: http.StatusNotFound, Code: codeNotFound,
		Message: fmt.Sprintf("no such endpoint: %s (the API is under /v1/kv, /v1/batch and /v1/cluster)", path)}
}

// match reports whether path is the resource's, and its argument.
func (res *resource) match(path string) (string, bool) {
	if strings.HasSuffix(res.path, "/") {
		return strings.CutPrefix(path, res.path)
	}
	return "", path == res.path
}

// allow is the Allow header of the resource.
func (res *resource) allow() string {
	var methods []string
	for _, rt := range res.routes {
		methods = append(methods, rt.method)
		if rt.method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
	}
	return strings.Join(methods, ", ")
}

// pattern names the resource for people: "/v1/kv/{key}".
func (res *resource) pattern() string {
	switch res.path {
	case "/v1/kv/":
		return "/v1/kv/{key}"
	case "/v1/cluster/members/":
		return "/v1/cluster/members/{id}"
	}
	return res.path
}
