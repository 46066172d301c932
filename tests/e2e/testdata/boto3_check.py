"""boto3 against a minikv cluster, with boto3's default settings.

Run by tests/e2e/s3boto3_test.go:

    python3 boto3_check.py --endpoints http://127.0.0.1:9001,http://... \
        --access-key AK --secret-key SK --bucket name --workdir DIR

Each step prints one line. On the first mismatch the script prints
"FAIL: <step>: <why>" and exits 1. It needs nothing but boto3.
"""

import argparse
import base64
import hashlib
import os
import sys
import traceback
import urllib.request
import zlib

import boto3
import botocore
from botocore.exceptions import ClientError


class Mismatch(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Mismatch(why)


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def error_code(fn, *args, **kwargs):
    """Calls fn, which must fail with a ClientError; returns the S3 code."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        return e.response.get("Error", {}).get("Code")
    raise Mismatch("%s succeeded; it should have failed" % fn.__name__)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoints", required=True)
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    endpoints = args.endpoints.split(",")
    print("boto3 %s, botocore %s, python %s" % (boto3.__version__, botocore.__version__, sys.version.split()[0]))

    def client(endpoint, secret=args.secret_key):
        # Nothing but the endpoint, the credentials and the region: boto3's
        # defaults for everything else (checksums, addressing, retries,
        # signature version).
        return boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=args.access_key, aws_secret_access_key=secret)

    c = [client(e) for e in endpoints]
    b = args.bucket
    step = ["start"]

    def begin(name):
        step[0] = name
        print("step:", name, flush=True)

    try:
        begin("create_bucket")
        c[0].create_bucket(Bucket=b)
        check(c[1].head_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"] == 200, "head_bucket")

        begin("put_object with metadata and content type")
        small = b"hello from boto3\n" * 3
        put = c[1].put_object(Bucket=b, Key="dir/small.txt", Body=small,
                              ContentType="text/plain; charset=utf-8",
                              Metadata={"Color": "blue", "n": "1"})
        md5 = hashlib.md5(small).hexdigest()
        check(put["ETag"] == '"%s"' % md5, "put ETag %s, want the MD5 %s" % (put["ETag"], md5))
        # botocore >= 1.36 sends a CRC32 with every upload by default.
        default_checksums = "ChecksumCRC32" in put
        if default_checksums:
            check(put["ChecksumCRC32"] == crc32_b64(small), "put ChecksumCRC32 %s" % put["ChecksumCRC32"])

        begin("head_object")
        head = c[2].head_object(Bucket=b, Key="dir/small.txt")
        check(head["ContentLength"] == len(small), "ContentLength %d" % head["ContentLength"])
        check(head["ContentType"] == "text/plain; charset=utf-8", "ContentType %r" % head["ContentType"])
        check(head["Metadata"] == {"color": "blue", "n": "1"}, "Metadata %r" % head["Metadata"])
        check(head["ETag"] == put["ETag"], "head ETag %s" % head["ETag"])

        begin("get_object")
        got = c[0].get_object(Bucket=b, Key="dir/small.txt")
        check(got["Body"].read() == small, "the body differs")
        check(got["Metadata"] == {"color": "blue", "n": "1"}, "get Metadata %r" % got["Metadata"])

        begin("put_object with ChecksumAlgorithm=CRC32, get_object with ChecksumMode=ENABLED")
        c[2].put_object(Bucket=b, Key="dir/crc.bin", Body=small, ChecksumAlgorithm="CRC32")
        got = c[1].get_object(Bucket=b, Key="dir/crc.bin", ChecksumMode="ENABLED")
        check(got["Body"].read() == small, "the body differs")
        check(got.get("ChecksumCRC32") == crc32_b64(small),
              "ChecksumCRC32 %r, want %s" % (got.get("ChecksumCRC32"), crc32_b64(small)))
        got = c[0].get_object(Bucket=b, Key="dir/small.txt", ChecksumMode="ENABLED")
        check(got["Body"].read() == small, "the body differs (checksum mode)")
        if "ChecksumCRC32" in got:
            check(got["ChecksumCRC32"] == crc32_b64(small), "ChecksumCRC32 %r" % got["ChecksumCRC32"])

        begin("ranged get_object")
        got = c[2].get_object(Bucket=b, Key="dir/small.txt", Range="bytes=2-9")
        check(got["ResponseMetadata"]["HTTPStatusCode"] == 206, "status %d" % got["ResponseMetadata"]["HTTPStatusCode"])
        check(got["Body"].read() == small[2:10], "the range differs")
        check(got["ContentRange"] == "bytes 2-9/%d" % len(small), "ContentRange %r" % got["ContentRange"])
        got = c[0].get_object(Bucket=b, Key="dir/small.txt", Range="bytes=-4")
        check(got["Body"].read() == small[-4:], "the suffix range differs")

        begin("list_objects_v2 with prefix and delimiter")
        for k in ["dir/sub/a.txt", "dir/sub/b.txt", "other.txt"]:
            c[1].put_object(Bucket=b, Key=k, Body=k.encode())
        ls = c[0].list_objects_v2(Bucket=b, Prefix="dir/", Delimiter="/")
        keys = [o["Key"] for o in ls.get("Contents", [])]
        prefixes = [p["Prefix"] for p in ls.get("CommonPrefixes", [])]
        check(keys == ["dir/crc.bin", "dir/small.txt"], "keys %r" % keys)
        check(prefixes == ["dir/sub/"], "common prefixes %r" % prefixes)
        check(ls["KeyCount"] == 3, "KeyCount %r" % ls.get("KeyCount"))
        pages = c[2].get_paginator("list_objects_v2").paginate(Bucket=b, PaginationConfig={"PageSize": 2})
        keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
        want = ["dir/crc.bin", "dir/small.txt", "dir/sub/a.txt", "dir/sub/b.txt", "other.txt"]
        check(keys == want, "paginated keys %r" % keys)

        begin("upload_file of 20 MiB (managed multipart upload)")
        big = os.path.join(args.workdir, "big.bin")
        data = os.urandom(20 << 20)
        with open(big, "wb") as f:
            f.write(data)
        c[1].upload_file(big, b, "big/object.bin")
        head = c[0].head_object(Bucket=b, Key="big/object.bin")
        check(head["ContentLength"] == len(data), "ContentLength %d" % head["ContentLength"])
        check(head["ETag"].strip('"').endswith("-3"), "ETag %s: want 3 parts of 8 MiB" % head["ETag"])
        if default_checksums:
            # Per-part CRC32s: the object's checksum is the CRC32 of theirs.
            part = 8 << 20
            sums = b"".join(zlib.crc32(data[i:i + part]).to_bytes(4, "big") for i in range(0, len(data), part))
            want = crc32_b64(sums) + "-3"
            head = c[2].head_object(Bucket=b, Key="big/object.bin", ChecksumMode="ENABLED")
            check(head.get("ChecksumCRC32") == want and head.get("ChecksumType") == "COMPOSITE",
                  "multipart checksum %r %r, want %s COMPOSITE" % (head.get("ChecksumCRC32"), head.get("ChecksumType"), want))

        begin("download_file from another node")
        back = os.path.join(args.workdir, "back.bin")
        c[2].download_file(b, "big/object.bin", back)
        with open(back, "rb") as f:
            check(hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest(), "the downloaded file differs")

        begin("copy_object")
        cp = c[2].copy_object(Bucket=b, Key="copy.txt", CopySource={"Bucket": b, "Key": "dir/small.txt"})
        check(cp["CopyObjectResult"]["ETag"] == '"%s"' % md5, "copy ETag %r" % cp["CopyObjectResult"]["ETag"])
        got = c[0].get_object(Bucket=b, Key="copy.txt")
        check(got["Body"].read() == small, "the copy differs")
        check(got["Metadata"] == {"color": "blue", "n": "1"}, "copy Metadata %r" % got["Metadata"])
        check(got["ContentType"] == "text/plain; charset=utf-8", "copy ContentType %r" % got["ContentType"])

        begin("presigned GET fetched with urllib")
        url = c[1].generate_presigned_url("get_object", Params={"Bucket": b, "Key": "dir/small.txt"}, ExpiresIn=300)
        with urllib.request.urlopen(url, timeout=30) as resp:
            check(resp.status == 200, "status %d" % resp.status)
            check(resp.read() == small, "the presigned body differs")

        begin("errors")
        code = error_code(c[0].get_object, Bucket=b, Key="no/such/key")
        check(code == "NoSuchKey", "get of a missing key: %r, want NoSuchKey" % code)
        code = error_code(c[1].head_object, Bucket=b, Key="no/such/key")
        check(code == "404", "head of a missing key: %r, want 404" % code)
        code = error_code(c[2].list_objects_v2, Bucket="no-such-bucket-boto3")
        check(code == "NoSuchBucket", "list of a missing bucket: %r, want NoSuchBucket" % code)
        code = error_code(c[0].get_object, Bucket="no-such-bucket-boto3", Key="k")
        check(code == "NoSuchBucket", "get in a missing bucket: %r, want NoSuchBucket" % code)
        code = error_code(c[1].delete_bucket, Bucket=b)
        check(code == "BucketNotEmpty", "delete of a full bucket: %r, want BucketNotEmpty" % code)
        wrong = client(endpoints[0], secret="wrong-secret-key")
        code = error_code(wrong.list_objects_v2, Bucket=b)
        check(code == "SignatureDoesNotMatch", "a wrong secret: %r, want SignatureDoesNotMatch" % code)
        code = error_code(wrong.put_object, Bucket=b, Key="nope", Body=b"x")
        check(code == "SignatureDoesNotMatch", "a put with a wrong secret: %r, want SignatureDoesNotMatch" % code)

        begin("delete_objects")
        keys = [o["Key"] for p in c[0].get_paginator("list_objects_v2").paginate(Bucket=b) for o in p.get("Contents", [])]
        check(len(keys) == 7, "%d objects before the batch delete: %r" % (len(keys), keys))
        res = c[2].delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in keys]})
        check(not res.get("Errors"), "errors %r" % res.get("Errors"))
        check(sorted(d["Key"] for d in res.get("Deleted", [])) == sorted(keys), "deleted %r" % res.get("Deleted"))
        ls = c[1].list_objects_v2(Bucket=b)
        check(ls["KeyCount"] == 0 and not ls.get("Contents"), "left after the batch delete: %r" % ls.get("Contents"))

        begin("delete_bucket")
        c[0].delete_bucket(Bucket=b)
        code = error_code(c[1].head_bucket, Bucket=b)
        check(code == "404", "head of the deleted bucket: %r, want 404" % code)
    except Mismatch as e:
        print("FAIL: %s: %s" % (step[0], e))
        return 1
    except Exception as e:  # an unexpected error: say where, in one line, then the trace
        print("FAIL: %s: %s: %s" % (step[0], type(e).__name__, e))
        traceback.print_exc()
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
