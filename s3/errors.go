package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3/sigv4"
	"github.com/minikv-go/minikv/s3/store"
)

// S3 error codes the handler itself produces. The store and the verifier
// produce others (NoSuchKey, SignatureDoesNotMatch, ...); statusOf knows
// the status of all of them.
const (
	codeAccessDenied          = "AccessDenied"
	codeBadDigest             = "BadDigest"
	codeEntityTooLarge        = "EntityTooLarge"
	codeIncompleteBody        = "IncompleteBody"
	codeInternalError         = "InternalError"
	codeInvalidArgument       = "InvalidArgument"
	codeInvalidDigest         = "InvalidDigest"
	codeInvalidRange          = "InvalidRange"
	codeInvalidRequest        = "InvalidRequest"
	codeMalformedXML          = "MalformedXML"
	codeMethodNotAllowed      = "MethodNotAllowed"
	codeMissingContentLength  = "MissingContentLength"
	codeNotImplemented        = "NotImplemented"
	codeNotModified           = "NotModified"
	codePreconditionFailed    = "PreconditionFailed"
	codeServiceUnavailable    = "ServiceUnavailable"
	codeRequestCanceled       = "RequestCanceled"
	codeInvalidBucketName     = "InvalidBucketName"
	codeNoSuchBucket          = "NoSuchBucket"
	codeNoSuchKey             = "NoSuchKey"
	codeInvalidPart           = "InvalidPart"
	codeKeyTooLong            = "KeyTooLongError"
	codeMetadataTooLarge      = "MetadataTooLarge"
	codeNoSuchBucketPolicy    = "NoSuchBucketPolicy"
	codeNoSuchCORSConfig      = "NoSuchCORSConfiguration"
	codeNoSuchLifecycleConfig = "NoSuchLifecycleConfiguration"
	codeNoObjectLockConfig    = "ObjectLockConfigurationNotFoundError"
	codeNoEncryptionConfig    = "ServerSideEncryptionConfigurationNotFoundError"
)

// statusClientClosed is the status recorded in metrics and logs when the
// client went away before the answer (nginx's 499); nobody sees it.
const statusClientClosed = 499

// statusOf is the HTTP status S3 answers each error code with. A code not
// listed is a 400 if it comes from the store or the verifier with no
// status of its own (they are all client errors) — see toError.
var statusOf = map[string]int{
	codeAccessDenied:                    http.StatusForbidden,
	"AccountProblem":                    http.StatusForbidden,
	"AuthorizationHeaderMalformed":      http.StatusBadRequest,
	"AuthorizationQueryParametersError": http.StatusBadRequest,
	codeBadDigest:                       http.StatusBadRequest,
	"BucketAlreadyExists":               http.StatusConflict,
	"BucketAlreadyOwnedByYou":           http.StatusConflict,
	"BucketNotEmpty":                    http.StatusConflict,
	"ConditionalRequestConflict":        http.StatusConflict,
	codeEntityTooLarge:                  http.StatusBadRequest,
	"EntityTooSmall":                    http.StatusBadRequest,
	"ExpiredToken":                      http.StatusBadRequest,
	codeIncompleteBody:                  http.StatusBadRequest,
	codeInternalError:                   http.StatusInternalServerError,
	"InvalidAccessKeyId":                http.StatusForbidden,
	codeInvalidArgument:                 http.StatusBadRequest,
	codeInvalidBucketName:               http.StatusBadRequest,
	"InvalidBucketState":                http.StatusConflict,
	"InvalidChunkSizeError":             http.StatusBadRequest,
	codeInvalidDigest:                   http.StatusBadRequest,
	"InvalidLocationConstraint":         http.StatusBadRequest,
	codeInvalidPart:                     http.StatusBadRequest,
	"InvalidPartOrder":                  http.StatusBadRequest,
	codeInvalidRange:                    http.StatusRequestedRangeNotSatisfiable,
	codeInvalidRequest:                  http.StatusBadRequest,
	"InvalidStorageClass":               http.StatusBadRequest,
	"InvalidURI":                        http.StatusBadRequest,
	codeKeyTooLong:                      http.StatusBadRequest,
	"MalformedTrailerError":             http.StatusBadRequest,
	codeMalformedXML:                    http.StatusBadRequest,
	codeMetadataTooLarge:                http.StatusBadRequest,
	codeMethodNotAllowed:                http.StatusMethodNotAllowed,
	codeMissingContentLength:            http.StatusLengthRequired,
	"MissingRequestBodyError":           http.StatusBadRequest,
	"NoSuchBucket":                      http.StatusNotFound,
	codeNoSuchBucketPolicy:              http.StatusNotFound,
	codeNoSuchCORSConfig:                http.StatusNotFound,
	"NoSuchKey":                         http.StatusNotFound,
	codeNoSuchLifecycleConfig:           http.StatusNotFound,
	"NoSuchUpload":                      http.StatusNotFound,
	"NoSuchVersion":                     http.StatusNotFound,
	codeNotImplemented:                  http.StatusNotImplemented,
	codeNotModified:                     http.StatusNotModified,
	codeNoObjectLockConfig:              http.StatusNotFound,
	codePreconditionFailed:              http.StatusPreconditionFailed,
	"RequestTimeTooSkewed":              http.StatusForbidden,
	"RequestTimeout":                    http.StatusBadRequest,
	codeNoEncryptionConfig:              http.StatusNotFound,
	codeServiceUnavailable:              http.StatusServiceUnavailable,
	"SignatureDoesNotMatch":             http.StatusForbidden,
	"SlowDown":                          http.StatusServiceUnavailable,
	"XAmzContentSHA256Mismatch":         http.StatusBadRequest,
	codeRequestCanceled:                 statusClientClosed,
}

// Error is an S3 error as the handler answers it: the code and message of
// the <Error> document, its HTTP status, and what the log needs.
type Error struct {
	Code    string
	Message string
	Status  int

	details []sigv4.Detail // extra elements of the error document
	header  http.Header    // extra response headers (Content-Range, ...)
	allow   string         // MethodNotAllowed: the Allow header
	err     error          // the error behind it, for the log
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func (e *Error) Unwrap() error { return e.err }

// errorf makes the error with the given code and a formatted message; the
// status is the code's.
func errorf(code, format string, args ...any) *Error {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// withHeader adds a response header to e.
func (e *Error) withHeader(name, value string) *Error {
	if e.header == nil {
		e.header = http.Header{}
	}
	e.header.Set(name, value)
	return e
}

// toError turns any error an operation returns into the S3 error it
// answers with.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		status := se.Status
		if status == 0 {
			status = statusFor(se.Code)
		}
		return &Error{Code: se.Code, Message: se.Message, Status: status, details: se.Details, err: err}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Code: codeEntityTooLarge, Status: http.StatusBadRequest, err: err,
			Message: fmt.Sprintf("Your proposed upload exceeds the maximum allowed size of %d bytes for this request.", mbe.Limit)}
	}
	var nl *kv.NotLeaderError
	switch {
	case errors.As(err, &nl):
		return &Error{Code: codeServiceUnavailable, Status: http.StatusServiceUnavailable, err: err,
			Message: "Leadership of the cluster is changing; nothing was written. Please retry."}
	case errors.Is(err, kv.ErrTimeout):
		return &Error{Code: codeServiceUnavailable, Status: http.StatusServiceUnavailable, err: err,
			Message: "The cluster did not answer in time; a write may or may not have been applied. Please retry."}
	case errors.Is(err, kv.ErrUnavailable):
		return &Error{Code: codeServiceUnavailable, Status: http.StatusServiceUnavailable, err: err,
			Message: "The cluster cannot take the request right now. Please retry."}
	case errors.Is(err, context.Canceled):
		return &Error{Code: codeRequestCanceled, Status: statusClientClosed, err: err, Message: "The client went away."}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Code: codeIncompleteBody, Status: http.StatusBadRequest, err: err,
			Message: "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	}
	if code := store.Code(err); code != "" && code != codeInternalError {
		return &Error{Code: code, Message: store.Message(err), Status: store.Status(err), err: err}
	}
	return &Error{Code: codeInternalError, Status: http.StatusInternalServerError, err: err,
		Message: "We encountered an internal error. Please try again."}
}

// statusFor is the status of code; an unknown code is a client error.
func statusFor(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// errorDoc is the XML document of every error answer:
//
//	<Error><Code>NoSuchKey</Code><Message>...</Message><Key>k</Key>
//	<Resource>/bucket/k</Resource><RequestId>...</RequestId></Error>
type errorDoc struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	Resource   string   `xml:"Resource"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
	Details    []detailElem
}

// detailElem is an extra element, named by its XMLName.
type detailElem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// writeError answers e. HEAD answers carry no body, as S3's do; a
// NotModified has none either (the status says everything).
func writeError(w http.ResponseWriter, r *http.Request, rt route, reqID string, e *Error) {
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	if e.allow != "" {
		h.Set("Allow", e.allow)
	}
	if e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	status := e.Status
	if status == statusClientClosed {
		return // nobody is listening
	}
	if r.Method == http.MethodHead || status == http.StatusNotModified {
		h.Del("Content-Type")
		w.WriteHeader(status)
		return
	}
	doc := errorDoc{Code: e.Code, Message: e.Message, Resource: resource(r), RequestID: reqID, HostID: hostID(reqID)}
	switch e.Code {
	case codeNoSuchBucket, "BucketNotEmpty", "BucketAlreadyOwnedByYou", "BucketAlreadyExists", codeInvalidBucketName:
		doc.BucketName = rt.bucket
	case codeNoSuchKey:
		doc.Key = rt.key
	}
	for _, d := range e.details {
		doc.Details = append(doc.Details, detailElem{XMLName: xml.Name{Local: d.Name}, Value: d.Value})
	}
	writeXML(w, status, doc)
}

// resource is the <Resource> of an error: the request's path.
func resource(r *http.Request) string {
	if r.URL.Path == "" {
		return "/"
	}
	return r.URL.Path
}
