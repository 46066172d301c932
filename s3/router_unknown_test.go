package s3

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// An S3 operation minikv does not know must never be taken for a plain one:
// PUT ?annotation would otherwise replace the object, DELETE
// ?metadataTable delete the bucket.
func TestUnknownSubresourcesAreNotImplemented(t *testing.T) {
	for _, c := range []struct{ method, bucket, key, query string }{
		{"PUT", "b", "k", "annotation"},
		{"DELETE", "b", "k", "annotation"},
		{"DELETE", "b", "", "metadataTable"},
		{"DELETE", "b", "", "metadataConfiguration"},
		{"GET", "b", "", "abac"},
		{"PUT", "b", "", "metadataInventoryTable"},
		{"PUT", "b", "k", "frobnicate"},
		{"DELETE", "b", "", "frobnicate"},
		{"HEAD", "b", "k", "frobnicate"},
	} {
		q, _ := url.ParseQuery(c.query)
		rt := pickOperation(c.method, c.bucket, c.key, q, false)
		if rt.err == nil || rt.err.Code != codeNotImplemented {
			t.Errorf("%s /%s/%s?%s was routed to %s; want NotImplemented", c.method, c.bucket, c.key, c.query, rt.op)
		}
	}
	// Empty arguments are still arguments.
	q, _ := url.ParseQuery("list-type=2&prefix=&delimiter=%2F&encoding-type=url")
	if rt := pickOperation("GET", "b", "", q, false); rt.err != nil {
		t.Fatalf("a listing with an empty prefix: %v", rt.err)
	}
}

// refusedRequests is every request the router refuses as an operation
// minikv does not implement, with the name Amazon's API reference gives
// that operation.
func refusedRequests() []struct{ method, key, query, op string } {
	var out []struct{ method, key, query, op string }
	for k, op := range refusedOperations {
		key := ""
		if k.object {
			key = "k"
		}
		out = append(out, struct{ method, key, query, op string }{k.method, key, k.sub, string(op)})
	}
	for sub, name := range listedConfigurations {
		out = append(out,
			struct{ method, key, query, op string }{"GET", "", sub, "ListBucket" + name + "Configurations"},
			struct{ method, key, query, op string }{"GET", "", sub + "&id=report", "GetBucket" + name + "Configuration"})
	}
	return append(out,
		struct{ method, key, query, op string }{"GET", "k", "annotation&x-id=ListObjectAnnotations", "ListObjectAnnotations"},
		struct{ method, key, query, op string }{"POST", "", "", "PostObject"},
		struct{ method, key, query, op string }{"GET", "k", "partNumber=2", "GetObject"},
		struct{ method, key, query, op string }{"HEAD", "k", "partNumber=2", "HeadObject"},
	)
}

// TestRefusedOperationsAreNamed: a 501 names the operation the way
// Amazon's API reference does (PutBucketTagging, GetObjectTagging,
// PutBucketEncryption, PutObjectLockConfiguration, ...), for GET and HEAD
// alike.
func TestRefusedOperationsAreNamed(t *testing.T) {
	for _, c := range refusedRequests() {
		q, _ := url.ParseQuery(c.query)
		methods := []string{c.method}
		if c.method == "GET" {
			methods = append(methods, "HEAD")
		}
		for _, m := range methods {
			rt := pickOperation(m, "b", c.key, q, false)
			if rt.err == nil || rt.err.Code != codeNotImplemented {
				t.Errorf("%s /b/%s?%s was routed to %s; want NotImplemented", m, c.key, c.query, rt.op)
				continue
			}
			if c.method == "HEAD" || m == "GET" {
				if string(rt.op) != c.op || !strings.HasPrefix(rt.err.Message, c.op+" ") {
					t.Errorf("%s /b/%s?%s: operation %s, message %q; want %s", m, c.key, c.query, rt.op, rt.err.Message, c.op)
				}
			}
		}
	}
	rt := pickOperation("POST", "WriteGetObjectResponse", "", url.Values{}, false)
	if rt.err == nil || rt.op != "WriteGetObjectResponse" {
		t.Errorf("POST /WriteGetObjectResponse: %s %v", rt.op, rt.err)
	}
	// A sub-resource that names no operation with this method is refused
	// as such.
	q, _ := url.ParseQuery("uploads")
	rt = pickOperation("GET", "b", "k", q, false)
	if rt.err == nil || rt.err.Code != codeNotImplemented || !strings.Contains(rt.err.Message, "GET on an object with ?uploads") {
		t.Errorf("GET /b/k?uploads: %s %v", rt.op, rt.err)
	}
}

// TestRefusedOperationsAreDocumented: docs/s3-compatibility.md names
// every operation the router refuses, and names no operation the router
// does not know.
func TestRefusedOperationsAreDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/s3-compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	known := map[string]bool{}
	for _, c := range refusedRequests() {
		known[c.op] = true
		if !regexp.MustCompile(`\b` + c.op + `\b`).MatchString(doc) {
			t.Errorf("docs/s3-compatibility.md does not name %s (%s ?%s)", c.op, c.method, c.query)
		}
	}
	for op := range handlers {
		known[string(op)] = true
	}
	known["WriteGetObjectResponse"] = true
	known["ListDirectoryBuckets"] = true      // answered as ListBuckets
	known["CreateBucketConfiguration"] = true // an XML document, not an operation
	name := regexp.MustCompile(`\b(?:Get|Put|Delete|List|Create|Update|Head|Post|Restore|Select|Rename|Upload|Complete|Abort|Copy|Write)(?:[A-Z][a-z0-9]+)+\b`)
	for _, op := range name.FindAllString(doc, -1) {
		if !known[op] {
			t.Errorf("docs/s3-compatibility.md names %s, which the router does not know", op)
		}
	}
}
