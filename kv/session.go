package kv

import (
	"encoding/binary"
	"fmt"

	"github.com/minikv-go/minikv/storage"
)

// Sessions give exactly-once semantics to clients that retry (Raft thesis
// §6.3). A client opens a session, whose id is the log index of the
// CmdOpenSession entry, and numbers its commands 1, 2, 3, ..., one
// outstanding at a time. The state machine keeps, per session, the last
// sequence number it applied and that command's result:
//
//   - Seq above the last: apply the command and record its result, failures
//     included, so that a retry gets the same answer;
//   - Seq equal to the last: a retry; return the recorded result with
//     Duplicate set, and apply nothing;
//   - Seq below the last: CodeStaleSequence; the client has already moved on;
//   - unknown session (never opened, closed or expired): CodeSessionExpired.
//
// Every command on a session refreshes its last-active time (the state
// machine clock). A session unused for Limits.SessionTTL is expired: it is
// treated as unknown at once, and Apply deletes it from the engine soon
// after. Because one command is outstanding at a time, the last result is
// all a session needs to keep.

// session is the engine record of one session.
type session struct {
	lastSeq    uint64
	lastActive int64
	result     Result // of the command numbered lastSeq (zero if lastSeq is 0)
}

func (s *session) encode() []byte {
	b := binary.AppendUvarint(nil, s.lastSeq)
	b = binary.AppendVarint(b, s.lastActive)
	return appendResult(b, &s.result)
}

func decodeSession(b []byte) (session, error) {
	d := &decoder{b: b}
	var s session
	s.lastSeq = d.uvarint()
	s.lastActive = d.varint()
	s.result = decodeResult(d)
	if err := d.finish(); err != nil {
		return s, fmt.Errorf("%w: session record: %v", errCorrupt, err)
	}
	return s, nil
}

func readSession(st store, clientID uint64) (s session, ok bool, err error) {
	v, ok, err := st.get(sessionKey(clientID))
	if err != nil || !ok {
		return session{}, false, err
	}
	s, err = decodeSession(v)
	if err != nil {
		return session{}, false, fmt.Errorf("session %d: %w", clientID, err)
	}
	return s, true, nil
}

// sessionExpired reports whether a session last active at lastActive is
// expired at clock now.
func sessionExpired(lastActive, now int64, ttl int64) bool { return now-lastActive >= ttl }

// liveSession returns the session if it exists and has not expired.
func (a *applier) liveSession(clientID uint64) (session, bool, error) {
	s, ok, err := readSession(a.o, clientID)
	if err != nil || !ok || sessionExpired(s.lastActive, a.now, int64(a.limits.SessionTTL)) {
		return session{}, false, err
	}
	return s, true, nil
}

// saveSession writes s as active now, moving its activity index entry.
func (a *applier) saveSession(clientID uint64, s *session) {
	if s.lastActive != a.now {
		a.o.del(activityKey(s.lastActive, clientID))
	}
	s.lastActive = a.now
	a.o.put(activityKey(s.lastActive, clientID), nil)
	a.o.put(sessionKey(clientID), s.encode())
}

func (a *applier) openSession(res Result) Result {
	res.ClientID = res.Index
	s := session{lastActive: a.now}
	a.o.put(activityKey(s.lastActive, res.ClientID), nil)
	a.o.put(sessionKey(res.ClientID), s.encode())
	return res
}

func (a *applier) closeSession(res Result, clientID uint64) (Result, error) {
	s, ok, err := a.liveSession(clientID)
	if err != nil {
		return res, err
	}
	if !ok {
		res.Code = CodeSessionExpired
		return res, nil
	}
	a.o.del(activityKey(s.lastActive, clientID))
	a.o.del(sessionKey(clientID))
	return res, nil
}

// sessionOps applies a CmdOps command sent on a session.
func (a *applier) sessionOps(res Result, cmd *Command) (Result, error) {
	id, seq := cmd.Session.ClientID, cmd.Session.Seq
	s, ok, err := a.liveSession(id)
	if err != nil {
		return res, err
	}
	if !ok {
		res.Code = CodeSessionExpired
		return res, nil
	}
	// LAB 6 BEGIN: answer a retried command from its session instead of applying it again
	// STUB: _ = s.result
	switch {
	case seq == s.lastSeq:
		dup := s.result
		dup.Duplicate = true
		a.saveSession(id, &s)
		return dup, nil
	case seq < s.lastSeq:
		res.Code = CodeStaleSequence
		a.saveSession(id, &s)
		return res, nil
	}
	// LAB 6 END
	res, err = a.execOps(res, cmd)
	if err != nil {
		return res, err
	}
	s.lastSeq, s.result = seq, res
	a.saveSession(id, &s)
	return res, nil
}

// sweepSessions deletes sessions expired at the current clock, oldest first,
// found through the activity index as of the start of the call.
func (a *applier) sweepSessions() error {
	ttl := int64(a.limits.SessionTTL)
	if a.now < ttl {
		return nil // nothing can be that old yet
	}
	keys, err := collectKeys(a.o.eng, storage.IterOptions{
		LowerBound: []byte{prefixActivity},
		UpperBound: upTo(prefixActivity, a.now-ttl), // lastActive <= now - ttl
		Limit:      sweepLimit,
	})
	if err != nil {
		return fmt.Errorf("sweep sessions: %w", err)
	}
	for _, k := range keys {
		if _, ok, err := a.o.get(k); err != nil || !ok {
			if err != nil {
				return fmt.Errorf("sweep sessions: %w", err)
			}
			continue // the session was used or closed in this call
		}
		lastActive, id, err := parseActivityKey(k)
		if err != nil {
			return fmt.Errorf("sweep sessions: %w", err)
		}
		s, ok, err := readSession(a.o, id)
		if err != nil {
			return fmt.Errorf("sweep sessions: %w", err)
		}
		if ok && s.lastActive == lastActive {
			a.o.del(sessionKey(id))
		}
		a.o.del(k)
	}
	return nil
}
