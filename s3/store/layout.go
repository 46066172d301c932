package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// The key layout (see the package documentation for the whole picture).
// Every key starts with root, under the kv's reserved prefix. Names that
// come from clients (bucket names, object keys) are the last component of
// a key, or are followed by a byte they cannot contain ('/' after a
// bucket name, NUL after an object key), so that one kv prefix selects
// exactly one bucket or key. Numbers are big-endian, so byte order is
// numeric order.
const root = "\x00s3/"

const (
	prefixBucket   = root + "b/" // b/<bucket>                 bucketRecord
	prefixTomb     = root + "t/" // t/<bucket>                 tombRecord: bucket being deleted, or deleted
	prefixObject   = root + "o/" // o/<bucket>/<key>           objectRecord (+ inline data)
	prefixChunk    = root + "d/" // d/<dataID>/<index u32>     raw chunk bytes
	prefixPending  = root + "p/" // p/<dataID>                 pendingRecord: data being written
	prefixManifest = root + "m/" // m/<uploadID>               manifest: the parts of a multipart object
	prefixGC       = root + "g/" // g/<after u64><kind><id>    gcEntry: data to delete after a time
	prefixUpload   = root + "u/" // u/<bucket>/<key>\0<id>     Upload: an open multipart upload
	prefixUploadIx = root + "i/" // i/<uploadID>               uploadIndex: open uploads by age
	prefixClosed   = root + "c/" // c/<uploadID>               closedRecord: upload completing or closed
	prefixPart     = root + "q/" // q/<uploadID>/<number u32>  partRecord
	prefixRef      = root + "r/" // r/<dataID>                 refRecord: data copies share
)

func key(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n+8)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func bucketKey(bucket string) []byte    { return key(prefixBucket, bucket) }
func tombKey(bucket string) []byte      { return key(prefixTomb, bucket) }
func objectPrefix(bucket string) []byte { return key(prefixObject, bucket, "/") }
func objectKey(bucket, k string) []byte { return key(prefixObject, bucket, "/", k) }
func pendingKey(dataID string) []byte   { return key(prefixPending, dataID) }
func manifestKey(uploadID string) []byte {
	return key(prefixManifest, uploadID)
}
func uploadPrefix(bucket string) []byte { return key(prefixUpload, bucket, "/") }
func uploadKey(bucket, k, uploadID string) []byte {
	return key(prefixUpload, bucket, "/", k, "\x00", uploadID)
}
func uploadIndexKey(uploadID string) []byte { return key(prefixUploadIx, uploadID) }
func closedKey(uploadID string) []byte      { return key(prefixClosed, uploadID) }
func partPrefix(uploadID string) []byte     { return key(prefixPart, uploadID, "/") }

func refKey(dataID string) []byte { return key(prefixRef, dataID) }

func chunkKey(dataID string, i int) []byte {
	return binary.BigEndian.AppendUint32(key(prefixChunk, dataID, "/"), uint32(i))
}

func partKey(uploadID string, number int) []byte {
	return binary.BigEndian.AppendUint32(partPrefix(uploadID), uint32(number))
}

// partNumber is the number a part key ends with.
func partNumber(key []byte) int {
	if len(key) < 4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(key[len(key)-4:]))
}

// GC queue entry kinds, the byte after the time in an entry's key.
const (
	gcData     byte = 'd' // delete the chunks of one data ID
	gcManifest byte = 'm' // delete a multipart object's parts and manifest
	gcUpload   byte = 'u' // delete a closed upload's part records (and unused parts)
)

func gcKey(after time.Time, kind byte, id string) []byte {
	b := binary.BigEndian.AppendUint64([]byte(prefixGC), uint64(after.UnixNano()))
	return append(append(b, kind), id...)
}

// IDs name data and uploads: 8 bytes of creation time (Unix nanoseconds,
// big-endian) and 8 random bytes, in hex. Their byte order is their age
// order, which the collector uses to find old uploads without an index of
// its own, and which lists uploads of one key in the order they began.
const idLen = 32

func newID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:]) // never fails
	return hex.EncodeToString(b[:])
}

// idTime is the creation time of a valid ID.
func idTime(id string) time.Time {
	b, _ := hex.DecodeString(id[:16])
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)))
}

// validID reports whether id has the form of an ID (upload IDs come from
// clients and become parts of keys).
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// dataRef names the chunks of one piece of data: an object's body or a
// part's. Chunk i holds bytes [i*ChunkSize, (i+1)*ChunkSize) of it, and is
// chunk First+i of data ID: a part made by UploadPartCopy may name a
// chunk-aligned range of its source's data (share.go).
type dataRef struct {
	ID        string `json:"id"`
	Size      int64  `json:"size"`
	ChunkSize int    `json:"chunk"`
	First     int    `json:"first,omitempty"`
}

// chunk is the key of the ref's chunk i.
func (d dataRef) chunk(i int) []byte { return chunkKey(d.ID, d.First+i) }

func (d dataRef) chunks() int {
	if d.Size == 0 || d.ChunkSize <= 0 {
		return 0
	}
	return int((d.Size + int64(d.ChunkSize) - 1) / int64(d.ChunkSize))
}

type bucketRecord struct {
	Created time.Time `json:"created"`
}

// A bucket tombstone: a DeleteBucket in progress (new objects wait), or a
// deleted bucket (writes that checked the bucket before it went fail).
const (
	tombDeleting = "deleting"
	tombDeleted  = "deleted"
)

type tombRecord struct {
	State string    `json:"state"`
	Time  time.Time `json:"time"`
}

// objectRecord is an object's metadata record. Data names its chunks
// (single-part objects larger than the inline limit), Multipart says the
// parts are listed in the manifest of upload Upload, and otherwise the
// body (at most Options.InlineMax bytes) follows the JSON in the record.
type objectRecord struct {
	Meta      ObjectMeta `json:"meta"`
	Data      *dataRef   `json:"data,omitempty"`
	Multipart string     `json:"upload,omitempty"`
}

// An object record is a format byte, the JSON's length, the JSON, then the
// inline body if any: the body is not base64-encoded, and a listing can
// decode the JSON without touching it.
const objectFormat = 1

func encodeObject(rec *objectRecord, inline []byte) []byte {
	meta := rec.Meta
	rec.Meta.Bucket, rec.Meta.Key = "", "" // they are in the record's key
	j, _ := json.Marshal(rec)
	rec.Meta = meta
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(j)+len(inline))
	b = append(b, objectFormat)
	b = binary.AppendUvarint(b, uint64(len(j)))
	b = append(b, j...)
	return append(b, inline...)
}

func decodeObject(v []byte, bucket, k string) (objectRecord, []byte, error) {
	var rec objectRecord
	if len(v) < 2 || v[0] != objectFormat {
		return rec, nil, fmt.Errorf("s3 store: object %s/%s: unknown record format", bucket, k)
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)-1-w) {
		return rec, nil, fmt.Errorf("s3 store: object %s/%s: corrupt record", bucket, k)
	}
	j := v[1+w : 1+w+int(n)]
	if err := json.Unmarshal(j, &rec); err != nil {
		return rec, nil, fmt.Errorf("s3 store: object %s/%s: %w", bucket, k, err)
	}
	rec.Meta.Bucket, rec.Meta.Key = bucket, k
	return rec, v[1+w+int(n):], nil
}

// pendingRecord marks data being written: every chunk command rewrites it
// (conditionally on its last version) with the count of chunks written;
// the command that publishes the data deletes it. The collector deletes
// the chunks of a marker left untouched for GCGrace.
type pendingRecord struct {
	Chunks    int       `json:"chunks"`
	ChunkSize int       `json:"chunk"`
	Touched   time.Time `json:"touched"`
	Upload    string    `json:"upload,omitempty"` // for part data: the upload
}

// gcEntry is one item of the collector's queue.
type gcEntry struct {
	Data     *dataRef `json:"data,omitempty"`     // gcData
	Chunks   int      `json:"chunks,omitempty"`   // gcData: chunks [0, Chunks) are left to delete
	Upload   string   `json:"upload,omitempty"`   // gcManifest, gcUpload
	Manifest bool     `json:"manifest,omitempty"` // gcUpload: the upload completed; keep its used parts
}

// uploadIndex is the upload index record: where the upload record is.
type uploadIndex struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// The states of a closed-upload record. Its existence closes the upload
// to new parts: part commands check it is absent.
const (
	closedCompleting = "completing" // a CompleteMultipartUpload is assembling the object
	closedCompleted  = "completed"
	closedAborted    = "aborted"
	closedExpired    = "expired" // aborted by the collector after UploadTTL
)

type closedRecord struct {
	State string    `json:"state"`
	Time  time.Time `json:"time"`
}

type partRecord struct {
	ETag         string            `json:"etag"`
	Size         int64             `json:"size"`
	LastModified time.Time         `json:"modified"`
	Checksums    map[string]string `json:"checksums,omitempty"`
	Data         dataRef           `json:"data"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are encoded
	}
	return b
}

func decodeJSON(what string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("s3 store: corrupt %s record: %w", what, err)
	}
	return nil
}

// manifestPart is one part of a completed multipart object.
type manifestPart struct {
	Number int
	Data   dataRef
}

// A manifest is binary, as it may list 10,000 parts:
//
//	format byte (2), count uvarint,
//	per part: number uvarint, size uvarint, chunk size uvarint,
//	          first chunk uvarint, data ID (16 bytes)
//
// Format 1, written before parts could share data, has no first chunk.
const (
	manifestFormatV1 = 1
	manifestFormat   = 2
)

func encodeManifest(parts []manifestPart) []byte {
	b := []byte{manifestFormat}
	b = binary.AppendUvarint(b, uint64(len(parts)))
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(p.Number))
		b = binary.AppendUvarint(b, uint64(p.Data.Size))
		b = binary.AppendUvarint(b, uint64(p.Data.ChunkSize))
		b = binary.AppendUvarint(b, uint64(p.Data.First))
		id, _ := hex.DecodeString(p.Data.ID)
		b = append(b, id...)
	}
	return b
}

var errCorruptManifest = errors.New("s3 store: corrupt manifest")

func decodeManifest(b []byte) ([]manifestPart, error) {
	r := bytes.NewReader(b)
	format, err := r.ReadByte()
	if err != nil || format != manifestFormat && format != manifestFormatV1 {
		return nil, errCorruptManifest
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Len()) {
		return nil, errCorruptManifest
	}
	parts := make([]manifestPart, n)
	for i := range parts {
		num, err1 := binary.ReadUvarint(r)
		size, err2 := binary.ReadUvarint(r)
		cs, err3 := binary.ReadUvarint(r)
		var first uint64
		var err5 error
		if format == manifestFormat {
			first, err5 = binary.ReadUvarint(r)
		}
		var id [16]byte
		_, err4 := io.ReadFull(r, id[:])
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil || first > math.MaxInt32 {
			return nil, errCorruptManifest
		}
		parts[i] = manifestPart{Number: int(num), Data: dataRef{ID: hex.EncodeToString(id[:]), Size: int64(size), ChunkSize: int(cs), First: int(first)}}
	}
	if r.Len() != 0 {
		return nil, errCorruptManifest
	}
	return parts, nil
}
