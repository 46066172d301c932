package storage

// Batch is an ordered list of writes applied atomically by Engine.Apply.
// It is engine-independent: the kv layer builds one without knowing which
// engine will apply it, and the same batch can be applied to any engine.
// Put and Delete copy their arguments into one growing buffer, so the caller
// may reuse its slices at once. The zero value is an empty batch.
type Batch struct {
	buf []byte
	ops []batchOp
}

type batchOp struct {
	del        bool
	kEnd, vEnd int // key is buf[start:kEnd], value buf[kEnd:vEnd]
	start      int
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

// Put sets key to value. A later operation on the same key in this batch wins.
func (b *Batch) Put(key, value []byte) {
	start := len(b.buf)
	b.buf = append(b.buf, key...)
	kEnd := len(b.buf)
	b.buf = append(b.buf, value...)
	b.ops = append(b.ops, batchOp{start: start, kEnd: kEnd, vEnd: len(b.buf)})
}

// Delete removes key. Deleting a missing key is not an error.
func (b *Batch) Delete(key []byte) {
	start := len(b.buf)
	b.buf = append(b.buf, key...)
	b.ops = append(b.ops, batchOp{del: true, start: start, kEnd: len(b.buf), vEnd: len(b.buf)})
}

// Len is the number of operations in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Size is the number of key and value bytes in the batch.
func (b *Batch) Size() int { return len(b.buf) }

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	b.buf = b.buf[:0]
	b.ops = b.ops[:0]
}

// each calls fn for every operation in order. key and value alias the
// batch's buffer. It stops at the first error.
func (b *Batch) each(fn func(del bool, key, value []byte) error) error {
	for _, op := range b.ops {
		k := b.buf[op.start:op.kEnd:op.kEnd]
		v := b.buf[op.kEnd:op.vEnd:op.vEnd]
		if err := fn(op.del, k, v); err != nil {
			return err
		}
	}
	return nil
}

// validate returns ErrInvalidKey or ErrValueTooLarge if any operation
// breaks the size limits, so engines reject a batch before writing any of it.
func (b *Batch) validate() error {
	for _, op := range b.ops {
		if !validKey(b.buf[op.start:op.kEnd]) {
			return ErrInvalidKey
		}
		if op.vEnd-op.kEnd > MaxValueSize {
			return ErrValueTooLarge
		}
	}
	return nil
}
