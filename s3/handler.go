package s3

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minikv-go/minikv/api"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3/sigv4"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/minikv-go/minikv/server"
)

// Options configure the S3 handler.
type Options struct {
	// Domain enables virtual-host style requests, bucket.Domain, as well
	// as path-style ones. "" serves path-style requests only.
	Domain string
	// Logger logs failed requests (5xx at warn level, others at debug);
	// nil: slog.Default().
	Logger *slog.Logger
	// Metrics records every request (api "s3"); nil records nothing.
	Metrics *api.Metrics
}

// Headers the handler sets or reads besides S3's own.
const (
	// forwardedByHeader marks a request a follower passes on to the leader:
	// it names the follower. A request that carries it is never forwarded
	// again.
	forwardedByHeader = "X-Minikv-Forwarded-By"
	// nodeHeader names the node that served a request, on every answer.
	nodeHeader = "X-Minikv-Node"
)

// Handler is the S3 API of one node. It is safe for concurrent use.
type Handler struct {
	node     *server.Node
	store    *store.Store
	verifier *sigv4.Verifier
	domain   string
	region   string
	log      *slog.Logger
	metrics  *api.Metrics
	nodeID   string
	proxy    *httputil.ReverseProxy

	reqSeq    atomic.Uint64
	reqPrefix string // random per handler, so request ids differ across restarts
}

// New returns the S3 handler of node, serving objects from st and
// authenticating requests with v. If v has no Domain, it gets opts.Domain,
// which SigV2 presigned URLs of virtual-host style requests need: call
// New before v verifies anything.
func New(node *server.Node, st *store.Store, v *sigv4.Verifier, opts Options) http.Handler {
	if v.Domain == "" {
		v.Domain = opts.Domain
	}
	h := &Handler{
		node: node, store: st, verifier: v,
		domain:  opts.Domain,
		region:  v.Region,
		log:     opts.Logger,
		metrics: opts.Metrics,
		nodeID:  strconv.FormatUint(node.ID(), 10),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.region == "" {
		h.region = "us-east-1"
	}
	var seed [2]byte
	_, _ = rand.Read(seed[:])
	h.reqPrefix = strings.ToUpper(hex.EncodeToString(seed[:]))
	h.proxy = h.newProxy()
	return h
}

// ownerOf is the owner S3 documents name for a request signed with
// accessKey: minikv has one account per access key, whose canonical user
// id is derived from the key.
func ownerOf(accessKey string) owner {
	sum := sha256.Sum256([]byte("minikv-owner:" + accessKey))
	return owner{ID: hex.EncodeToString(sum[:]), DisplayName: accessKey}
}

// request is one request on its way through the handler.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	rt   route
	id   string
	auth *sigv4.Auth
	// body is the decoded payload: de-chunked, and checked against the
	// signature as it is read (its last Read fails if anything does not
	// verify). Operations read the body only through it.
	body io.Reader
}

// handlers are the implemented operations.
var handlers = map[operation]func(*Handler, *request) error{
	opListBuckets:             (*Handler).listBuckets,
	opCreateBucket:            (*Handler).createBucket,
	opHeadBucket:              (*Handler).headBucket,
	opDeleteBucket:            (*Handler).deleteBucket,
	opGetBucketLocation:       (*Handler).getBucketLocation,
	opGetBucketVersioning:     (*Handler).getBucketVersioning,
	opGetObjectLockConfig:     bucketNotConfigured(codeNoObjectLockConfig, "Object Lock configuration does not exist for this bucket"),
	opGetBucketPolicy:         bucketNotConfigured(codeNoSuchBucketPolicy, "The bucket policy does not exist"),
	opGetBucketCors:           bucketNotConfigured(codeNoSuchCORSConfig, "The CORS configuration does not exist"),
	opGetBucketLifecycle:      bucketNotConfigured(codeNoSuchLifecycleConfig, "The lifecycle configuration does not exist"),
	opGetBucketEncryption:     bucketNotConfigured(codeNoEncryptionConfig, "The server side encryption configuration was not found"),
	opDeleteBucketPolicy:      (*Handler).deleteBucketConfig,
	opDeleteBucketCors:        (*Handler).deleteBucketConfig,
	opDeleteBucketLifecycle:   (*Handler).deleteBucketConfig,
	opGetBucketAcl:            (*Handler).getBucketAcl,
	opGetBucketRequestPayment: (*Handler).getBucketRequestPayment,
	opListObjects:             (*Handler).listObjectsV1,
	opListObjectsV2:           (*Handler).listObjectsV2,
	opListObjectVersions:      (*Handler).listObjectVersions,
	opDeleteObjects:           (*Handler).deleteObjects,
	opPutObject:               (*Handler).putObject,
	opCopyObject:              (*Handler).copyObject,
	opGetObject:               (*Handler).getObject,
	opHeadObject:              (*Handler).getObject,
	opDeleteObject:            (*Handler).deleteObject,
	opGetObjectAcl:            (*Handler).getObjectAcl,
	opGetObjectTagging:        (*Handler).getObjectTagging,
	opCreateMultipartUpload:   (*Handler).createMultipartUpload,
	opUploadPart:              (*Handler).uploadPart,
	opUploadPartCopy:          (*Handler).uploadPartCopy,
	opCompleteMultipartUpload: (*Handler).completeMultipartUpload,
	opAbortMultipartUpload:    (*Handler).abortMultipartUpload,
	opListParts:               (*Handler).listParts,
	opListMultipartUploads:    (*Handler).listMultipartUploads,
}

// ServeHTTP serves one S3 request: route, authenticate, forward a write
// to the leader if this node is not it, run the operation, and answer an
// error as S3's XML.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := h.newRequestID()
	hdr := w.Header()
	hdr.Set("X-Amz-Request-Id", id)
	hdr.Set("X-Amz-Id-2", hostID(id))
	hdr.Set("Server", "minikv")
	hdr.Set(nodeHeader, h.nodeID)

	sw := &statusWriter{ResponseWriter: w}
	rt := routeRequest(r, h.domain)
	code, err := h.serve(sw, r, rt, id)
	if err != nil {
		e := toError(err)
		code = e.Code
		h.logError(r, rt, id, e)
		if sw.wrote {
			// The answer has started (a GET whose object failed half-way):
			// the only honest thing left is to break the connection, so the
			// client does not take a short body for the object.
			h.metrics.Observe("s3", string(rt.op), code, time.Since(start))
			panic(http.ErrAbortHandler)
		}
		writeError(sw, r, rt, id, e)
	}
	h.metrics.Observe("s3", string(rt.op), code, time.Since(start))
}

// serve runs the request and returns its metrics code ("ok", "forwarded")
// or the error to answer with.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rt route, id string) (string, error) {
	// Authenticate first: net/http sends "100 Continue" to a client that
	// asks for it only when the body is first read, so a request that
	// fails here never has its body sent. The verifier reads nothing.
	//
	// The verifier and the operation get a copy of r whose body notes
	// whether it was read. r itself keeps its body: net/http recognises
	// its own reader of a body that waits for 100 Continue, and forwarding
	// passes it on untouched.
	tb := &trackedBody{ReadCloser: r.Body}
	if tb.ReadCloser == nil {
		tb.ReadCloser = http.NoBody
	}
	vr := new(http.Request)
	*vr = *r
	vr.Body = tb
	auth, body, err := h.verifier.Verify(vr)
	if err != nil {
		return "", err
	}
	defer body.Close()
	if rt.err != nil {
		return "", rt.err
	}
	if isWrite(r.Method) && !h.isLeader() {
		return h.forward(w, r, rt, id)
	}
	run, ok := handlers[rt.op]
	if !ok { // cannot happen: the router names only implemented operations without err
		return "", errorf(codeNotImplemented, "%s is not implemented by minikv", rt.op)
	}
	err = run(h, &request{w: w, r: vr, rt: rt, id: id, auth: auth, body: body})
	var nl *kv.NotLeaderError
	if errors.As(err, &nl) && !tb.touched.Load() && !w.(*statusWriter).wrote {
		// Leadership moved between the check above and the write, and the
		// body is still unread: the leader can still take the request.
		return h.forward(w, r, rt, id)
	}
	if err != nil {
		return "", err
	}
	return "ok", nil
}

// isWrite reports whether a method writes: everything but GET and HEAD.
func isWrite(method string) bool { return method != http.MethodGet && method != http.MethodHead }

func (h *Handler) isLeader() bool { return h.node.Status().Role == "leader" }

// newRequestID returns a request id unique to this handler's lifetime:
// 16 upper-case hex digits, like S3's.
func (h *Handler) newRequestID() string {
	n := h.reqSeq.Add(1)
	return h.reqPrefix + strings.ToUpper(strconv.FormatUint(n|1<<48, 16)[1:])
}

// hostID is the x-amz-id-2 of a request: S3 uses it to name the host that
// served it; minikv derives it from the request id.
func hostID(reqID string) string {
	sum := sha256.Sum256([]byte(reqID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func (h *Handler) logError(r *http.Request, rt route, id string, e *Error) {
	level := slog.LevelDebug
	if e.Status >= 500 && e.Status != http.StatusNotImplemented {
		level = slog.LevelWarn
	}
	h.log.Log(r.Context(), level, "s3 request failed", "op", rt.op, "method", r.Method, "path", r.URL.Path,
		"bucket", rt.bucket, "code", e.Code, "status", e.Status, "request_id", id, "err", e.err)
}

// statusWriter remembers whether the answer has started, so an error that
// happens afterwards (a GET whose body fails half-way) is not written
// into the body; the connection is closed instead.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(status int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// trackedBody notes whether a request body has been read at all.
type trackedBody struct {
	io.ReadCloser
	touched atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.touched.Store(true)
	return b.ReadCloser.Read(p)
}
