package storage

import (
	"bytes"
	"fmt"
	"sync"
)

// Memory is the in-memory engine. Its data is a persistent AVL tree: nodes
// are never modified after they are built, and a write builds new copies of
// the O(log n) nodes on the path from the root to the changed key. So a
// snapshot (or an iterator) is just the root pointer at that moment: O(1) to
// take, isolated from later writes for free, and never copied.
//
// It is deterministic: no goroutines, no clocks, no maps, no randomness. A
// mutex makes it safe for concurrent use; the simulator uses it from one
// goroutine.
//
// Why a tree and not a sorted slice: a sorted slice has O(n) inserts and
// needs a full copy to give a snapshot isolation from later writes; the
// persistent tree gives both in O(log n) with about 60 lines of code.
type Memory struct {
	mu     sync.RWMutex
	root   *node
	closed bool
}

// NewMemory returns an empty in-memory engine.
func NewMemory() *Memory { return &Memory{} }

// node is an immutable AVL tree node.
type node struct {
	key, value  []byte
	left, right *node
	height      int
}

func height(n *node) int {
	if n == nil {
		return 0
	}
	return n.height
}

func newNode(key, value []byte, l, r *node) *node {
	return &node{key: key, value: value, left: l, right: r, height: max(height(l), height(r)) + 1}
}

// balance builds the node (key, value, l, r), rotating once or twice if the
// subtree heights differ by two (they never differ by more after one insert
// or removal).
func balance(key, value []byte, l, r *node) *node {
	hl, hr := height(l), height(r)
	switch {
	case hl > hr+1:
		if height(l.left) >= height(l.right) { // single right rotation
			return newNode(l.key, l.value, l.left, newNode(key, value, l.right, r))
		}
		lr := l.right // double rotation: lr becomes the root
		return newNode(lr.key, lr.value, newNode(l.key, l.value, l.left, lr.left), newNode(key, value, lr.right, r))
	case hr > hl+1:
		if height(r.right) >= height(r.left) { // single left rotation
			return newNode(r.key, r.value, newNode(key, value, l, r.left), r.right)
		}
		rl := r.left
		return newNode(rl.key, rl.value, newNode(key, value, l, rl.left), newNode(r.key, r.value, rl.right, r.right))
	}
	return newNode(key, value, l, r)
}

// insert returns a tree with key set to value; n is unchanged.
func insert(n *node, key, value []byte) *node {
	if n == nil {
		return newNode(key, value, nil, nil)
	}
	switch c := bytes.Compare(key, n.key); {
	case c < 0:
		return balance(n.key, n.value, insert(n.left, key, value), n.right)
	case c > 0:
		return balance(n.key, n.value, n.left, insert(n.right, key, value))
	}
	return newNode(n.key, value, n.left, n.right)
}

// remove returns a tree without key (n itself if key is absent).
func remove(n *node, key []byte) *node {
	if n == nil {
		return nil
	}
	switch c := bytes.Compare(key, n.key); {
	case c < 0:
		l := remove(n.left, key)
		if l == n.left {
			return n
		}
		return balance(n.key, n.value, l, n.right)
	case c > 0:
		r := remove(n.right, key)
		if r == n.right {
			return n
		}
		return balance(n.key, n.value, n.left, r)
	}
	if n.left == nil {
		return n.right
	}
	if n.right == nil {
		return n.left
	}
	m := n.right // replace n by the smallest node of its right subtree
	for m.left != nil {
		m = m.left
	}
	return balance(m.key, m.value, n.left, removeMin(n.right))
}

func removeMin(n *node) *node {
	if n.left == nil {
		return n.right
	}
	return balance(n.key, n.value, removeMin(n.left), n.right)
}

func lookup(n *node, key []byte) (*node, bool) {
	for n != nil {
		switch c := bytes.Compare(key, n.key); {
		case c < 0:
			n = n.left
		case c > 0:
			n = n.right
		default:
			return n, true
		}
	}
	return nil, false
}

func (m *Memory) current() (*node, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	return m.root, nil
}

// Get implements Reader.
func (m *Memory) Get(key []byte) ([]byte, error) {
	root, err := m.current()
	if err != nil {
		return nil, err
	}
	return treeGet(root, key)
}

func treeGet(root *node, key []byte) ([]byte, error) {
	n, ok := lookup(root, key)
	if !ok {
		return nil, ErrNotFound
	}
	return cloneBytes(n.value), nil
}

// Apply implements Engine. sync is meaningless in memory.
func (m *Memory) Apply(b *Batch, sync bool) error {
	if err := b.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	root := m.root
	_ = b.each(func(del bool, k, v []byte) error {
		if del {
			root = remove(root, k)
			return nil
		}
		kv := make([]byte, len(k)+len(v)) // one allocation per entry
		copy(kv, k)
		copy(kv[len(k):], v)
		root = insert(root, kv[:len(k):len(k)], kv[len(k):])
		return nil
	})
	m.root = root // readers switch to the new tree all at once
	return nil
}

// Iter implements Reader. The iterator sees the engine as of this call.
func (m *Memory) Iter(opts IterOptions) (Iterator, error) {
	root, err := m.current()
	if err != nil {
		return nil, err
	}
	return newTreeIter(root, opts), nil
}

// Snapshot implements Engine in O(1).
func (m *Memory) Snapshot() (Snapshot, error) {
	root, err := m.current()
	if err != nil {
		return nil, err
	}
	return &memSnapshot{root: root}, nil
}

// Close implements Engine and drops the data.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed, m.root = true, nil
	return nil
}

type memSnapshot struct {
	root   *node
	closed bool
}

func (s *memSnapshot) Get(key []byte) ([]byte, error) {
	if s.closed {
		return nil, ErrClosed
	}
	return treeGet(s.root, key)
}

func (s *memSnapshot) Iter(opts IterOptions) (Iterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	return newTreeIter(s.root, opts), nil
}

func (s *memSnapshot) Close() error {
	if s.closed {
		return ErrClosed
	}
	s.closed, s.root = true, nil
	return nil
}

// treeIter walks the tree in order with an explicit stack holding the
// path of nodes whose key and right subtree are still to visit.
type treeIter struct {
	stack  []*node
	upper  []byte
	cur    *node
	closed bool
}

func newTreeIter(root *node, opts IterOptions) Iterator {
	it := &treeIter{stack: make([]*node, 0, height(root)), upper: cloneBytes(opts.UpperBound)}
	if opts.UpperBound == nil {
		it.upper = nil
	}
	// Seek: push every node on the search path whose key is >= LowerBound.
	for n := root; n != nil; {
		if opts.LowerBound == nil || bytes.Compare(n.key, opts.LowerBound) >= 0 {
			it.stack = append(it.stack, n)
			n = n.left
		} else {
			n = n.right
		}
	}
	return withLimit(it, opts.Limit)
}

func (it *treeIter) Next() bool {
	if it.closed || len(it.stack) == 0 {
		it.cur = nil
		return false
	}
	n := it.stack[len(it.stack)-1]
	it.stack = it.stack[:len(it.stack)-1]
	if it.upper != nil && bytes.Compare(n.key, it.upper) >= 0 {
		it.cur, it.stack = nil, it.stack[:0]
		return false
	}
	for c := n.right; c != nil; c = c.left {
		it.stack = append(it.stack, c)
	}
	it.cur = n
	return true
}

func (it *treeIter) Key() []byte {
	if it.cur == nil {
		return nil
	}
	return it.cur.key
}

func (it *treeIter) Value() []byte {
	if it.cur == nil {
		return nil
	}
	return it.cur.value
}

func (it *treeIter) Err() error { return nil }

func (it *treeIter) Close() error {
	if it.closed {
		return ErrClosed
	}
	it.closed, it.stack, it.cur = true, nil, nil
	return nil
}

// NewMemoryFrom returns a memory engine that starts with the content of s, a
// snapshot of another memory engine, in O(1): the two share the immutable
// tree. The simulator uses it to roll a modelled disk back to the state it
// had synced when a crash strikes.
func NewMemoryFrom(s Snapshot) (*Memory, error) {
	ms, ok := s.(*memSnapshot)
	if !ok {
		return nil, fmt.Errorf("storage: NewMemoryFrom needs a memory engine's snapshot, got %T", s)
	}
	if ms.closed {
		return nil, ErrClosed
	}
	return &Memory{root: ms.root}, nil
}
