// Package store keeps the buckets, objects and multipart uploads of
// minikv's S3 API in the replicated key-value store (package kv, through
// a node's Internal API). The S3 HTTP handler calls it; it knows nothing
// of HTTP, XML or signatures, but it does know S3's rules: names, sizes,
// ETags, checksums, conditional requests, listing order, and the error
// codes (Code, Status, Message).
//
// # Key layout
//
// Every key lives under "\x00s3/", in the kv's reserved prefix, which
// the public key-value API cannot reach:
//
//	b/<bucket>                      bucket record (creation time)
//	t/<bucket>                      bucket tombstone: being deleted, or deleted
//	o/<bucket>/<key>                object record: metadata, then the body if inline
//	d/<dataID>/<chunk u32>          one chunk of data: raw bytes, ChunkSize each but the last
//	p/<dataID>                      pending marker: data being written
//	m/<uploadID>                    manifest: the parts of a multipart object
//	g/<time u64><kind><id>          collector queue: what to delete once time has come
//	u/<bucket>/<key>\x00<uploadID>  open multipart upload
//	i/<uploadID>                    the open uploads by age (IDs begin with their time)
//	c/<uploadID>                    closed upload: completing, completed, aborted, expired
//	q/<uploadID>/<part u32>         uploaded part: ETag, size, checksums, data ID
//	r/<dataID>                      references to data that copies share (share.go)
//
// Numbers are big-endian, so kv order is numeric order. A bucket name
// cannot contain '/' and an object key cannot contain NUL (this store
// refuses it), so "o/<bucket>/" holds exactly one bucket's objects in
// UTF-8 binary key order — the order S3 lists them in — and an upload
// record sorts before any longer key. Data and upload IDs are 8 bytes of
// creation time and 8 random bytes, in hex: new ones never collide with
// old ones, and their order is their age.
//
// Records are JSON, except the manifest (binary: it may list 10,000
// parts) and the object record, a format byte, the length of the JSON,
// the JSON, then the inline body: listings decode the JSON and never
// base64 a body.
//
// # The life of an object
//
// A PUT streams the body into chunks of ChunkSize bytes (1 MiB: one kv
// value, one Raft proposal each), hashing as it goes (MD5 for the ETag,
// and any checksums asked for). It holds at most two chunks in memory:
// the one being written and the next, read to learn whether the body has
// ended. Each chunk's command also writes the data's pending marker with
// the count of chunks so far, conditional on the version the previous
// chunk left: a body whose writer dies or fails leaves a marker, and the
// collector deletes the chunks of a marker untouched for GCGrace.
//
// The last command publishes the object: it writes the last chunk and
// the object record, deletes the marker (on the same condition), checks
// that the bucket has no tombstone, and queues the data of the object it
// replaces (if any) for deletion after GCGrace. The record is
// conditional on the version it replaces, which is also how If-None-Match
// and If-Match are enforced. So an object appears, changes or disappears
// in one command: nobody sees a mix of two versions, and a GET that read
// the old record keeps reading the old chunks, which stay for GCGrace.
// A body of at most InlineMax bytes (64 KiB) goes inside the object
// record; a body of one chunk is written with its record: either way,
// one proposal. DELETE removes the record and queues its data in one
// command.
//
// A GET reads the record linearizably (a Raft read barrier: every PUT
// that completed before is seen, on any node), then the chunks with
// local reads — they are immutable and were applied before the record
// that names them — one at a time, prefetching the next.
//
// # The life of a multipart upload
//
// CreateMultipartUpload writes the upload record (and its index entry,
// which lets the collector find old uploads). Each part streams like a
// PUT, and its last command writes the part record, queues the data of a
// part it replaces, and checks that the upload's closed record does not
// exist — the kv can check that a key is absent without writing it, but
// not that one exists, so "open" is "not closed".
//
// CompleteMultipartUpload first writes the closed record ("completing"):
// from then on no part can change, and it reads and checks the parts
// (order, ETags, checksums, sizes). If they fail, it removes the record
// again. If they pass, one command writes the manifest (each part's data
// ID and size: the parts' chunks are never copied) and the object record,
// deletes the upload record, marks the closed record "completed"
// (conditional on its version, so an upload completes once), and queues
// the upload's part records for the collector, which deletes them and the
// data of parts the object does not use. The ETag is the MD5 of the parts'
// MD5s, "-N"; checksums are COMPOSITE (a checksum of the parts'
// checksums, "-N") or, for CRCs, FULL_OBJECT (the parts' CRCs combined).
// AbortMultipartUpload, and the collector for uploads older than
// UploadTTL, mark the closed record "aborted" and queue the parts.
//
// # Buckets
//
// CreateBucket is a create-only put of the bucket record. DeleteBucket
// cannot make new objects check that the bucket exists, so it puts a
// tombstone that every command creating an object or an upload checks is
// absent, then checks that the bucket holds no object and no upload,
// then deletes the record and marks the tombstone "deleted" in one
// command — or removes the tombstone and answers BucketNotEmpty. A write
// that meets a tombstone waits for the deletion's outcome.
//
// # The collector
//
// CollectGarbage (the leader runs it periodically) expires old uploads,
// reaps stale pending markers, and works through the queue: the chunks
// of a data ID, the parts of a deleted multipart object, the part records
// of a closed upload. Deletes are batched (hundreds of keys a command)
// and every step is idempotent.
//
// # Files
//
//	store.go      Store, Options, the KV interface, command helpers
//	layout.go     keys, IDs and record encodings
//	bucket.go     buckets and their naming rules
//	object.go     PUT, GET, HEAD, DELETE, copy, conditional requests
//	chunks.go     streaming bodies into chunks and back
//	list.go       listing with prefixes, delimiters and markers
//	multipart.go  multipart uploads
//	gc.go         the collector
//	checksum.go   MD5, CRC32, CRC32C, CRC64NVME, SHA1, SHA256 and their combinations
//	range.go      Range headers
//	errors.go     S3 errors and their codes
package store
