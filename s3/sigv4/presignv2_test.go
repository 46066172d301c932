package sigv4

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// URLs presigned by boto3 with its default settings (SigV2), made with
// botocore 1.29 (Debian's python3-boto3) and 1.43 at a fixed clock:
//
//	c = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",
//	        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
//	c.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "dir/a b+c~d.txt",
//	        "ResponseContentType": "text/plain; charset=utf-8"}, ExpiresIn=300)
const (
	v2AccessKey = "AKIDEXAMPLE"
	v2Secret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	v2Expires   = 1795591846
)

func v2Verifier(now time.Time) *Verifier {
	return &Verifier{Creds: StaticCredentials{v2AccessKey: v2Secret}, Region: "us-east-1",
		Now: func() time.Time { return now }}
}

func TestPresignedV2Botocore(t *testing.T) {
	before := time.Unix(v2Expires-300, 0)
	for _, tc := range []struct {
		name, method, target string
		header               http.Header
	}{
		{"get_object with a response override", "GET",
			"/bkt/dir/a%20b%2Bc~d.txt?response-content-type=text%2Fplain%3B%20charset%3Dutf-8&AWSAccessKeyId=AKIDEXAMPLE&Signature=ZJ9IH7YFOzvs47Lf8633WnfhLgc%3D&Expires=1795591846", nil},
		// ContentType and Metadata go into the query string; the client
		// may also send them as headers.
		{"put_object with a content type and metadata", "PUT",
			"/bkt/up.txt?AWSAccessKeyId=AKIDEXAMPLE&Signature=cpYreykPYYELj%2FTtlrqR%2FEIlYqg%3D&content-type=text%2Fplain&x-amz-meta-a=b&Expires=1795591846", nil},
		{"put_object, the same as headers", "PUT",
			"/bkt/up.txt?AWSAccessKeyId=AKIDEXAMPLE&Signature=cpYreykPYYELj%2FTtlrqR%2FEIlYqg%3D&content-type=text%2Fplain&x-amz-meta-a=b&Expires=1795591846",
			http.Header{"Content-Type": {"text/plain"}, "X-Amz-Meta-A": {"b"}}},
		// botocore 1.43 signs "/bkt/" for a request sent to "/bkt".
		{"list_objects_v2", "GET",
			"/bkt?list-type=2&prefix=dir%2F&encoding-type=url&AWSAccessKeyId=AKIDEXAMPLE&Signature=bLGTwgArCAwWsA63Uu%2FzNr9mwQU%3D&Expires=1795591846", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(""))
			r.Host = "127.0.0.1:9000"
			for k, v := range tc.header {
				r.Header[k] = v
			}
			auth, body, err := v2Verifier(before).Verify(r)
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
			if auth.AccessKey != v2AccessKey || !auth.Presigned || auth.PayloadMode != PayloadUnsigned || !auth.Expires.Equal(time.Unix(v2Expires, 0)) {
				t.Fatalf("auth %+v", auth)
			}
		})
	}

	get := "/bkt/dir/a%20b%2Bc~d.txt?response-content-type=text%2Fplain%3B%20charset%3Dutf-8&AWSAccessKeyId=AKIDEXAMPLE&Signature=ZJ9IH7YFOzvs47Lf8633WnfhLgc%3D&Expires=1795591846"
	for _, tc := range []struct {
		name   string
		now    time.Time
		edit   func(r *http.Request)
		target string
		code   string
	}{
		{name: "expired", now: time.Unix(v2Expires+1, 0), target: get, code: CodeAccessDenied},
		{name: "another key", now: before, target: strings.Replace(get, "a%20b", "a%20x", 1), code: CodeSignatureDoesNotMatch},
		{name: "another override", now: before, target: strings.Replace(get, "text%2Fplain", "text%2Fhtml", 1), code: CodeSignatureDoesNotMatch},
		{name: "a later expiry", now: before, target: strings.Replace(get, "1795591846", "1795591847", 1), code: CodeSignatureDoesNotMatch},
		{name: "another method", now: before, target: get, edit: func(r *http.Request) { r.Method = "DELETE" }, code: CodeSignatureDoesNotMatch},
		{name: "an x-amz header added", now: before, target: get, edit: func(r *http.Request) { r.Header.Set("X-Amz-Copy-Source", "other/key") }, code: CodeSignatureDoesNotMatch},
		{name: "a sub-resource added", now: before, target: get + "&acl", code: CodeSignatureDoesNotMatch},
		{name: "no expiry", now: before, target: strings.Replace(get, "&Expires=1795591846", "", 1), code: CodeAccessDenied},
		{name: "unknown key", now: before, target: strings.Replace(get, "AKIDEXAMPLE", "AKIDOTHER", 1), code: CodeInvalidAccessKeyID},
		{name: "with SigV4 parameters too", now: before, target: get + "&X-Amz-Algorithm=AWS4-HMAC-SHA256", code: CodeAuthorizationQueryParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Host = "127.0.0.1:9000"
			if tc.edit != nil {
				tc.edit(r)
			}
			_, _, err := v2Verifier(tc.now).Verify(r)
			wantCode(t, err, tc.code)
			t.Log(err)
		})
	}
}

// minio-go's SigV2 presigner, over real HTTP, path and virtual-host style.
func TestPresignedV2Minio(t *testing.T) {
	ts := newTestServer(t, testRegion)
	t.Run("path style", func(t *testing.T) {
		req := signer.PreSignV2(*newReq(t, "GET", ts.URL+"/bucket/dir/key%20with%2Bplus", nil), testAccessKey, testSecret, 600, false)
		res := ts.do(t, req)
		res.expect(t, "")
		if !res.auth.Presigned || res.auth.AccessKey != testAccessKey {
			t.Fatalf("auth %+v", res.auth)
		}
	})
	t.Run("path style, a bucket", func(t *testing.T) {
		req := signer.PreSignV2(*newReq(t, "GET", ts.URL+"/bucket?location", nil), testAccessKey, testSecret, 600, false)
		ts.do(t, req).expect(t, "")
	})
	t.Run("virtual-host style", func(t *testing.T) {
		ts.v.Domain = "s3.example.com"
		defer func() { ts.v.Domain = "" }()
		req := newReq(t, "GET", ts.URL+"/dir/key?acl", nil)
		req.Host = "bucket.s3.example.com"
		req = signer.PreSignV2(*req, testAccessKey, testSecret, 600, true)
		ts.do(t, req).expect(t, "")
	})
	t.Run("virtual-host style, no domain configured", func(t *testing.T) {
		req := newReq(t, "GET", ts.URL+"/dir/key", nil)
		req.Host = "bucket.s3.example.com"
		req = signer.PreSignV2(*req, testAccessKey, testSecret, 600, true)
		ts.do(t, req).expect(t, CodeSignatureDoesNotMatch)
	})
	t.Run("expired", func(t *testing.T) {
		req := signer.PreSignV2(*newReq(t, "GET", ts.URL+"/bucket/key", nil), testAccessKey, testSecret, 600, false)
		ts.clock.set(time.Now().Add(11 * time.Minute))
		defer ts.clock.set(time.Time{})
		ts.do(t, req).expect(t, CodeAccessDenied)
	})
}
