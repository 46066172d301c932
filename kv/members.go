package kv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
)

// Cluster members. A configuration change that adds a server carries, in
// its Context, what the others need to know about it (its addresses); the
// state machine keeps that record, by node ID, until the server is removed.
// Because it is replicated state, it travels in snapshots: a node that
// missed the change itself still learns how to reach every member.
// The initial members are not in the log; every node knows them from its
// configuration.

// confChange records a server added (with its context) or removed.
func (a *applier) confChange(e *raft.Entry) {
	cc, err := raft.UnmarshalConfChange(e.Data)
	if err != nil {
		return // the core refuses such an entry too; every replica ignores it alike
	}
	switch cc.Type {
	case raft.ConfAddLearner:
		if len(cc.Context) > 0 {
			a.o.put(memberKey(cc.NodeID), cc.Context)
		}
	case raft.ConfRemove:
		a.o.del(memberKey(cc.NodeID))
		a.o.put(removedKey(cc.NodeID), nil)
	}
}

// WasRemoved reports whether node id was ever removed from the cluster:
// its id must not be given to a new server (it might come back with its
// old data and act on a membership it no longer has).
func (sm *StateMachine) WasRemoved(id uint64) (bool, error) {
	_, err := sm.engine.Get(removedKey(id))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("kv: removed members: %w", err)
}

// Members returns the context of every member added by a configuration
// change and not removed since, by node ID.
func (sm *StateMachine) Members() (map[uint64][]byte, error) {
	it, err := sm.engine.Iter(prefixRange(prefixMember))
	if err != nil {
		return nil, fmt.Errorf("kv: members: %w", err)
	}
	defer it.Close()
	out := map[uint64][]byte{}
	for it.Next() {
		k := it.Key()
		if len(k) != 9 {
			return nil, fmt.Errorf("kv: members: bad key %x", k)
		}
		out[binary.BigEndian.Uint64(k[1:])] = append([]byte(nil), it.Value()...)
	}
	return out, it.Err()
}
