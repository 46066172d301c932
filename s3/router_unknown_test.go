package s3

import (
	"net/url"
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
