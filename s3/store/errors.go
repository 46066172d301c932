package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/minikv-go/minikv/kv"
)

// Error is an S3 error: the code and HTTP status the handler answers with,
// and S3's usual message. The exported Err* values are the errors this
// package returns, usually wrapped with details; compare with errors.Is and
// turn any error into its answer with Code, Status and Message.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return "s3: " + e.Code + ": " + e.Message }

// The errors of the store, named after their S3 codes.
var (
	ErrNoSuchBucket                = &Error{"NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist."}
	ErrNoSuchKey                   = &Error{"NoSuchKey", http.StatusNotFound, "The specified key does not exist."}
	ErrNoSuchUpload                = &Error{"NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."}
	ErrBucketNotEmpty              = &Error{"BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty."}
	ErrBucketAlreadyOwnedByYou     = &Error{"BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."}
	ErrInvalidBucketName           = &Error{"InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."}
	ErrInvalidPart                 = &Error{"InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."}
	ErrInvalidPartOrder            = &Error{"InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts list must be specified in order by part number."}
	ErrEntityTooSmall              = &Error{"EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."}
	ErrEntityTooLarge              = &Error{"EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."}
	ErrInvalidRange                = &Error{"InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"}
	ErrPreconditionFailed          = &Error{"PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"}
	ErrNotModified                 = &Error{"NotModified", http.StatusNotModified, "Not Modified"}
	ErrBadDigest                   = &Error{"BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received."}
	ErrInvalidDigest               = &Error{"InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified is not valid."}
	ErrInvalidArgument             = &Error{"InvalidArgument", http.StatusBadRequest, "Invalid Argument"}
	ErrInvalidRequest              = &Error{"InvalidRequest", http.StatusBadRequest, "Invalid Request"}
	ErrKeyTooLong                  = &Error{"KeyTooLongError", http.StatusBadRequest, "Your key is too long"}
	ErrMetadataTooLarge            = &Error{"MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."}
	ErrIncompleteBody              = &Error{"IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	ErrMalformedXML                = &Error{"MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."}
	ErrRequestTimeout              = &Error{"RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."}
	ErrOperationAborted            = &Error{"OperationAborted", http.StatusConflict, "A conflicting conditional operation is currently in progress against this resource. Please try again."}
	ErrXAmzContentChecksumMismatch = &Error{"XAmzContentChecksumMismatch", http.StatusBadRequest, "The provided 'x-amz-checksum' header does not match what was computed."}
	ErrNotImplemented              = &Error{"NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented."}
	ErrServiceUnavailable          = &Error{"ServiceUnavailable", http.StatusServiceUnavailable, "Please reduce your request rate."}
	ErrInternal                    = &Error{"InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."}
)

// detailError is one of the Err* values with a message of its own.
type detailError struct {
	base *Error
	msg  string
}

func (e *detailError) Error() string { return "s3: " + e.base.Code + ": " + e.msg }
func (e *detailError) Unwrap() error { return e.base }

// errorf returns base with a specific message, as S3 gives one for some
// errors ("Part number must be an integer between 1 and 10000, inclusive").
func errorf(base *Error, format string, args ...any) error {
	return &detailError{base: base, msg: fmt.Sprintf(format, args...)}
}

// ChecksumError reports a body whose digest is not the one the client
// sent. Algorithm is "MD5" for Content-MD5, or the x-amz-checksum
// algorithm ("CRC32", ...). It is ErrBadDigest for errors.Is and Code, as
// S3 answers a wrong x-amz-checksum header; a handler that verifies a
// trailing checksum may prefer ErrXAmzContentChecksumMismatch's code, and
// can tell the cases apart with errors.As.
type ChecksumError struct {
	Algorithm string
	Expected  string // base64 (hex for MD5)
	Computed  string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("s3: BadDigest: %s: expected %s, computed %s", e.Algorithm, e.Expected, e.Computed)
}

// Unwrap makes a ChecksumError an ErrBadDigest.
func (e *ChecksumError) Unwrap() error { return ErrBadDigest }

func (e *ChecksumError) message() string {
	if e.Algorithm == "MD5" {
		return ErrBadDigest.Message
	}
	return "The " + e.Algorithm + " you specified did not match the calculated checksum."
}

// Code returns the S3 error code of err: the code of the Err* value it
// wraps, "ServiceUnavailable" for the kv errors a client should retry
// (not the leader, timeout, unavailable), "InternalError" for anything
// else, and "" for nil.
func Code(err error) string { return s3Error(err).Code }

// Status returns the HTTP status of err (200 for nil).
func Status(err error) int { return s3Error(err).Status }

// Message returns the message of the S3 error XML for err.
func Message(err error) string {
	var c *ChecksumError
	if errors.As(err, &c) {
		return c.message()
	}
	var d *detailError
	if errors.As(err, &d) {
		return d.msg
	}
	return s3Error(err).Message
}

func s3Error(err error) *Error {
	if err == nil {
		return &Error{Status: http.StatusOK}
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, kv.ErrNotLeader), errors.Is(err, kv.ErrTimeout), errors.Is(err, kv.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded):
		return ErrServiceUnavailable
	}
	return ErrInternal
}
