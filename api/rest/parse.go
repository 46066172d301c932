package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/server"
)

// Parsing is pure: it turns a method, a path, a query and a body into a
// request, or into an *apiError with a 4xx status, without a node and
// without I/O. Whatever a command must satisfy beyond its shape (key and
// value sizes, op counts) is left to kv.Limits.Check, which the node runs
// before proposing.

// request is a parsed API request: the route it matched and its arguments.
type request struct {
	route  *route
	key    []byte         // kv.get
	stale  bool           // kv.get, kv.scan: consistency=stale
	cmd    kv.Command     // kv.put, kv.delete, batch: the command to propose
	scan   kv.ScanRequest // kv.scan
	member server.Member  // cluster.add_member
	id     uint64         // cluster.remove_member: the member; cluster.transfer_leader: the target, 0 = any
}

// parseRequest matches method and path (the decoded URL path) to a route
// and parses its query and body. Every error is an *apiError with a 4xx
// status.
func parseRequest(method, path, rawQuery string, body []byte) (*request, error) {
	rt, arg, err := lookup(method, path)
	if err != nil {
		return nil, err
	}
	return rt.parseArgs(arg, rawQuery, body)
}

// parseArgs parses the arguments of a request that matched rt.
func (rt *route) parseArgs(arg, rawQuery string, body []byte) (*request, error) {
	q, err := parseQuery(rawQuery, rt.params)
	if err != nil {
		return nil, err
	}
	req := &request{route: rt}
	if rt.parse != nil {
		if err := rt.parse(req, arg, q, body); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// query holds a request's query parameters, each given at most once.
type query map[string]string

// parseQuery parses raw, accepting only the parameters in allowed, each at
// most once: a misspelt parameter must not be silently ignored.
func parseQuery(raw string, allowed []string) (query, error) {
	if raw == "" {
		return nil, nil
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, invalidf("bad query string: %v", err)
	}
	q := make(query, len(vals))
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return nil, invalidf("unknown query parameter %q: this endpoint takes none", name)
			}
			return nil, invalidf("unknown query parameter %q: this endpoint takes %s", name, strings.Join(allowed, ", "))
		}
		if vs := vals[name]; len(vs) > 1 {
			return nil, invalidf("query parameter %q is given %d times", name, len(vs))
		}
		q[name] = vals[name][0]
	}
	return q, nil
}

// uint returns the parameter name as a non-negative integer, and whether
// it was given.
func (q query) uint(name string) (uint64, bool, error) {
	s, ok := q[name]
	if !ok {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, invalidf("%s=%q: want a non-negative integer", name, s)
	}
	return v, true, nil
}

// bytes returns the parameter name, nil if absent or empty.
func (q query) bytes(name string) []byte {
	if v := q[name]; v != "" {
		return []byte(v)
	}
	return nil
}

// stale reads the consistency parameter: linearizable (the default) or stale.
func (q query) stale() (bool, error) {
	switch c, ok := q["consistency"]; {
	case !ok || c == "linearizable":
		return false, nil
	case c == "stale":
		return true, nil
	default:
		return false, invalidf("consistency=%q: want linearizable (the default) or stale", c)
	}
}

// condition reads if_version into op: the op then applies only if the key
// has that version, 0 meaning that it must not exist.
func (q query) condition(op *kv.Op) error {
	v, ok, err := q.uint("if_version")
	op.CheckVersion, op.IfVersion = ok, v
	return err
}

func parseKey(arg string) ([]byte, error) {
	if arg == "" {
		return nil, invalidf("empty key: the key is the path after /v1/kv/ (to list keys, GET /v1/kv?prefix=...)")
	}
	return []byte(arg), nil
}

// parseTTL parses a Go duration ("30s", "1h30m"); 0 means no TTL.
func parseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalidf("ttl=%q: want a duration such as 500ms, 30s or 2h", s)
	}
	if d < 0 {
		return 0, invalidf("ttl=%q: must not be negative", s)
	}
	return d, nil
}

func parseGet(req *request, arg string, q query, _ []byte) error {
	var err error
	if req.key, err = parseKey(arg); err != nil {
		return err
	}
	req.stale, err = q.stale()
	return err
}

func parsePut(req *request, arg string, q query, body []byte) error {
	key, err := parseKey(arg)
	if err != nil {
		return err
	}
	op := kv.Op{Type: kv.OpPut, Key: key}
	if len(body) > 0 {
		op.Value = body
	}
	if err := q.condition(&op); err != nil {
		return err
	}
	if s, ok := q["ttl"]; ok {
		if op.TTL, err = parseTTL(s); err != nil {
			return err
		}
	}
	req.cmd = kv.Command{Kind: kv.CmdOps, Ops: []kv.Op{op}}
	return nil
}

func parseDelete(req *request, arg string, q query, _ []byte) error {
	key, err := parseKey(arg)
	if err != nil {
		return err
	}
	op := kv.Op{Type: kv.OpDelete, Key: key}
	if err := q.condition(&op); err != nil {
		return err
	}
	req.cmd = kv.Command{Kind: kv.CmdOps, Ops: []kv.Op{op}}
	return nil
}

func parseScan(req *request, _ string, q query, _ []byte) error {
	s := &req.scan
	s.Prefix, s.Start, s.End = q.bytes("prefix"), q.bytes("start"), q.bytes("end")
	limit, ok, err := q.uint("limit")
	switch {
	case err != nil:
		return err
	case ok && limit == 0:
		return invalidf("limit=0: want at least 1 (at most %d are returned per page)", kv.MaxScanLimit)
	}
	// Larger limits are capped: a page ends with "next", so nothing is lost.
	s.Limit = int(min(limit, kv.MaxScanLimit))
	req.stale, err = q.stale()
	return err
}

// batchRequest is the body of POST /v1/batch.
type batchRequest struct {
	Ops []batchOp `json:"ops"`
}

// batchOp is one op of a batch. A key that is not UTF-8 can be given in
// base64 as key_base64 instead of key.
type batchOp struct {
	Op        string  `json:"op"`
	Key       string  `json:"key"`
	KeyBase64 []byte  `json:"key_base64"`
	Value     []byte  `json:"value"`
	IfVersion *uint64 `json:"if_version"`
	TTL       string  `json:"ttl"`
}

const batchExample = `{"ops":[{"op":"put","key":"k","value":"<base64>"},{"op":"get","key":"k"}]}`

func parseBatch(req *request, _ string, _ query, body []byte) error {
	var b batchRequest
	if err := decodeJSON(body, &b, "batch"); err != nil {
		return err
	}
	if len(b.Ops) == 0 {
		return invalidf("batch: no ops; want %s", batchExample)
	}
	ops := make([]kv.Op, len(b.Ops))
	for i := range b.Ops {
		var err error
		if ops[i], err = b.Ops[i].toOp(); err != nil {
			return invalidf("batch op %d: %v", i, err)
		}
	}
	req.cmd = kv.Command{Kind: kv.CmdOps, Ops: ops}
	return nil
}

func (o *batchOp) toOp() (kv.Op, error) {
	var op kv.Op
	switch o.Op {
	case "put":
		op.Type = kv.OpPut
	case "get":
		op.Type = kv.OpGet
	case "delete":
		op.Type = kv.OpDelete
	default:
		return op, fmt.Errorf("op %q: want put, get or delete", o.Op)
	}
	switch {
	case o.Key != "" && o.KeyBase64 != nil:
		return op, errors.New("give key or key_base64, not both")
	case o.Key != "":
		op.Key = []byte(o.Key)
	case len(o.KeyBase64) > 0:
		op.Key = o.KeyBase64
	default:
		return op, errors.New("empty key")
	}
	if op.Type != kv.OpPut && (o.Value != nil || o.TTL != "") {
		return op, fmt.Errorf("a %s takes no value and no ttl", o.Op)
	}
	if len(o.Value) > 0 {
		op.Value = o.Value
	}
	if o.IfVersion != nil {
		if op.Type == kv.OpGet {
			return op, errors.New("a get cannot be conditional (no if_version)")
		}
		op.CheckVersion, op.IfVersion = true, *o.IfVersion
	}
	if o.TTL != "" {
		d, err := parseTTL(o.TTL)
		if err != nil {
			return op, err
		}
		op.TTL = d
	}
	return op, nil
}

func parseAddMember(req *request, _ string, _ query, body []byte) error {
	if err := decodeJSON(body, &req.member, "member"); err != nil {
		return err
	}
	if req.member.ID == 0 || req.member.Raft == "" {
		return invalidf(`member: want {"id":N,"raft":"host:port","http":"http://host:port","rpc":"host:port"} with an id and a raft address`)
	}
	return nil
}

func parseRemoveMember(req *request, arg string, _ query, _ []byte) error {
	id, err := strconv.ParseUint(arg, 10, 64)
	if err != nil || id == 0 {
		return invalidf("member id %q: want a positive integer", arg)
	}
	req.id = id
	return nil
}

func parseTransfer(req *request, _ string, _ query, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // pick the most caught-up voter
	}
	var t struct {
		To uint64 `json:"to"`
	}
	if err := decodeJSON(body, &t, "transfer-leader"); err != nil {
		return err
	}
	req.id = t.To
	return nil
}

// decodeJSON decodes body, which must hold exactly one JSON value, into v,
// refusing fields v does not have.
func decodeJSON(body []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return invalidf("%s: empty body, want JSON", what)
		}
		return invalidf("%s: bad JSON: %v", what, strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalidf("%s: bad JSON: more data after the first value", what)
	}
	return nil
}
