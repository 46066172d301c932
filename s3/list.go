package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/minikv-go/minikv/s3/store"
)

// Listing. The store lists a page in UTF-8 binary key order, rolling keys
// up into common prefixes at the delimiter; the handler reads the
// arguments of the three listing APIs and writes their documents:
//
//   - ListObjects (v1): marker; NextMarker only with a delimiter, as S3
//     (without one, clients continue from the last key).
//   - ListObjectsV2: continuation-token, an opaque token (the last key or
//     common prefix returned, base64) that takes precedence over
//     start-after; fetch-owner; KeyCount.
//   - ListObjectVersions: the current objects, each as its only version,
//     "null" (no bucket is versioned); key-marker.
//
// All three accept prefix, delimiter, max-keys (0 gives an empty page;
// more than 1000 gives 1000) and encoding-type=url, which URL-encodes the
// keys and prefixes of the answer.

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type objectElem struct {
	Key               string   `xml:"Key"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumAlgorithm []string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              int64    `xml:"Size"`
	Owner             *owner   `xml:"Owner,omitempty"`
	StorageClass      string   `xml:"StorageClass"`
}

type listBucketResult struct {
	XMLName        xml.Name       `xml:"ListBucketResult"`
	NS             string         `xml:"xmlns,attr"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	Contents       []objectElem   `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

type listBucketResultV2 struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	NS                    string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	Contents              []objectElem   `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type listVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	NS                  string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	Versions            []versionElem  `xml:"Version"`
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

type versionElem struct {
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass"`
}

// listArgs are the arguments the listings share.
type listArgs struct {
	prefix, delimiter string
	maxKeys           int
	encType           string
	enc               func(string) string
}

func readListArgs(q url.Values) (listArgs, error) {
	enc, err := encodingType(q)
	if err != nil {
		return listArgs{}, err
	}
	maxKeys, err := intArg(q, "max-keys", store.MaxListKeys)
	if err != nil {
		return listArgs{}, err
	}
	return listArgs{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: min(maxKeys, store.MaxListKeys),
		encType: q.Get("encoding-type"), enc: enc}, nil
}

// list lists a page after startAfter; max-keys=0 gives an empty page of a
// bucket that must exist.
func (h *Handler) list(q *request, a listArgs, startAfter string) (store.ListResult, error) {
	if a.maxKeys == 0 {
		_, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket)
		return store.ListResult{}, err
	}
	return h.store.ListObjects(q.r.Context(), q.rt.bucket, store.ListOptions{
		Prefix: a.prefix, Delimiter: a.delimiter, StartAfter: startAfter, MaxKeys: a.maxKeys})
}

func (a listArgs) contents(objects []store.ObjectMeta, withOwner *owner) []objectElem {
	out := make([]objectElem, 0, len(objects))
	for _, m := range objects {
		e := objectElem{Key: a.enc(m.Key), LastModified: isoTime(m.LastModified), ETag: quoteETag(m.ETag),
			Size: m.Size, Owner: withOwner, StorageClass: "STANDARD"}
		for alg := range m.Checksums {
			e.ChecksumAlgorithm = append(e.ChecksumAlgorithm, alg)
		}
		slices.Sort(e.ChecksumAlgorithm)
		if len(m.Checksums) > 0 {
			e.ChecksumType = m.ChecksumType
		}
		out = append(out, e)
	}
	return out
}

func (a listArgs) prefixes(ps []string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, commonPrefix{Prefix: a.enc(p)})
	}
	return out
}

// listObjectsV1 answers GET /bucket.
func (h *Handler) listObjectsV1(q *request) error {
	args := q.r.URL.Query()
	a, err := readListArgs(args)
	if err != nil {
		return err
	}
	marker := args.Get("marker")
	page, err := h.list(q, a, marker)
	if err != nil {
		return err
	}
	me := ownerOf(q.auth.AccessKey)
	res := listBucketResult{NS: s3NS, Name: q.rt.bucket, Prefix: a.enc(a.prefix), Marker: a.enc(marker),
		MaxKeys: a.maxKeys, Delimiter: a.enc(a.delimiter), EncodingType: a.encType, IsTruncated: page.IsTruncated,
		Contents: a.contents(page.Objects, &me), CommonPrefixes: a.prefixes(page.CommonPrefixes)}
	if page.IsTruncated && a.delimiter != "" {
		res.NextMarker = a.enc(page.NextMarker)
	}
	writeXML(q.w, http.StatusOK, res)
	return nil
}

// listObjectsV2 answers GET /bucket?list-type=2.
func (h *Handler) listObjectsV2(q *request) error {
	args := q.r.URL.Query()
	if lt := args.Get("list-type"); lt != "2" {
		return errorf(codeInvalidArgument, "Invalid list-type %q: it is 2, or absent for ListObjects.", lt)
	}
	a, err := readListArgs(args)
	if err != nil {
		return err
	}
	startAfter := args.Get("start-after")
	from := startAfter
	_, hasToken := args["continuation-token"]
	token := args.Get("continuation-token")
	if hasToken {
		last, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return errorf(codeInvalidArgument, "The continuation token provided is incorrect.")
		}
		from = string(last)
	}
	page, err := h.list(q, a, from)
	if err != nil {
		return err
	}
	var withOwner *owner
	if args.Get("fetch-owner") == "true" {
		me := ownerOf(q.auth.AccessKey)
		withOwner = &me
	}
	res := listBucketResultV2{NS: s3NS, Name: q.rt.bucket, Prefix: a.enc(a.prefix), Delimiter: a.enc(a.delimiter),
		MaxKeys: a.maxKeys, KeyCount: len(page.Objects) + len(page.CommonPrefixes), EncodingType: a.encType,
		IsTruncated: page.IsTruncated, ContinuationToken: token, StartAfter: a.enc(startAfter),
		Contents: a.contents(page.Objects, withOwner), CommonPrefixes: a.prefixes(page.CommonPrefixes)}
	if page.IsTruncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.NextMarker))
	}
	writeXML(q.w, http.StatusOK, res)
	return nil
}

// listObjectVersions answers GET /bucket?versions with the current
// objects: no bucket is versioned, so each has one version, "null".
func (h *Handler) listObjectVersions(q *request) error {
	args := q.r.URL.Query()
	a, err := readListArgs(args)
	if err != nil {
		return err
	}
	keyMarker := args.Get("key-marker")
	page, err := h.list(q, a, keyMarker)
	if err != nil {
		return err
	}
	me := ownerOf(q.auth.AccessKey)
	res := listVersionsResult{NS: s3NS, Name: q.rt.bucket, Prefix: a.enc(a.prefix), KeyMarker: a.enc(keyMarker),
		VersionIDMarker: args.Get("version-id-marker"), MaxKeys: a.maxKeys, Delimiter: a.enc(a.delimiter),
		EncodingType: a.encType, IsTruncated: page.IsTruncated, CommonPrefixes: a.prefixes(page.CommonPrefixes)}
	if page.IsTruncated {
		res.NextKeyMarker, res.NextVersionIDMarker = a.enc(page.NextMarker), "null"
	}
	for _, m := range page.Objects {
		res.Versions = append(res.Versions, versionElem{Key: a.enc(m.Key), VersionID: "null", IsLatest: true,
			LastModified: isoTime(m.LastModified), ETag: quoteETag(m.ETag), Size: m.Size, Owner: me, StorageClass: "STANDARD"})
	}
	writeXML(q.w, http.StatusOK, res)
	return nil
}

// encodingType reads encoding-type: "url" encodes keys and prefixes in the
// answer (so that keys with characters XML 1.0 cannot carry survive).
func encodingType(q url.Values) (func(string) string, error) {
	switch q.Get("encoding-type") {
	case "":
		return func(s string) string { return s }, nil
	case "url":
		return urlEncodeKey, nil
	}
	return nil, errorf(codeInvalidArgument, "Invalid Encoding Method specified in Request")
}

// urlEncodeKey encodes a key as S3 does for encoding-type=url: form
// encoding (a space is '+', a '+' is %2B), with '/' left as it is.
func urlEncodeKey(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// intArg reads a non-negative integer query argument.
func intArg(q url.Values, name string, def int) (int, error) {
	v, ok := q[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 {
		return 0, errorf(codeInvalidArgument, "Provided %s not an integer or within integer range", name)
	}
	return n, nil
}
