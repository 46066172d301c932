package s3_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/minikv-go/minikv/s3"
	"github.com/stretchr/testify/require"
)

func TestBuckets(t *testing.T) {
	n := startSingle(t, s3.Options{})
	c := awsClient(n)
	ctx := ctxT(t)

	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("alpha")})
	require.NoError(t, err)
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("beta"), ACL: types.BucketCannedACLPrivate,
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}})
	require.NoError(t, err, "a CreateBucketConfiguration naming our region, and a private canned ACL, are fine")

	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("alpha")})
	requireCode(t, err, "BucketAlreadyOwnedByYou", http.StatusConflict)
	for _, name := range []string{"ab", "UpperCase", "under_score", "-dash", "192.168.1.1", "a..b", strings.Repeat("a", 64)} {
		_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)})
		requireCode(t, err, "InvalidBucketName", http.StatusBadRequest)
	}
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("gamma"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}})
	requireCode(t, err, "IllegalLocationConstraintException", http.StatusBadRequest)
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("gamma"), ACL: types.BucketCannedACLPublicRead})
	requireCode(t, err, "AccessControlListNotSupported", http.StatusBadRequest)

	list, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{})
	require.NoError(t, err)
	require.Len(t, list.Buckets, 2)
	require.Equal(t, "alpha", *list.Buckets[0].Name)
	require.Equal(t, "beta", *list.Buckets[1].Name)
	require.False(t, list.Buckets[0].CreationDate.IsZero())
	require.Equal(t, accessKey, *list.Owner.DisplayName)

	head, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("alpha")})
	require.NoError(t, err)
	require.Equal(t, region, *head.BucketRegion)
	_, err = c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("missing")})
	requireCode(t, err, "NotFound", http.StatusNotFound) // HEAD: no body, so the SDK names the status

	loc, err := c.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	require.NoError(t, err)
	require.Equal(t, types.BucketLocationConstraint(""), loc.LocationConstraint, "us-east-1 is the empty constraint")
	_, err = c.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String("missing")})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)

	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("x"), Body: body("x")})
	require.NoError(t, err)
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")})
	requireCode(t, err, "BucketNotEmpty", http.StatusConflict)
	_, err = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("x")})
	require.NoError(t, err)
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")})
	require.NoError(t, err)
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("x"), Body: body("x")})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("alpha")})
	require.NoError(t, err, "a deleted bucket's name can be taken again")
}

// TestBucketConfigurationsAnswerHarmlessly: the configurations minikv does
// not keep answer as S3 does for a bucket that has none, so that tools
// probing them (s3cmd info, MinIO's mc, test suites' clean-up) work.
func TestBucketConfigurationsAnswerHarmlessly(t *testing.T) {
	n := startSingle(t, s3.Options{})
	c := awsClient(n)
	ctx := ctxT(t)
	b := aws.String("config")
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: b})
	require.NoError(t, err)

	v, err := c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: b})
	require.NoError(t, err)
	require.Empty(t, v.Status, "never versioned")

	acl, err := c.GetBucketAcl(ctx, &awss3.GetBucketAclInput{Bucket: b})
	require.NoError(t, err)
	require.Len(t, acl.Grants, 1)
	require.Equal(t, types.PermissionFullControl, acl.Grants[0].Permission)
	require.Equal(t, *acl.Owner.ID, *acl.Grants[0].Grantee.ID)

	_, err = c.GetBucketPolicy(ctx, &awss3.GetBucketPolicyInput{Bucket: b})
	requireCode(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
	_, err = c.GetBucketCors(ctx, &awss3.GetBucketCorsInput{Bucket: b})
	requireCode(t, err, "NoSuchCORSConfiguration", http.StatusNotFound)
	_, err = c.GetBucketLifecycleConfiguration(ctx, &awss3.GetBucketLifecycleConfigurationInput{Bucket: b})
	requireCode(t, err, "NoSuchLifecycleConfiguration", http.StatusNotFound)
	_, err = c.GetObjectLockConfiguration(ctx, &awss3.GetObjectLockConfigurationInput{Bucket: b})
	requireCode(t, err, "ObjectLockConfigurationNotFoundError", http.StatusNotFound)
	_, err = c.GetBucketEncryption(ctx, &awss3.GetBucketEncryptionInput{Bucket: b})
	requireCode(t, err, "ServerSideEncryptionConfigurationNotFoundError", http.StatusNotFound)
	pay, err := c.GetBucketRequestPayment(ctx, &awss3.GetBucketRequestPaymentInput{Bucket: b})
	require.NoError(t, err)
	require.Equal(t, types.PayerBucketOwner, pay.Payer)
	_, err = c.DeleteBucketCors(ctx, &awss3.DeleteBucketCorsInput{Bucket: b})
	require.NoError(t, err, "deleting a configuration there is none of succeeds, as in S3")
	_, err = c.DeleteBucketPolicy(ctx, &awss3.DeleteBucketPolicyInput{Bucket: b})
	require.NoError(t, err)

	// Of a bucket that does not exist, each says so.
	missing := aws.String("missing")
	_, err = c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: missing})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = c.GetBucketPolicy(ctx, &awss3.GetBucketPolicyInput{Bucket: missing})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = c.GetBucketAcl(ctx, &awss3.GetBucketAclInput{Bucket: missing})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
}

// TestNotImplemented: what minikv does not do is refused with 501, never
// pretended.
func TestNotImplemented(t *testing.T) {
	n := startSingle(t, s3.Options{})
	c := awsClient(n)
	ctx := ctxT(t)
	b, k := aws.String("notimpl"), aws.String("k")
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: b})
	require.NoError(t, err)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("x")})
	require.NoError(t, err)

	for name, call := range map[string]func() error{
		"PutObjectTagging": func() error {
			_, err := c.PutObjectTagging(ctx, &awss3.PutObjectTaggingInput{Bucket: b, Key: k,
				Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
			return err
		},
		"GetBucketTagging": func() error {
			_, err := c.GetBucketTagging(ctx, &awss3.GetBucketTaggingInput{Bucket: b})
			return err
		},
		"PutBucketVersioning": func() error {
			_, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: b,
				VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
			return err
		},
		"PutBucketPolicy": func() error {
			_, err := c.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{}`)})
			return err
		},
		"GetBucketWebsite": func() error {
			_, err := c.GetBucketWebsite(ctx, &awss3.GetBucketWebsiteInput{Bucket: b})
			return err
		},
		"PutBucketEncryption": func() error {
			_, err := c.PutBucketEncryption(ctx, &awss3.PutBucketEncryptionInput{Bucket: b,
				ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
					ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}}}})
			return err
		},
		"PutObjectLockConfiguration": func() error {
			_, err := c.PutObjectLockConfiguration(ctx, &awss3.PutObjectLockConfigurationInput{Bucket: b,
				ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}})
			return err
		},
		"GetBucketNotificationConfiguration": func() error {
			_, err := c.GetBucketNotificationConfiguration(ctx, &awss3.GetBucketNotificationConfigurationInput{Bucket: b})
			return err
		},
		"PutPublicAccessBlock": func() error {
			_, err := c.PutPublicAccessBlock(ctx, &awss3.PutPublicAccessBlockInput{Bucket: b,
				PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true)}})
			return err
		},
		"ListBucketAnalyticsConfigurations": func() error {
			_, err := c.ListBucketAnalyticsConfigurations(ctx, &awss3.ListBucketAnalyticsConfigurationsInput{Bucket: b})
			return err
		},
		"GetBucketAnalyticsConfiguration": func() error {
			_, err := c.GetBucketAnalyticsConfiguration(ctx, &awss3.GetBucketAnalyticsConfigurationInput{Bucket: b, Id: aws.String("report")})
			return err
		},
		"DeleteObjectTagging": func() error {
			_, err := c.DeleteObjectTagging(ctx, &awss3.DeleteObjectTaggingInput{Bucket: b, Key: k})
			return err
		},
		"PutObjectLegalHold": func() error {
			_, err := c.PutObjectLegalHold(ctx, &awss3.PutObjectLegalHoldInput{Bucket: b, Key: k,
				LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
			return err
		},
		"PutObject with SSE": func() error {
			_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("x"), ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		},
		"PutObject with tags": func() error {
			_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("x"), Tagging: aws.String("a=b")})
			return err
		},
	} {
		err := call()
		requireCode(t, err, "NotImplemented", http.StatusNotImplemented)
		// The message names the operation as Amazon's API reference does.
		op, _, _ := strings.Cut(name, " ")
		var ae smithy.APIError
		require.ErrorAs(t, err, &ae)
		require.True(t, strings.HasPrefix(ae.ErrorMessage(), op+" "), "%s: %q", name, ae.ErrorMessage())
	}
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("x"), StorageClass: types.StorageClassGlacier})
	requireCode(t, err, "InvalidStorageClass", http.StatusBadRequest)
}
