package sigv4

import (
	"fmt"
	"net/http"
)

// Error is an authentication failure, expressed the way S3 reports it: an
// S3 error code (the <Code> element of the error XML), a human message and
// the HTTP status to answer with. Details carries the extra elements S3 adds
// for some codes (StringToSign for SignatureDoesNotMatch, ServerTime for
// RequestTimeTooSkewed, ...), in the order they should be written.
//
// Every error returned by Verify, and every error the body reader returns
// instead of io.EOF, is an *Error; use errors.As to get at it.
type Error struct {
	Code    string
	Message string
	Status  int
	Details []Detail
}

// Detail is one extra element of an S3 error document.
type Detail struct {
	Name  string
	Value string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Detail returns the value of the named detail, or "" if it is absent.
func (e *Error) Detail(name string) string {
	for _, d := range e.Details {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

// S3 error codes produced by this package.
const (
	CodeAccessDenied                 = "AccessDenied"
	CodeAuthorizationHeaderMalformed = "AuthorizationHeaderMalformed"
	CodeAuthorizationQueryParams     = "AuthorizationQueryParametersError"
	CodeIncompleteBody               = "IncompleteBody"
	CodeInvalidAccessKeyID           = "InvalidAccessKeyId"
	CodeInvalidArgument              = "InvalidArgument"
	CodeInvalidChunkSize             = "InvalidChunkSizeError"
	CodeInvalidRequest               = "InvalidRequest"
	CodeInvalidURI                   = "InvalidURI"
	CodeMalformedTrailer             = "MalformedTrailerError"
	CodeRequestTimeTooSkewed         = "RequestTimeTooSkewed"
	CodeSignatureDoesNotMatch        = "SignatureDoesNotMatch"
	CodeContentSHA256Mismatch        = "XAmzContentSHA256Mismatch"
)

// ErrAnonymous is returned by Verify for a request that carries no
// signature at all (no Authorization header, no X-Amz-Signature query
// parameter). It is an AccessDenied error, but a distinct value: the
// handler decides whether an anonymous request is allowed (a public bucket)
// and, if so, reads r.Body itself. Test for it with errors.Is; never modify it.
var ErrAnonymous = &Error{Code: CodeAccessDenied, Message: "Access Denied", Status: http.StatusForbidden}

func newError(code string, status int, msg string, details ...Detail) *Error {
	return &Error{Code: code, Message: msg, Status: status, Details: details}
}

func errHeaderMalformed(reason string) *Error {
	return newError(CodeAuthorizationHeaderMalformed, http.StatusBadRequest,
		"The authorization header is malformed; "+reason)
}

func errQueryMalformed(msg string) *Error {
	return newError(CodeAuthorizationQueryParams, http.StatusBadRequest, msg)
}

func errAccessDenied(msg string, details ...Detail) *Error {
	return newError(CodeAccessDenied, http.StatusForbidden, msg, details...)
}

func errInvalidAccessKey(accessKey string) *Error {
	return newError(CodeInvalidAccessKeyID, http.StatusForbidden,
		"The AWS access key ID you provided does not exist in our records.",
		Detail{"AWSAccessKeyId", accessKey})
}

func errSignatureMismatch(details ...Detail) *Error {
	return newError(CodeSignatureDoesNotMatch, http.StatusForbidden,
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.",
		details...)
}

func errChunkSignatureMismatch(reason string) *Error {
	return newError(CodeSignatureDoesNotMatch, http.StatusForbidden,
		"The request signature we calculated does not match the signature you provided: "+reason)
}

func errUnsupportedMechanism() *Error {
	return newError(CodeInvalidRequest, http.StatusBadRequest,
		"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
}

func errIncompleteBody(msg string) *Error {
	return newError(CodeIncompleteBody, http.StatusBadRequest, msg)
}

func errChunkSize(msg string) *Error {
	return newError(CodeInvalidChunkSize, http.StatusForbidden, msg)
}

func errMalformedTrailer(msg string) *Error {
	return newError(CodeMalformedTrailer, http.StatusBadRequest,
		"The request contained trailing data that was not well-formed or did not conform to our published schema: "+msg)
}

func errContentSHA256Mismatch(claimed, computed string) *Error {
	return newError(CodeContentSHA256Mismatch, http.StatusBadRequest,
		"The provided 'x-amz-content-sha256' header does not match what was computed.",
		Detail{"ClientComputedContentSHA256", claimed},
		Detail{"S3ComputedContentSHA256", computed})
}
