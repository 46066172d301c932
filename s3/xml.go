package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minikv-go/minikv/s3/store"
)

// s3NS is the namespace of S3's XML documents.
const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxXMLBody bounds the XML request bodies (CreateBucketConfiguration,
// DeleteObjects, CompleteMultipartUpload). S3's own limit for a
// DeleteObjects of 1,000 keys of 1,024 bytes each is about 1 MiB, and a
// CompleteMultipartUpload of 10,000 parts with their checksums fits too.
const maxXMLBody = 2 << 20

// writeXML answers status with v as the body. The document is encoded
// first, so that the answer has a Content-Length as S3's do: every
// document is small and bounded (a page of a listing holds at most 1,000
// entries).
func writeXML(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		// Cannot happen: the documents are plain structs of strings and
		// numbers.
		status, buf = http.StatusInternalServerError, bytes.Buffer{}
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a failed write means the client went away
}

// readXML decodes the XML request body of q into v, which names the
// document's root element. The body is read through a limit, never whole
// beyond it, and checked against the Content-MD5 or x-amz-checksum-*
// header if the client sent one. An empty body, a document that does not
// parse or has another root, and trailing garbage are MalformedXML; a body
// over the limit is too.
func readXML(q *request, v any) error {
	b, err := readSmallBody(q)
	if err != nil {
		return err
	}
	return decodeXML(b, v)
}

// readSmallBody reads a body of at most maxXMLBody bytes and verifies its
// digests.
func readSmallBody(q *request) ([]byte, error) {
	lr := &io.LimitedReader{R: q.body, N: maxXMLBody + 1}
	b, err := io.ReadAll(lr)
	if err != nil {
		return nil, err // the verifier's error, or the client's
	}
	if len(b) > maxXMLBody {
		return nil, errorf(codeMalformedXML, "The XML you provided was larger than the %d bytes allowed.", maxXMLBody)
	}
	want, err := contentMD5(q.r.Header)
	if err != nil {
		return nil, err
	}
	if want != nil {
		if got := md5.Sum(b); !bytes.Equal(got[:], want) {
			return nil, errorf(codeBadDigest, "The Content-MD5 you specified did not match what we received.")
		}
	}
	sums, err := requestChecksums(q.r.Header)
	if err != nil {
		return nil, err
	}
	for alg, v := range sums {
		if got := store.Checksum(alg, b); got != v {
			return nil, errorf(codeBadDigest, "The %s you specified did not match the calculated checksum.", alg)
		}
	}
	return b, nil
}

// decodeXML decodes one XML document, and nothing more, from b into v.
func decodeXML(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errorf(codeMalformedXML, "The XML you provided was empty.")
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return errorf(codeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: %v", err)
	}
	// Only whitespace, comments and processing instructions may follow.
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errorf(codeMalformedXML, "The XML you provided was not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errorf(codeMalformedXML, "The XML you provided has text after its root element.")
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
		default:
			return errorf(codeMalformedXML, "The XML you provided has more than one root element.")
		}
	}
}

// Request documents.

// createBucketConfiguration is CreateBucket's optional body.
type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// deleteRequest is DeleteObjects' body.
type deleteRequest struct {
	XMLName xml.Name         `xml:"Delete"`
	Quiet   bool             `xml:"Quiet"`
	Objects []deleteObjectID `xml:"Object"`
}

type deleteObjectID struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId"`
	ETag      string `xml:"ETag"`
}

// completeRequest is CompleteMultipartUpload's body.
type completeRequest struct {
	XMLName xml.Name       `xml:"CompleteMultipartUpload"`
	Parts   []completePart `xml:"Part"`
}

type completePart struct {
	PartNumber        int    `xml:"PartNumber"`
	ETag              string `xml:"ETag"`
	ChecksumCRC32     string `xml:"ChecksumCRC32"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME"`
	ChecksumSHA1      string `xml:"ChecksumSHA1"`
	ChecksumSHA256    string `xml:"ChecksumSHA256"`
}

// Response documents. Each carries S3's namespace.

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type listAllMyBucketsResult struct {
	XMLName xml.Name   `xml:"ListAllMyBucketsResult"`
	NS      string     `xml:"xmlns,attr"`
	Owner   owner      `xml:"Owner"`
	Buckets bucketList `xml:"Buckets"` // present even when empty
}

type bucketList struct {
	Bucket []bucketInfo `xml:"Bucket"`
}

type bucketInfo struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	NS      string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	NS      string   `xml:"xmlns,attr"`
}

type requestPaymentConfiguration struct {
	XMLName xml.Name `xml:"RequestPaymentConfiguration"`
	NS      string   `xml:"xmlns,attr"`
	Payer   string   `xml:"Payer"`
}

// tagging is a GetObjectTagging answer: always an empty tag set.
type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr"`
	TagSet  struct{} `xml:"TagSet"`
}

type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	NS      string   `xml:"xmlns,attr"`
	Owner   owner    `xml:"Owner"`
	Grants  []grant  `xml:"AccessControlList>Grant"`
}

type grant struct {
	Grantee    grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

type grantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	XSIType     string `xml:"xsi:type,attr"`
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	checksumElems
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	checksumElems
}

// checksumElems are the checksum elements of several documents.
type checksumElems struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

type deleteResult struct {
	XMLName xml.Name        `xml:"DeleteResult"`
	NS      string          `xml:"xmlns,attr"`
	Deleted []deletedObject `xml:"Deleted"`
	Errors  []deleteError   `xml:"Error"`
}

type deletedObject struct {
	Key string `xml:"Key"`
}

type deleteError struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumElems
}

// Formatting helpers.

// quoteETag is an ETag as S3 sends it: in double quotes.
func quoteETag(etag string) string { return `"` + etag + `"` }

// trimETag accepts an ETag with or without quotes (and a weak W/ prefix,
// which If-None-Match may carry).
func trimETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}

// isoTime is a time as S3's XML documents write it.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// httpTime is a time as HTTP headers write it (Last-Modified, ...).
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// itoa is strconv.Itoa for int64.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
